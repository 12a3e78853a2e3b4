"""A sweep driver SIGKILLed mid-run, resumed and SIGTERMed, a second driver on a held experiment, a diverged trial.

The driver runs as a subprocess (its own local Ray), as a user runs it; the stand-in trainer
(:mod:`tests.tune.fake_trainer`) keeps each trial a few seconds long. After ``--resume``: one child run per
trial, none left RUNNING, no metric step logged twice, and the best model comes from a finished trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sct.storage import read_json
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.experiment import FINGERPRINT_FILE
from sct.tune.run.ray_hygiene import SESSION_KEY, leftovers
from tests.conftest import FIXTURES, REPO
from tests.process_guard import Guarded
from tests.tune.checks import assert_each_step_once
from tests.tune.fake_trainer import DIVERGE_TAU, SLOW_EVAL_BATCH
from tests.tune.local_ray import local_ray_session

pytest.importorskip("ray")
FAKE = "tests.tune.fake_trainer:train"


def common(tiny_model_dir: Path, storage: Path) -> list[str]:
    return [
        "--storage", str(storage), "--train-data", str(FIXTURES / "sentences.txt"),
        "--sts-dir", str(FIXTURES / "sts"), "--set", f"model.name={tiny_model_dir}",
        "--set", "data.augmentation=word_deletion", "--set", "eval.test_tasks=[stsb]", "--set", "optim.batch_size=8",
        "--trainer", FAKE,
    ]  # fmt: skip


def driver(args: list[str], log: Path) -> Guarded:
    """``python -m ARGS``, guarded on the test's tmp_path (its storage and log): its local Ray included."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as out:
        return Guarded([sys.executable, "-m", *args], log.parent, env=env, stdout=out, stderr=subprocess.STDOUT)


