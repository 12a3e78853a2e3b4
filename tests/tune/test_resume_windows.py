"""A sweep resumed from the moments a kill can hit: Ray's files cut or missing, trials the study asked that Ray
lost, ASHA decisions taken before the interruption (marker ``chaos``: minutes; ``.ci/run`` runs it).

The driver runs in-process on one local Ray; what a SIGKILL at a given moment leaves on disk is made by
interrupting the sweep (SIGUSR1, Tune's own stop) and then cutting or removing Ray's files as the kill would
have: ``tuner.pkl`` is created empty and then written; Ray's experiment state comes seconds later.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.run.tuner import restorable
from tests.tune import fake_sweep
from tests.tune.checks import asked, assert_each_step_once
from tests.tune.fake_trainer import SLOW_EVAL_BATCH
from tests.tune.local_ray import local_ray_session
from tests.tune.test_ray_runs import common, runs

ray = pytest.importorskip("ray")
optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.chaos
FAKE = "tests.tune.fake_trainer:train"
RAY_STATE = ("experiment_state-*.json", "search_gen_state-*.json", "searcher-state-*.pkl")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    with local_ray_session():
        yield


def interrupted_when(condition: Callable[[], bool], argv: list[str]) -> int:
    """Run the sweep in-process; SIGUSR1 (what Ctrl-C does to Tune) once ``condition`` holds."""

    def watch() -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not condition():
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGUSR1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    code = fake_sweep.sweep(argv)
    watcher.join()
    return code


def attempts(cache: Path) -> int:
    """Trial attempts started so far (the slow fake trainer logs each one's first step)."""
    return sum(len(p.read_text().split()) for p in cache.glob("starts-*"))


def forget_ray_state(exp: Path) -> None:
    for pattern in RAY_STATE:
        for file in exp.glob(pattern):
            file.unlink()


def outcome_of(storage: Path, name: str) -> list[tuple[str, str]]:
    """(learning rate, how it ended: finished or stopped by ASHA) of each child run."""
    _, children = runs(storage, name)
    return sorted((r.data.params["optim.lr"], V.run_end(r)) for r in children)


def check_exactly_once(storage: Path, name: str, num_samples: int) -> tuple[list, list]:
    """One parent FINISHED, one child per study trial and none RUNNING, every evaluation logged once; returns
    (children, study trials)."""
    parent, children = runs(storage, name)
    assert parent.info.status == "FINISHED"
    keys = sorted(r.data.tags[V.TRIAL] for r in children)
    assert keys == [f"t{n:02d}" for n in range(num_samples)]
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{storage / name / 'optuna.db'}")
    assert [t.number for t in study.trials] == list(range(num_samples))
    states = {V.FINISHED: optuna.trial.TrialState.COMPLETE, V.STOPPED: optuna.trial.TrialState.PRUNED}
    mlflow = tracking.client(tracking.default_tracking_uri(storage))
    for run in children:
        number = int(run.data.tags[V.TRIAL][1:])
        assert run.info.status == "FINISHED", run.info.run_name  # an early stop is not KILLED
        assert states[V.run_end(run)] == study.trials[number].state, run.info.run_name
        assert study.trials[number].user_attrs[V.TRIAL_END] == V.run_end(run), run.info.run_name
        assert_each_step_once(mlflow, run.info.run_id)
        steps = [m.step for m in mlflow.get_metric_history(run.info.run_id, "stsb_dev")]
        assert steps == list(range(2, steps[-1] + 1, 2)), (run.info.run_name, steps)  # no evaluation missing
    return children, study.trials


def test_a_sweep_resumes_after_kills_in_its_first_seconds(tiny_model_dir, tmp_path, capsys) -> None:
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "early", "--num-samples", "3"]
    argv += ["--keep-models", "all"]  # every trial's model is checked below
    argv += common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")
    exp, cache = tmp_path / "early", tmp_path / "cache"
    assert interrupted_when(lambda: bool(list(cache.glob("marker-*"))), argv) == 130
    assert restorable(exp, grid=False)  # Tune's own stop saved everything: Ray restores it

    # killed while Ray wrote tuner.pkl: an empty file, no experiment state; two trials were asked and trained
    (exp / "tuner.pkl").write_bytes(b"")
    forget_ray_state(exp)
    assert not restorable(exp, grid=False)
    before = attempts(cache)
    assert interrupted_when(lambda: attempts(cache) > before + 1, [*argv, "--resume"]) == 130

    # killed after tuner.pkl, before Ray's first experiment state: Ray knows no trial the study asked
    assert restorable(exp, grid=False)  # the new Ray session saved its own files
    searcher_state = max(exp.glob("searcher-state-*.pkl"))
    searcher_state.write_bytes(searcher_state.read_bytes()[:5])  # one of them cut
    assert not restorable(exp, grid=False)
    forget_ray_state(exp)
    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    children, trials = check_exactly_once(tmp_path, "early", 3)
    assert len(children) == 3 and all(t.state != optuna.trial.TrialState.RUNNING for t in trials)
    resumed = [int(p.read_text().split()[-1]) for p in cache.glob("starts-*")]
    assert max(resumed) > 0  # a trial asked before the kills continued from its state, not from scratch
    for run in children:
        if V.run_end(run) == V.STOPPED:  # stopped by ASHA: its model stays, its resumable state is gone
            folder = exp / "trials" / run.data.tags[V.TRIAL]
            assert (folder / "model").is_dir() and not (folder / "state").exists()


