"""The sweep's searcher and scheduler, resumable after a kill at any moment: Optuna TPE in ``optuna.db``, ASHA
whose rungs live in the experiment directory.

Ray saves its experiment state every ~10 s, in several files that are not written together, so after a kill
its view may lag behind the study (a trial asked and never checkpointed) or be gone. Neither object therefore
keeps anything only Ray saves:

- :class:`SweepSearch`: the Optuna study is the one record of the sweep's trials; a trial is its number there
  (config key ``trial``, directory and MLflow run ``t03``). Before each of Ray's steps, :class:`SyncSearch`
  tells the searcher which trials Ray holds. A study trial Ray does not hold (asked before a kill, or lost
  with Ray's state) is handed to Ray again — same number, same point, continuing from its directory — before
  a new one is asked; a trial Ray finished that the study still has RUNNING is told. So the study and MLflow
  agree trial for trial and none stays RUNNING. TPE draws trial n's random numbers from ``seed + n``: a point
  does not depend on when the driver was restarted. A new point is drawn on an in-memory copy of the study and
  enqueued whole before it is asked (``ask`` writes a trial's params one by one). Results are reported at
  their training step; a trial ending with ``sct_failure`` (or a crash) is FAIL, one ASHA stopped PRUNED.
- :class:`Asha`: Ray's ASHA on the training step, its rung records keyed by trial and written to
  ``asha.json`` before each decision is returned, with the trials it stopped: a restarted driver stops the
  same trials as an undisturbed one.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
from ray.tune import Callback
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from ray.tune.search import Searcher

from sct.metrics import PRIMARY, STEP
from sct.storage import read_json, write_json
from sct.tune.plan.spaces import SearchSpace
from sct.tune.plan.warm_starts import WARM_ATTR, WARM_KEY
from sct.tune.run.trial import trial_dir, trial_key
from sct.tune.vocabulary import FAILURE, FINISHED, STOPPED, TRIAL_END, TRIAL_NUMBER, trial_end

MAX_EVALS = 100_000  # ASHA's ceiling, in evaluations; trials end on their own budget first
RUNGS_FILE = "asha.json"
_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


class TrialSeededTPE(optuna.samplers.TPESampler):
    """Multivariate TPE with constant liar whose random numbers for trial ``n`` come from ``seed + n``."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed, multivariate=True, constant_liar=True)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self._rng.rng.seed(self._base_seed + trial.number)
        self._random_sampler = optuna.samplers.RandomSampler(seed=self._base_seed + trial.number)
        super().before_trial(study, trial)


