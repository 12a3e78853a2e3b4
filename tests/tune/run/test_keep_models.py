"""--keep-models: which trial models an ended experiment keeps (best per ablation row / of the sweep)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from sct.metrics import PRIMARY
from sct.tune.plan.options import spec_options
from sct.tune.run.keep_models import kept_trials, prune_models
from sct.tune.run.trial_ends import Outcome, TrialEnd


def trial(trial_id: str, score: float | None, row: str | None = None, status: str = "finished") -> TrialEnd:
    metrics = {} if score is None else {PRIMARY: score}
    return TrialEnd(trial_id, status, metrics, {} if row is None else {"row": row, "seed": 42})


def trials_root(tmp_path: Path, ids: list[str]) -> Path:
    for trial_id in ids:
        (tmp_path / trial_id / "model").mkdir(parents=True)
        (tmp_path / trial_id / "model" / "weights.bin").write_bytes(b"w" * 100)
        (tmp_path / trial_id / "metrics.json").write_text("{}")
    return tmp_path


ABLATION = [
    trial("a1", 70.0, "sct"), trial("a2", 72.0, "sct"),
    trial("b1", 65.0, "no_queue"), trial("b2", 64.0, "no_queue"),
    trial("c1", None, "poisoned", "diverged"), trial("c2", 80.0, "poisoned", "stopped"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("trials", "kept"),
    [
        (ABLATION, {"a2", "b1"}),  # one per row; a row with no finished trial keeps none
        ([trial("t1", 50.0), trial("t2", 55.0), trial("t3", 90.0, status="stopped")], {"t2"}),  # a sweep: one
        ([trial("t1", None, status="diverged")], set()),
    ],
)
def test_best_keeps_the_best_finished_trial_of_each_group(trials: list[TrialEnd], kept: set[str]) -> None:
    assert kept_trials(Outcome(trials)) == kept


def test_best_deletes_every_other_model_and_nothing_else(tmp_path: Path) -> None:
    root = trials_root(tmp_path, ["a1", "a2", "b1", "b2", "c1", "c2", "rerun-s44"])
    deleted, freed = prune_models(root, Outcome(ABLATION), "best")
    assert (deleted, freed) == (5, 500)
    assert sorted(p.parent.name for p in root.glob("*/model")) == ["a2", "b1"]
    assert len(list(root.glob("*/metrics.json"))) == 7  # the trials' records stay


@pytest.mark.parametrize(
    ("keep", "outcome"),
    [
        ("all", Outcome(ABLATION)),
        ("best", Outcome(ABLATION, interrupted=True)),  # a --resume may still need them
        ("best", Outcome([*ABLATION, trial("d1", None, "sct", "crashed")])),
    ],
)
def test_nothing_is_deleted_unless_best_and_the_experiment_ended_cleanly(tmp_path, keep, outcome) -> None:
    root = trials_root(tmp_path, ["a1", "a2", "b1"])
    assert prune_models(root, outcome, keep) == (0, 0)
    assert len(list(root.glob("*/model"))) == 3


@pytest.mark.parametrize(
    ("last", "dropped"),
    [
        ({"step": 4.0, PRIMARY: 50.0}, True),
        ({PRIMARY: 60.0, "done_training": 1.0}, False),
        ({"sct_failure": "diverged"}, False),
    ],
    ids=["stopped-by-asha", "finished", "diverged"],
)
def test_a_trial_stopped_early_drops_its_state_and_keeps_its_model(tmp_path, last, dropped) -> None:
    """What the end-of-trial callback does when Ray completes a trial: a stopped one never trains again."""
    pytest.importorskip("ray")
    from types import SimpleNamespace

    from sct.checkpoint import state_dirs
    from sct.tune.experiment import Experiment
    from sct.tune.plan.spec import TrialPayload
    from sct.tune.run.trial_ends import end_log

    exp = Experiment("e", tmp_path, "sqlite:///unused", {})
    payload = TrialPayload(base={}, kind="sweep", trials_root=str(exp.trials_root))
    run = trials_root(exp.trials_root, ["t01"]) / "t01"
    (run / "state" / "step-000000004").mkdir(parents=True)
    (run / "state" / "step-000000004" / "state.pt").write_bytes(b"s" * 100)
    trial = SimpleNamespace(trial_id="ray1", config={"sct": payload.to_config(), "trial": 1}, last_result=last)

    end_log(exp).on_trial_complete(0, [], trial)
    assert bool(state_dirs(run)) is not dropped and (run / "model" / "weights.bin").is_file()
    assert (run / "stopped.json").is_file() is dropped  # what the trial reports if Ray hands it out again


@pytest.mark.parametrize("tool", ["sweep", "ablate"])
@pytest.mark.parametrize(
    ("flags", "keep"),
    [
        ([], "all"),
        (["--smoke"], "best"),
        (["--smoke", "--keep-models", "all"], "all"),
        (["--keep-models", "best"], "best"),
    ],
)
def test_a_smoke_run_keeps_the_best_model_unless_told_otherwise(tool, flags, keep) -> None:
    """--smoke checks a set-up: its models are not worth the disk; an explicit --keep-models wins."""
    module = importlib.import_module(f"sct.{tool}")
    first = ["bert-tiny"] if tool == "sweep" else ["table4", "--model", "bert-tiny"]
    args = module.build_parser().parse_args([*first, *flags])
    assert spec_options(args)["keep_models"] == keep
    assert "best, the default with --smoke" in " ".join(module.build_parser().format_help().split())


def test_the_dry_run_says_which_models_a_smoke_sweep_keeps(tiny_model_dir, tmp_path, capsys) -> None:
    from sct import sweep
    from tests.conftest import FIXTURES

    argv = ["bert-tiny", "--smoke", "--dry-run", "--storage", str(tmp_path), "--set", f"model.name={tiny_model_dir}"]
    argv += ["--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts")]
    assert sweep.main(argv) == 0
    assert "trial models kept at the end: the best trial's of the sweep / of each row (--keep-models best; " in (
        capsys.readouterr().out
    )
    assert sweep.main([*argv, "--keep-models", "all"]) == 0
    assert "trial models kept at the end: every finished trial's (--keep-models all;" in capsys.readouterr().out
