"""The sweep's searcher and scheduler across driver restarts, fed what Ray feeds them (real Optuna, real ASHA).

A restart is a new object (or one unpickled from Ray's ``tuner.pkl``) over the same ``optuna.db`` /
``asha.json``, told by :meth:`SweepSearch.sync` which trials Ray holds — none, when Ray's state was lost.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from sct import metrics as M
from sct.tune.plan.smoke import smoke_space
from sct.tune.plan.spaces import load_space
from sct.tune.vocabulary import DONE

optuna = pytest.importorskip("optuna")
pytest.importorskip("ray")
from ray.tune.schedulers import TrialScheduler  # noqa: E402
from ray.tune.search import Searcher  # noqa: E402

from sct.tune.run.search import Asha, SweepSearch  # noqa: E402

SPACE = smoke_space(load_space("bert-tiny"))  # the Table 1 point first, then TPE; grace 2 evaluations, factor 3


class RayTrial(SimpleNamespace):
    """What the searcher reads of a Ray trial: id, config, status, last result."""

    def is_finished(self) -> bool:
        return self.status in ("TERMINATED", "ERROR")


def searcher(db: Path, num_samples: int = 4, max_concurrent: int = 2) -> SweepSearch:
    return SweepSearch(SPACE, db, "sweep", 42, num_samples, max_concurrent)


def run_to_the_end(search: SweepSearch, held: list[RayTrial]) -> list[RayTrial]:
    """Play Ray: finish what runs, ask for more, until the searcher says FINISHED; returns every trial."""
    trials = list(held)
    for _ in range(100):
        search.sync(trials)
        config = search.suggest(f"ray{len(trials)}")
        if config == Searcher.FINISHED:
            return trials
        if config is not None:
            trials.append(RayTrial(trial_id=f"ray{len(trials)}", config=config, status="RUNNING", last_result={}))
            continue
        for trial in trials:
            if trial.status == "RUNNING":
                result = {M.STEP: 6, M.BEST_STSB_DEV: 50.0 + trial.config["trial"], DONE: 1.0}
                search.on_trial_result(trial.trial_id, {M.STEP: 6, M.BEST_STSB_DEV: result[M.BEST_STSB_DEV]})
                search.on_trial_complete(trial.trial_id, result)
                trial.status, trial.last_result = "TERMINATED", result
    raise AssertionError("the searcher never finished")


def test_trials_asked_before_a_kill_are_handed_to_ray_again_with_their_points(tmp_path) -> None:
    first = searcher(tmp_path / "optuna.db")
    first.sync([])
    asked = [first.suggest("a"), first.suggest("b")]
    assert first.suggest("c") is None  # two at once
    assert [c["trial"] for c in asked] == [0, 1] and asked[0]["optim.lr"] == 5e-4  # the Table 1 point first

    restarted = pickle.loads(pickle.dumps(first))  # what Ray keeps in tuner.pkl; its own state lost with the kill
    trials = run_to_the_end(restarted, [])
    assert [t.config for t in trials[:2]] == asked  # same numbers, same points: none asked twice
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [t.number for t in study.trials] == [0, 1, 2, 3] == sorted(t.config["trial"] for t in trials)
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}


def test_trials_ray_finished_are_told_to_the_study_and_points_do_not_depend_on_restarts(tmp_path) -> None:
    straight = run_to_the_end(searcher(tmp_path / "a.db"), [])
    first = searcher(tmp_path / "b.db")
    first.sync([])
    ended = [
        RayTrial(
            trial_id=name,
            config=first.suggest(name),
            status="TERMINATED",
            last_result={DONE: 1.0, M.BEST_STSB_DEV: 9.0},
        )
        for name in ("x", "y")
    ]  # Ray saw both end (trial 1 drawn by TPE); the driver died before the study was told
    restarted = run_to_the_end(searcher(tmp_path / "b.db"), ended)
    assert [t.config for t in restarted] == [t.config for t in straight]  # TPE draws trial n from seed + n
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path / 'b.db'}")
    assert [t.value for t in study.trials[:2]] == [9.0, 9.0] and len(study.trials) == 4


def _asha_decisions(tmp_path: Path, restart_after: int | None) -> list[str]:
    """Four sequential trials report steps 2, 4, 6 (grace 2 evaluations = step 4); scores fall with the
    trial's number except trial 2; the scheduler is replaced by a new one after ``restart_after`` trials."""
    scores = {0: 60.0, 1: 50.0, 2: 55.0, 3: 40.0}
    asha, decisions = Asha(SPACE, tmp_path, every_steps=2), []
    for number, score in scores.items():
        if number == restart_after:
            asha = Asha(SPACE, tmp_path, every_steps=2)
        trial = SimpleNamespace(trial_id=f"ray{number}", config={"trial": number})
        for step in (2, 4, 6):
            action = asha.on_trial_result(None, trial, {M.STEP: step, M.BEST_STSB_DEV: score + step})
            if action == TrialScheduler.STOP:
                break
        decisions.append(action)
    return decisions