def lasting_leftover(session_dir: str) -> subprocess.Popen:
    """A process like one that session left (a Ray worker's title, a log of the session open) that, unlike the
    real ones, does not leave by itself: the agents do 8-63 s after their raylet died, at times before a resumed
    driver starts Ray, so only this one shows for sure that the resumed driver stops the session's leftovers.
    (Not titled like an agent: the old rule, still run by other checkouts on a shared machine, would stop it.)"""
    code = "import sys, time; f = open(sys.argv[1], 'a'); print('open', flush=True); time.sleep(600)"
    log = str(Path(session_dir) / "logs" / "worker-0-ffffffff-0.out")
    proc = subprocess.Popen(["ray::IDLE", "-c", code, log], executable=sys.executable, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"open\n"
    return proc


def wait_until(condition, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, "the driver ended early"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def sweep_runs(storage: Path, experiment: str) -> tuple[object, list]:
    mlflow = tracking.client(tracking.default_tracking_uri(storage))
    exp = mlflow.get_experiment_by_name(experiment)
    runs = mlflow.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("sct.role") == "parent"]
    assert len(parents) == 1
    return parents[0], [r for r in runs if r.data.tags.get(tracking.PARENT_TAG) == parents[0].info.run_id]


@pytest.mark.chaos  # a driver SIGKILLed, then SIGTERMed, then resumed: minutes; run by .ci/run
def test_sigkilled_then_sigtermed_driver_resumes_exactly_once_and_a_second_driver_is_refused(
    tiny_model_dir, tmp_path
) -> None:
    args = ["tests.tune.fake_sweep", "sweep", "bert-tiny", "--smoke", "--num-samples", "4", "--max-concurrent", "2"]
    args += ["--experiment", "killme", *common(tiny_model_dir, tmp_path), "--set", f"eval.batch_size={SLOW_EVAL_BATCH}"]
    log = tmp_path / "driver.log"
    first = driver(args, log)
    trials = tmp_path / "killme" / "trials"
    try:
        wait_until(lambda: len(list(trials.glob("*/metrics.json"))) >= 1, first)  # one trial finished ...
        wait_until(lambda: len(list(trials.glob("*/state/step-*"))) >= 1, first)  # ... one holds a state
        second = subprocess.run(
            [sys.executable, "-m", *args], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True
        )
        assert second.returncode == 2
        assert f"experiment 'killme' {tmp_path / 'killme'} is in use by PID {first.pid}" in second.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        record = read_json(tmp_path / "killme" / FINGERPRINT_FILE)["state"][SESSION_KEY]
        assert record["driver"][0] == first.pid
        stand_in = lasting_leftover(record["session_dir"])
        cache = tmp_path / "cache"

        def attempts() -> int:  # trial attempts started so far (the fake trainer logs each one's first step)
            return sum(len(p.read_text().split()) for p in cache.glob("starts-*"))

        reaped = f" leftover process(es) of the Ray session {record['session_dir']} "
        stopped = driver([*args, "--resume"], log)  # then what Slurm, Kubernetes or systemd send: SIGTERM
        try:
            # once the resumed driver has stopped the killed one's Ray, a new attempt can only be its own: it
            # has started its Ray and installed its handlers (a worker of the killed driver, still logging
            # attempts, made this test SIGTERM a driver still importing: exit -15)
            wait_until(lambda: reaped in log.read_text(), stopped)
            before = attempts()
            wait_until(lambda: attempts() > before, stopped)
            stopped.send_signal(signal.SIGTERM)
            assert stopped.wait(timeout=120) == 130, log.read_text()[-3000:]
        finally:
            stopped.stop()
        text = log.read_text()
        assert "continue with --resume" in text and "SIGTERM received" not in text  # our stop, not Ray's abort
        resumed = driver([*args, "--resume"], log)
        try:
            assert resumed.wait(timeout=600) == 0, log.read_text()[-3000:]
        finally:
            resumed.stop()
            stand_in.kill()
            stand_in.wait()
    finally:
        first.stop()
    # the resumed driver stopped what the killed one left of its local Ray, and said so
    assert stand_in.returncode == -signal.SIGTERM
    assert f" leftover process(es) of the Ray session {record['session_dir']} " in log.read_text()
    assert leftovers(record) == []

    parent, children = sweep_runs(tmp_path, "killme")
    assert parent.info.status == "FINISHED"
    assert len(children) == 4 and len({r.data.tags[tracking.TRIAL_TAG] for r in children}) == 4
    assert {r.info.status for r in children} == {"FINISHED"}  # stopped early by ASHA too: not KILLED
    assert {V.run_end(r) for r in children} <= {V.FINISHED, V.STOPPED}
    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    for run in children:
        assert_each_step_once(mlflow, run.info.run_id)
    finished = [r for r in children if V.run_end(r) == V.FINISHED]
    best = max(finished, key=lambda r: r.data.metrics["best_stsb_dev"])
    weights = (tmp_path / "killme" / "best_model" / "weights.txt").read_text()
    assert float(weights) == pytest.approx(best.data.metrics["best_stsb_dev"])  # the best of the finished trials
    assert not list(tmp_path.glob("killme/trials/*/state/*.tmp-*"))


@pytest.fixture
def local_ray():
    with local_ray_session():
        yield


def test_a_diverged_trial_is_a_result_not_retried_and_not_a_crash(tiny_model_dir, tmp_path, capsys, local_ray) -> None:
    from tests.tune import fake_sweep

    grid = tmp_path / "mini.yaml"
    rows = [
        {"name": "sct", "overrides": {}, "note": "baseline"},
        {"name": "hot", "overrides": {"method.tau_ref": DIVERGE_TAU}, "note": "diverges in the fake trainer"},
    ]
    grid.write_text(yaml.safe_dump({"name": "mini", "baseline": "sct", "rows": rows}), encoding="utf-8")
    argv = [str(grid), "--model", "bert-tiny", "--seeds", "1", "--smoke", "--experiment", "hot"]
    assert fake_sweep.ablate([*argv, *common(tiny_model_dir, tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 trials: 1 finished, 1 diverged" in out and "DIVERGED: loss is nan at step 2" in out
    attempts = list((tmp_path / "cache").glob("diverged-*"))
    assert len(attempts) == 1 and attempts[0].read_text() == "attempt\n"  # not retried
    _, children = sweep_runs(tmp_path, "hot")
    hot = [r for r in children if r.data.tags["sct.variant"] == "hot"]
    assert len(hot) == 1 and hot[0].info.status == "FAILED" and hot[0].data.tags["sct.failure"] == "diverged"
