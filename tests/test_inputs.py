"""``resolve_inputs``: absolute paths, sizes as hub ids, every bad input named by its key."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from sct.config import SCTConfig
from sct.config_io import apply_overrides, config_to_dict
from sct.errors import InputProblems, UserError
from sct.inputs import ensure_resolved, mark_resolved, model_size, resolve_inputs, unavailable
from tests.conftest import FIXTURES


def test_paths_become_absolute_and_sizes_hub_ids(tiny_model_dir, stsb_dir, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    cfg = apply_overrides(
        SCTConfig(),
        {"model.name": str(tiny_model_dir), "data.train": "sentences.txt", "eval.sts_dir": str(stsb_dir),
         "eval.test_tasks": ["stsb"], "data.cache_dir": "cache"},
    )  # fmt: skip
    out = resolve_inputs(cfg)
    assert out.data.train == str(FIXTURES / "sentences.txt") and out.data.cache_dir == str(FIXTURES / "cache")
    assert out.model.name == str(tiny_model_dir)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model.name": "./no/model"}, r"config key 'model.name': model directory ./no/model does not exist"),
        ({"data.train": "./missing.txt"}, r"config key 'data.train': training data file not found: ./missing.txt"),
        ({"eval.sts_dir": "/no/sts"}, r"config key 'eval.sts_dir': directory '/no/sts' does not exist"),
        ({"distill.teacher": "./no/teacher"}, r"config key 'distill.teacher': model directory ./no/teacher"),
    ],
)
def test_bad_inputs_name_their_key(overrides, message, tiny_model_dir, stsb_dir) -> None:
    base = {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
            "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]}  # fmt: skip
    with pytest.raises(UserError, match=message):
        resolve_inputs(apply_overrides(SCTConfig(), base | overrides))


def test_hub_ids_offline_name_the_offline_flags(monkeypatch, tiny_model_dir, stsb_dir) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = apply_overrides(SCTConfig(), {"eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]})
    with pytest.raises(UserError, match=r"'model.name' = 'google/bert_uncased_L-2_H-128_A-2' is not a size .*"
                       r"--set model.name=DIR --train-data FILE --sts-dir DIR"):  # fmt: skip
        resolve_inputs(cfg)


def test_model_size_comes_from_the_shape(tmp_path, tiny_model_dir) -> None:
    assert model_size("bert-small") == "bert-small" and model_size("google/bert_uncased_L-4_H-256_A-4") == "bert-mini"
    mini = tmp_path / "mini"
    mini.mkdir()
    (mini / "config.json").write_text(json.dumps({"num_hidden_layers": 4, "hidden_size": 256}))
    assert model_size(str(mini)) == "bert-mini" and model_size(str(tiny_model_dir)) is None


def test_a_resolved_config_is_not_resolved_again_until_an_input_changes(tiny_model_dir, stsb_dir, monkeypatch):
    cfg = apply_overrides(
        SCTConfig(),
        {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
         "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]},
    )  # fmt: skip
    resolved = resolve_inputs(cfg)
    calls: list[str] = []
    monkeypatch.setattr("sct.inputs.check_lengths", lambda c: calls.append(c.model.name))  # the last check
    assert ensure_resolved(resolved) is resolved and calls == []
    assert ensure_resolved(apply_overrides(resolved, {"optim.lr": 1e-4})) is not None and len(calls) == 1  # unmarked
    same_inputs = mark_resolved(apply_overrides(resolved, {"optim.lr": 1e-4}))
    assert ensure_resolved(same_inputs) is same_inputs and len(calls) == 1
    object.__setattr__(same_inputs, "data", dataclasses.replace(same_inputs.data, max_examples=5))
    ensure_resolved(same_inputs)  # its input sections changed after the mark: resolved again
    assert len(calls) == 2


def test_a_trial_with_the_bases_inputs_is_not_resolved_again(tiny_model_dir, stsb_dir, tmp_path, monkeypatch):
    """The sweep driver resolved the base: the trainer takes a trial that changes no input as it is."""
    from sct.trainer import train
    from sct.tune.plan.spec import TrialPayload
    from sct.tune.run.trial import trial_config
    from sct.tune.vocabulary import TRIAL_NUMBER

    base = resolve_inputs(
        apply_overrides(
            SCTConfig(),
            {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
             "data.cache_dir": str(tmp_path / "cache"), "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"],
             "method.queue_size": 16, "optim.batch_size": 8, "optim.max_steps": 2, "eval.every_steps": 2,
             "run.device": "cpu"},
        )
    )  # fmt: skip
    payload = TrialPayload(base=config_to_dict(base), kind="sweep", trials_root=str(tmp_path / "trials"))

    def fail(cfg: SCTConfig) -> None:
        raise AssertionError("inputs resolved again")

    monkeypatch.setattr("sct.inputs.check_lengths", fail)  # the last step of resolve_inputs
    trial = trial_config({"sct": payload.to_config(), TRIAL_NUMBER: 0, "optim.lr": 1e-4})
    assert train(trial, show_progress=False)["steps"] == 2
    with pytest.raises(AssertionError, match="resolved again"):  # a trial that changes an input: resolved
        train(trial_config({"sct": payload.to_config(), TRIAL_NUMBER: 1, "data.max_examples": 9}))


def test_each_hub_id_is_judged_by_its_librarys_offline_flag(monkeypatch) -> None:
    """HF_DATASETS_OFFLINE blocks dataset ids only; the Hub is probed once for all the uncached ids."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    probes: list[int] = []
    monkeypatch.setattr("sct.inputs.in_cache", lambda name, kind: False)
    monkeypatch.setattr("sct.inputs.reachable", lambda: probes.append(1) is None)
    ids = {"model.name": ("org/model", "model"), "data.train": ("org/data", "dataset")}
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert unavailable(ids) == ["data.train"]
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    assert unavailable(ids) == [] and len(probes) == 1
    monkeypatch.setattr("sct.inputs.reachable", lambda: False)
    assert unavailable(ids) == ["model.name", "data.train"]