def test_a_restarted_scheduler_stops_the_trials_an_undisturbed_one_stops(tmp_path) -> None:
    straight = _asha_decisions(tmp_path / "a", None)
    assert straight == [TrialScheduler.CONTINUE, TrialScheduler.STOP, TrialScheduler.STOP, TrialScheduler.STOP]
    for restart in (1, 2, 3):
        assert _asha_decisions(tmp_path / f"r{restart}", restart) == straight, restart


def test_a_stop_decided_before_a_restart_stands(tmp_path) -> None:
    asha = Asha(SPACE, tmp_path, every_steps=2)
    for number, score in ((0, 60.0), (1, 50.0)):
        asha.on_trial_result(
            None, SimpleNamespace(trial_id="r", config={"trial": number}), {M.STEP: 4, M.BEST_STSB_DEV: score}
        )
    restarted = Asha(SPACE, tmp_path, every_steps=2)  # the driver died before Ray stopped trial 1
    trial = SimpleNamespace(trial_id="new", config={"trial": 1})  # Ray runs it again (a new Ray id)
    assert restarted.on_trial_result(None, trial, {M.STEP: 6, M.BEST_STSB_DEV: 99.0}) == TrialScheduler.STOP


def test_a_trial_whose_ask_a_kill_cut_runs_with_its_whole_point(tmp_path) -> None:
    """``ask`` writes the trial, then its params one by one: a kill in between leaves half a point (or none)."""
    straight = run_to_the_end(searcher(tmp_path / "a.db", num_samples=2), [])
    first = searcher(tmp_path / "b.db", num_samples=2)
    first.sync([])
    first.suggest("x")
    first.study.enqueue_trial(first._next_point(first.study.get_trials()))  # what suggest writes first ...
    first.study.ask()  # ... then the trial, RUNNING, without its params: the kill comes here
    restarted = run_to_the_end(searcher(tmp_path / "b.db", num_samples=2), [])
    assert [t.config for t in restarted] == [t.config for t in straight]
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path / 'b.db'}")
    assert study.trials[1].params == {k: v for k, v in straight[1].config.items() if k != "trial"}


def test_a_trial_the_scheduler_stopped_is_pruned_in_optuna_and_says_stopped(tmp_path) -> None:
    search = searcher(tmp_path / "optuna.db")
    search.sync([])
    configs = [search.suggest("a"), search.suggest("b")]
    trials = [
        RayTrial(trial_id=n, config=c, status="RUNNING", last_result={}) for n, c in zip("ab", configs, strict=True)
    ]
    search.sync(trials)
    search.on_trial_complete("a", {M.STEP: 4, M.BEST_STSB_DEV: 51.0})  # stopped by ASHA: no done_training
    search.on_trial_complete("b", {M.STEP: 6, M.BEST_STSB_DEV: 52.0, DONE: 1.0})
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    ends = [(t.state, t.user_attrs.get("sct.trial_end")) for t in study.trials]
    assert ends == [(optuna.trial.TrialState.PRUNED, "stopped"), (optuna.trial.TrialState.COMPLETE, "finished")]