def test_a_trial_asked_after_rays_last_save_is_run_not_left_running(tiny_model_dir, tmp_path, capsys) -> None:
    """Killed between a searcher ask and Ray's next save of its state: Ray's state lacks a trial the study has."""
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "orphan", "--num-samples", "3"]
    argv += common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")
    exp, saved = tmp_path / "orphan", tmp_path / "ray-state-before-the-ask"

    def save_ray_state_then_wait_for_the_third_ask() -> bool:
        if not saved.exists():
            if asked(exp / "optuna.db") != 2 or not list(exp.glob(RAY_STATE[0])):
                return False
            saved.mkdir()
            for pattern in RAY_STATE:
                for file in exp.glob(pattern):
                    (saved / file.name).write_bytes(file.read_bytes())
        return asked(exp / "optuna.db") >= 3

    assert interrupted_when(save_ray_state_then_wait_for_the_third_ask, argv) == 130
    forget_ray_state(exp)
    for file in saved.iterdir():  # what Ray had saved before the third trial was asked
        (exp / file.name).write_bytes(file.read_bytes())
    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    _, children = runs(tmp_path, "orphan")
    study = optuna.load_study(study_name="orphan", storage=f"sqlite:///{exp / 'optuna.db'}")
    running = [t.number for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    assert running == [] and len(study.trials) == len(children) == 3, (running, len(study.trials), len(children))
    check_exactly_once(tmp_path, "orphan", 3)


def test_an_interrupted_sweep_stops_the_trials_an_undisturbed_one_stops(tiny_model_dir, tmp_path, capsys) -> None:
    base = ["bert-tiny", "--smoke", "--trainer", FAKE, "--num-samples", "5", "--max-concurrent", "1"]
    assert fake_sweep.sweep([*base, "--experiment", "calm", *common(tiny_model_dir, tmp_path)]) == 0
    argv = [*base, "--experiment", "stormy"]
    argv += common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")
    ended = tmp_path / "stormy" / "trials_ended.txt"
    assert interrupted_when(lambda: ended.is_file() and len(ended.read_text().split()) >= 2, argv) == 130
    assert fake_sweep.sweep([*argv, "--resume"]) == 0

    calm = outcome_of(tmp_path, "calm")
    assert [status for *_, status in calm].count(V.STOPPED) >= 2  # ASHA stopped trials in the undisturbed sweep
    assert outcome_of(tmp_path, "stormy") == calm
    check_exactly_once(tmp_path, "stormy", 5)


def test_a_trial_killed_and_resumed_by_ray_logs_what_an_undisturbed_one_logs(tiny_model_dir, tmp_path, capsys):
    """The real trainer; its worker SIGKILLed after the state of its first epoch's end (step 5, between the
    evaluations at 4 and 6): Ray retries it from that state. Every evaluation (its loss too) and test score
    is the same as in the undisturbed sweep, to 1e-6."""
    base = ["bert-tiny", "--smoke", "--num-samples", "1", "--set", "optim.epochs=2"]
    base += common(tiny_model_dir, tmp_path)  # 40 sentences, batches of 8: 5 per epoch, 6 steps
    assert fake_sweep.sweep([*base, "--experiment", "calm"]) == 0
    assert fake_sweep.sweep([*base, "--experiment", "killed", "--trainer", "tests.tune.killed_trainer:train"]) == 0
    assert [p.read_text() for p in (tmp_path / "cache").glob("killed-*")] == ["5"]  # its one worker death
    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    (calm,), (killed,) = runs(tmp_path, "calm")[1], runs(tmp_path, "killed")[1]
    assert killed.info.status == "FINISHED" and set(killed.data.metrics) == set(calm.data.metrics)
    for key in sorted(set(calm.data.metrics) - {"examples_per_s", "train_seconds"}):
        history = [[(m.step, m.value) for m in mlflow.get_metric_history(r.info.run_id, key)] for r in (calm, killed)]
        assert [s for s, _ in history[1]] == [s for s, _ in history[0]], key
        assert [v for _, v in history[1]] == pytest.approx([v for _, v in history[0]], abs=1e-6), key


def test_a_sweep_that_lost_rays_state_runs_again_no_trial_that_ended(tiny_model_dir, tmp_path, capsys) -> None:
    """Ray's files gone after the sweep ended: a resume hands every study trial to a new Ray session; a finished
    one returns its metrics, a stopped one its last evaluation: none trains again, every model stays."""
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "ended", "--num-samples", "4"]
    argv += ["--keep-models", "all"]  # every model stays
    argv += ["--max-concurrent", "1", *common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")]
    assert fake_sweep.sweep(argv) == 0
    exp, cache = tmp_path / "ended", tmp_path / "cache"
    models = {p.parent.parent.name: p.read_text() for p in exp.glob("trials/*/model/weights.txt")}
    started, before = attempts(cache), outcome_of(tmp_path, "ended")
    assert [status for _, status in before].count(V.STOPPED) >= 1
    (exp / "tuner.pkl").unlink()
    forget_ray_state(exp)
    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    finished = sum(status == V.FINISHED for _, status in before)
    assert attempts(cache) - started == finished  # a finished trial returns its metrics; a stopped one no attempt
    assert outcome_of(tmp_path, "ended") == before
    assert {p.parent.parent.name: p.read_text() for p in exp.glob("trials/*/model/weights.txt")} == models
    check_exactly_once(tmp_path, "ended", 4)