def test_every_bad_input_is_raised_together_with_its_fix(tmp_path, stsb_dir) -> None:
    cfg = apply_overrides(
        SCTConfig(), {"model.name": str(tmp_path / "no_model"), "data.train": str(tmp_path / "no.txt"),
                      "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb", "sts12"]},
    )  # fmt: skip
    with pytest.raises(InputProblems) as info:
        resolve_inputs(cfg)
    err = info.value
    assert [p.split(":")[0] for p in err.problems] == [
        "config key 'model.name'", "config key 'data.train'", f"config key 'eval.sts_dir' ({stsb_dir})"
    ]  # fmt: skip
    assert "cannot load sts12 test" in err.problems[2] and str(err).count("\n") == 3
    assert err.fixes == ["--set model.name=MODEL_DIR", "--train-data FILE", "--set eval.test_tasks=[stsb]"]


def test_sweep_dry_run_lists_every_problem_and_a_command_that_passes(
    tmp_path, tiny_model_dir, stsb_dir, capsys, monkeypatch
) -> None:
    """Offline, a sweep with its defaults lacks a model, training data and STS data: all three are named at once,
    with one command; that command, its placeholders filled in, passes the check (the dry run prints the plan)."""
    from sct import sweep

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    argv = ["bert-small", "--dry-run", "--storage", str(tmp_path / "runs")]
    assert sweep.main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "python -m sct.sweep: error: 3 input problems:" and len(lines) == 5
    assert [line.split("'")[1] for line in lines[1:4]] == ["model.name", "eval.sts_dir", "data.train"]
    prefix = "suggested command (fill in the UPPER-CASE placeholders): python -m sct.sweep "
    assert lines[4].startswith(prefix)
    words = shlex.split(lines[4].removeprefix(prefix))
    assert words == [*argv, "--set", "model.name=MODEL_DIR", "--sts-dir", "STS_DIR", "--train-data", "FILE",
                     "--set", "eval.test_tasks=[stsb]"]  # fmt: skip
    local = {
        "MODEL_DIR": str(tiny_model_dir),
        "STS_DIR": str(FIXTURES / "sts"),
        "FILE": str(FIXTURES / "sentences.txt"),
    }
    filled = [
        word.replace("=MODEL_DIR", f"={tiny_model_dir}") if "=" in word else local.get(word, word) for word in words
    ]
    assert sweep.main(filled) == 0
    assert f"eval.sts_dir: {FIXTURES / 'sts'}" in capsys.readouterr().out


def test_one_bad_input_is_still_one_line(tmp_path, tiny_model_dir, capsys, monkeypatch) -> None:
    from sct import sweep

    argv = ["bert-small", "--dry-run", "--storage", str(tmp_path / "runs"), "--set", f"model.name={tiny_model_dir}"]
    argv += ["--train-data", str(tmp_path / "missing.txt"), "--sts-dir", str(FIXTURES / "sts")]
    assert sweep.main([*argv, "--set", "eval.test_tasks=[stsb]"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config key 'data.train': training data file not found" in err
