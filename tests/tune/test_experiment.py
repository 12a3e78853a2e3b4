"""An experiment's first seconds: its directory, fingerprint and MLflow parent run, killed at each step, resumed.

What a SIGKILL leaves is made directly on disk (the lock file of an experiment that wrote nothing else; a
fingerprint without the parent run's id), then ``--resume`` opens the experiment as the driver does.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from sct.errors import UserError
from sct.tune import tracking
from sct.tune.experiment import FINGERPRINT_FILE, Experiment

pytest.importorskip("mlflow")


def opened(storage: Path, resume: bool) -> Experiment:
    exp = Experiment("e", storage, tracking.default_tracking_uri(storage), {"kind": "sweep", "num_samples": 2})
    exp.open(resume)
    return exp


def parents(storage: Path) -> list:
    uri = tracking.default_tracking_uri(storage)
    found = tracking.client(uri).search_runs(
        [tracking.ensure_experiment(uri, "e")], filter_string="tags.`sct.role` = 'parent'"
    )
    return list(found)


def test_resume_continues_an_experiment_killed_at_each_step_of_its_start(tmp_path) -> None:
    from sct.tune.run.lifecycle import open_parent

    with pytest.raises(UserError, match="--resume: no experiment 'e' under"):
        opened(tmp_path, resume=True)  # nothing was ever started here: a typo, not a resume
    assert not (tmp_path / "e").exists()  # and nothing was created by asking
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / ".lock").write_text("")  # killed right after locking its directory
    exp = opened(tmp_path, resume=True)
    assert (tmp_path / "e" / FINGERPRINT_FILE).is_file()  # written at once, with the id of this experiment
    open_parent(SimpleNamespace(experiment=exp, tags={}, search=None))  # a grid-like spec
    first = exp.state["parent_run_id"]
    exp.close()

    file = tmp_path / "e" / FINGERPRINT_FILE  # killed after creating the parent run, before saving its id
    saved = json.loads(file.read_text())
    del saved["state"]["parent_run_id"]
    file.write_text(json.dumps(saved))
    exp = opened(tmp_path, resume=True)
    open_parent(SimpleNamespace(experiment=exp, tags={}, search=None))  # a grid-like spec
    exp.close()
    assert exp.state["parent_run_id"] == first and len(parents(tmp_path)) == 1
    assert not (tmp_path / ".mlflow-init").exists()  # the MLflow store's lock leaves no directory of its own


@pytest.mark.parametrize("tool", ["sweep", "ablate"])
def test_an_experiment_refused_after_locking_leaves_no_directory(
    tool, tiny_model_dir, tmp_path, capsys, monkeypatch
) -> None:
    """Bad input found after the experiment was locked (here an MLflow store that cannot be created) exits 2
    before Ray starts and leaves neither the experiment's directory nor the MLflow lock's: the fixed command
    starts it as new."""
    from sct import ablate, sweep
    from sct.tune.run import lifecycle
    from tests.conftest import FIXTURES

    monkeypatch.setattr(lifecycle, "init_ray", lambda *args: pytest.fail("Ray started before the store was checked"))

    (tmp_path / "afile").write_text("")
    argv = (
        ["bert-tiny", "--smoke"] if tool == "sweep" else ["table4", "--model", "bert-tiny", "--smoke", "--rows", "sct"]
    )
    argv += [
        "--storage", str(tmp_path), "--tracking-uri", f"sqlite:///{tmp_path}/afile/mlflow.db",
        "--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts"),
        "--set", f"model.name={tiny_model_dir}", "--set", "data.augmentation=word_deletion",
        "--set", "eval.test_tasks=[stsb]",
    ]  # fmt: skip
    assert (sweep if tool == "sweep" else ablate).main(argv) == 2
    assert "--tracking-uri" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # refused before any data was tokenised
