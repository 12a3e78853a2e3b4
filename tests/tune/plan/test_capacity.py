"""Per-trial resources against the nodes before any trial starts: fitted on this machine, refused on a cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sct import sweep
from sct.errors import UserError
from sct.tune.plan import capacity
from sct.tune.plan.capacity import describe_check, fit
from tests.conftest import FIXTURES

LAPTOP = [{"CPU": 2.0, "GPU": 0.0, "memory": 8e9}]
GPU_BOX = [{"CPU": 16.0, "GPU": 1.0}]
CLUSTER = [{"CPU": 2.0}, {"CPU": 8.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 1.0, "worker_node": 1.0}]
ON_WORKER = {"cpu": 8.0, "gpu": 1.0, "worker_node": 1.0}


@pytest.mark.parametrize(
    ("request_", "nodes", "local", "fitted", "said"),
    [
        ({"cpu": 1.0, "gpu": 0.0}, LAPTOP, True, {"cpu": 1.0, "gpu": 0.0}, []),
        (  # bert-small on a 2-CPU machine: Ray would wait for 4 CPUs forever
            {"cpu": 4.0, "gpu": 0.5},
            LAPTOP,
            True,
            {"cpu": 2.0, "gpu": 0.0},
            ["no GPU in the Ray cluster", "asks CPU 4 but this machine has 2: running each trial with 2 (set --cpus"],
        ),
        ({"cpu": 4.0, "gpu": 2.0}, GPU_BOX, True, {"cpu": 4.0, "gpu": 1.0}, ["asks GPU 2 but this machine has 1"]),
        (
            {"cpu": 8.0, "gpu": 1.0, "worker_node": 1.0},
            CLUSTER,
            False,
            {"cpu": 8.0, "gpu": 1.0, "worker_node": 1.0},
            [],
        ),
        ({"cpu": 4.0, "gpu": 0.5}, [{"CPU": 8.0}], False, {"cpu": 4.0, "gpu": 0.0}, ["running trials on CPU only"]),
    ],
)
def test_fit(request_: dict, nodes: list, local: bool, fitted: dict, said: list[str]) -> None:
    out, notes = fit(request_, nodes, local)
    assert out == fitted
    assert len(notes) == len(said) and all(part in note for part, note in zip(said, notes, strict=True))


@pytest.mark.parametrize(
    ("request_", "nodes", "local", "message"),
    [
        (
            {"cpu": 16.0, "gpu": 1.0},
            CLUSTER,
            False,
            "no node of the Ray cluster (3 nodes, the largest: CPU 8, GPU 1) can run a trial asking CPU 16, GPU 1: "
            "lower --cpus-per-trial/--gpus-per-trial, or add nodes",
        ),
        ({"cpu": 1.0, "worker_node": 1.0}, LAPTOP, True, "this machine's local Ray .* check --resources-per-trial"),
        ({"cpu": 1.0, "gpu": 0.0, "worker_node": 1.0}, CLUSTER[:2], False, "asking CPU 1, worker_node 1"),
    ],
)
def test_refused(request_: dict, nodes: list, local: bool, message: str) -> None:
    with pytest.raises(UserError, match=message if ".*" in message else re.escape(message)):
        fit(request_, nodes, local)


def test_dry_run_shows_the_check_and_the_time_estimate(tmp_path: Path, tiny_model_dir, capsys, monkeypatch) -> None:
    monkeypatch.setattr(capacity, "this_machine", lambda: {"CPU": 2.0, "GPU": 0.0})
    argv = ["bert-small", "--storage", str(tmp_path), "--train-data", str(FIXTURES / "sentences.txt")]
    argv += ["--set", f"model.name={tiny_model_dir}"]
    argv += ["--sts-dir", str(FIXTURES / "sts"), "--set", "eval.test_tasks=[stsb]", "--dry-run"]
    assert sweep.main(argv) == 0
    out = capsys.readouterr().out
    assert "resources per trial: cpu 4, gpu 0.5 " in out
    assert "  warning: a trial asks CPU 4 but this machine has 2: running each trial with 2" in out
    assert "time estimate: 24 trials x ~25 min on half an A100 = 10:00 h of trial time, ~5:00 h with 2 at once" in out
    assert sweep.main([*argv, "--cpus-per-trial", "1", "--address", "127.0.0.1:1"]) == 2  # unreachable: refused
    capsys.readouterr()
    monkeypatch.setattr("sct.tune.experiment.check_address", lambda address: None)
    assert sweep.main([*argv, "--address", "head:6379"]) == 0
    out = capsys.readouterr().out
    assert "checked against the nodes of the cluster at head:6379 when the sweep starts (exit 2 if none fits)" in out
    assert sweep.main([*argv, "--smoke"]) == 0  # 1 CPU per trial, the file's GPU share
    out = capsys.readouterr().out
    assert "  warning: no GPU in the Ray cluster: running trials on CPU only (1 CPUs each)" in out
    assert "time estimate: none" in out  # the file's estimate is for full trials
    assert sweep.main([*argv, "--smoke", "--gpus-per-trial", "0"]) == 0
    assert "  fits this machine (1 node: CPU 2, GPU 0)" in capsys.readouterr().out


def test_describe_check_names_the_refusal_before_ray_starts(monkeypatch) -> None:
    monkeypatch.setattr(capacity, "this_machine", lambda: {"CPU": 2.0, "GPU": 0.0})
    assert describe_check({"cpu": 1.0, "zone_a": 1.0}, None)[0].startswith("  will refuse to start: no node of this")