def _suggest(trial: optuna.Trial, name: str, dist: optuna.distributions.BaseDistribution) -> Any:
    """``trial``'s value of ``name`` (its enqueued one when it has one), through Optuna's public suggest API."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


class SweepSearch(Searcher):
    """Ray's searcher over the sweep's Optuna study (see the module docstring); it also limits concurrency."""

    def __init__(self, space: SearchSpace, db: Path, name: str, seed: int, num_samples: int, max_concurrent: int):
        super().__init__(metric=PRIMARY, mode="max")
        self.distributions = space.optuna_space()
        self.points = [dict(p) for p in space.points]
        self.sources = list(space.sources) or [""] * len(self.points)  # sct.tune.plan.warm_starts
        self.url, self.name, self.seed = f"sqlite:///{db}", name, seed
        self.num_samples, self.max_concurrent = num_samples, max_concurrent
        self.numbers: dict[str, int] = {}  # Ray trial id -> study trial number
        self.live = 0  # unfinished trials Ray holds (at the last sync, plus those suggested since)
        self.closed: set[int] = set()  # study trials known to be finished
        self._study: optuna.Study | None = None

    def __getstate__(self) -> dict[str, Any]:  # pickled into Ray's files: settings only, the study stays in its db
        return self.__dict__ | {"numbers": {}, "live": 0, "closed": set(), "_study": None}

    @property
    def study(self) -> optuna.Study:
        if self._study is None:
            self._study = optuna.create_study(
                storage=optuna.storages.RDBStorage(self.url),
                sampler=TrialSeededTPE(self.seed),
                study_name=self.name,
                direction="maximize",
                load_if_exists=True,
            )
            sources = getattr(self, "sources", None) or [""] * len(self.points)  # pickled before warm starts
            for point, source in zip(self.points, sources, strict=True):  # idempotent: a restarted driver
                attrs = {WARM_ATTR: source} if source else None  # does not enqueue them twice
                self._study.enqueue_trial(point, user_attrs=attrs, skip_if_exists=True)
            if self._study.metric_names != [PRIMARY]:  # optuna-dashboard's axis, not "Objective 0"
                with warnings.catch_warnings():  # experimental in Optuna 5: a deliberate use
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    self._study.set_metric_names([PRIMARY])
        return self._study

    def link(self, number: int, run_id: str, directory: Path) -> None:
        """Store where study trial ``number`` lives as its user attributes (``mlflow_run_id``, ``trial_dir``):
        optuna-dashboard shows them beside the trial. Only a running trial takes them; a finished one has them."""
        frozen = self.study.get_trials(deepcopy=False)[number]
        wanted = {"mlflow_run_id": run_id, "trial_dir": str(directory)}
        if frozen.state == optuna.trial.TrialState.RUNNING and frozen.user_attrs != frozen.user_attrs | wanted:
            trial = optuna.Trial(self.study, frozen._trial_id)
            for key, value in wanted.items():
                trial.set_user_attr(key, value)

    def _trials(self) -> list[optuna.trial.FrozenTrial]:
        """The study's trials, ordered by number; the finished ones are remembered in :attr:`closed`."""
        trials = self.study.get_trials(deepcopy=False)
        self.closed |= {t.number for t in trials if t.state in _FINISHED}
        return trials

    def sync(self, trials: list[Any]) -> None:
        """Ray's trials now: who holds which number, how many run; a trial Ray ended is told to the study."""
        self.numbers = {t.trial_id: int(t.config[TRIAL_NUMBER]) for t in trials if TRIAL_NUMBER in t.config}
        self.live = sum(not t.is_finished() for t in trials)
        ended = [t for t in trials if t.is_finished() and self.numbers.get(t.trial_id, -1) not in self.closed | {-1}]
        if ended:
            self._trials()
            for trial in ended:
                self._tell(self.numbers[trial.trial_id], trial.last_result or {}, trial.status == "ERROR")

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        held = set(self.numbers.values())
        if self.live >= self.max_concurrent or (len(held) >= self.num_samples and not held <= self.closed):
            return None  # full, or every trial handed out and some still running: no need to read the study
        trials = self._trials()
        waiting = optuna.trial.TrialState.WAITING
        lost = [t for t in trials if t.number not in held and t.state != waiting]
        if lost:
            number = lost[0].number
        elif sum(t.state != waiting for t in trials) < self.num_samples:
            if not any(t.state == waiting for t in trials):  # the point first, whole, in one write
                self.study.enqueue_trial(self._next_point(trials))
            number = self.study.ask(fixed_distributions=self.distributions).number
        elif all(t.state in _FINISHED for t in trials):
            return Searcher.FINISHED
        else:
            return None
        self.numbers[trial_id], self.live = number, self.live + 1
        source = self.study.get_trials(deepcopy=False)[number].user_attrs.get(WARM_ATTR)
        return {**self._params(number), TRIAL_NUMBER: number, **({WARM_KEY: source} if source else {})}

    def _next_point(self, trials: list[optuna.trial.FrozenTrial]) -> dict[str, Any]:
        """The point TPE chooses for the next trial, drawn on an in-memory copy of the study. ``ask`` writes a
        trial's params one by one: a kill in between left a trial with half a point."""
        copy = optuna.create_study(sampler=TrialSeededTPE(self.seed), direction="maximize")
        copy.add_trials(trials)
        return copy.ask(fixed_distributions=self.distributions).params

    def _params(self, number: int) -> dict[str, Any]:
        """Trial ``number``'s point, completed in the study from its enqueued one if a kill cut its ``ask``."""
        frozen = self.study.get_trials(deepcopy=False)[number]
        if set(frozen.params) >= set(self.distributions):
            return dict(frozen.params)
        trial = optuna.Trial(self.study, frozen._trial_id)  # the handle ask returns; it reads the enqueued point
        return {name: _suggest(trial, name, dist) for name, dist in self.distributions.items()}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        number = self.numbers.get(trial_id)
        if number is None or number in self.closed or FAILURE in result or PRIMARY not in result:
            return
        frozen = self.study.get_trials(deepcopy=False)[number]
        step = int(result.get(STEP, -1))
        if frozen.state == optuna.trial.TrialState.RUNNING and step >= 0 and step not in frozen.intermediate_values:
            optuna.Trial(self.study, frozen._trial_id).report(float(result[PRIMARY]), step)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self.numbers:
            self._tell(self.numbers[trial_id], result or {}, error)

    def _tell(self, number: int, result: dict, error: bool) -> None:
        """Close study trial ``number`` (once): COMPLETE with its score, FAIL, or PRUNED (stopped by ASHA), with
        our word for its end as user attribute ``sct.trial_end`` (Optuna's PRUNED is ``stopped`` elsewhere)."""
        if number in self.closed:
            return
        status = trial_end(result, error)
        frozen = self.study.get_trials(deepcopy=False)[number]
        if frozen.state == optuna.trial.TrialState.RUNNING:  # a finished trial takes no attribute
            optuna.Trial(self.study, frozen._trial_id).set_user_attr(TRIAL_END, status)
        if status == FINISHED and PRIMARY in result:
            self.study.tell(number, float(result[PRIMARY]), skip_if_finished=True)
        elif status in (FINISHED, STOPPED):
            self.study.tell(number, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
        else:
            self.study.tell(number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        self.closed.add(number)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:  # Ray wants a file; the state is the study itself
            pickle.dump({"study": self.url}, handle)

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore: :meth:`sync` and the study say where the sweep stands."""


class SyncSearch(Callback):
    """Tells the searcher Ray's trials before each of Ray's steps (before it asks for new trials), and links a
    starting trial to its MLflow run (``runs``: the :class:`~sct.tune.run.mlflow_callback.MlflowTrials`)."""

    def __init__(self, searcher: SweepSearch, runs: Any = None) -> None:
        self.searcher, self.runs = searcher, runs

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        self.searcher.sync(trials)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self.runs is not None and TRIAL_NUMBER in trial.config:
            number = int(trial.config[TRIAL_NUMBER])
            self.searcher.link(number, self.runs.run_id(trial), trial_dir(trial.config))


class Asha(ASHAScheduler):
    """ASHA on the training step; rungs keyed by trial (:func:`trial_key`) and kept in ``<experiment>/asha.json``."""

    def __init__(self, space: SearchSpace, experiment_dir: Path, every_steps: int) -> None:
        super().__init__(
            time_attr=STEP,
            metric=PRIMARY,
            mode="max",
            max_t=MAX_EVALS * every_steps,
            grace_period=space.budget["grace_evals"] * every_steps,
            reduction_factor=space.budget["reduction_factor"],
        )
        self.file = Path(experiment_dir) / RUNGS_FILE
        self.stopped: set[str] | None = None  # loaded from the file on first use

    def _records(self) -> dict[str, Any]:
        rungs = {str(milestone): dict(recorded) for milestone, recorded in self._brackets[0]._rungs}
        return {"rungs": rungs, "stopped": sorted(self.stopped or ())}

    def _load(self) -> None:
        saved = read_json(self.file) if self.file.is_file() else {"rungs": {}, "stopped": []}
        for milestone, recorded in self._brackets[0]._rungs:
            recorded.update(saved["rungs"].get(str(milestone), {}))
        self.stopped = set(saved["stopped"])

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        if FAILURE in result or self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        if self.stopped is None:
            self._load()
        key = trial_key(trial.config)
        if key in self.stopped:  # decided before a restart: the same decision
            return TrialScheduler.STOP
        before = self._records()
        score = self._metric_op * result[self._metric]
        action = self._brackets[0].on_result(SimpleNamespace(trial_id=key), result[self._time_attr], score)
        if action == TrialScheduler.STOP:
            self.stopped.add(key)
            self._num_stopped += 1
        if self._records() != before:
            write_json(self.file, self._records())  # before Ray acts on the decision
        return action

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        self.on_trial_result(tune_controller, trial, result)  # a last result is recorded like any other
        self._trial_info.pop(trial.trial_id, None)
