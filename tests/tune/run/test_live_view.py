"""The live sweep view: pure rendering (now passed in), the board fed by a Ray callback, the noise filters."""

from __future__ import annotations

import io
import logging
import warnings

import pytest

from sct.tune.run.live_view import SweepBoard, TrialRow, header, quiet_library_noise, render, sweep_view

LR, K = "optim.lr", "method.queue_size"


def _rows() -> list[TrialRow]:
    return [
        TrialRow("t00", "done", {LR: 5e-4, K: 131072}, 640, 77.1, 78.41),
        TrialRow("t01", "running", {LR: 3e-5, K: 16384}, 128, 60.0, 61.5),
        TrialRow("t02", "stopped", {LR: 1e-3, K: 65536}, 256, 70.0, 71.25),
        TrialRow("t03", "error", {LR: 2e-4, K: 32768}),
    ]


@pytest.mark.parametrize(
    ("rows", "total", "elapsed", "line"),
    [
        ([], 8, 0.0, "0/8 done · 0 running · 8 pending · best - · elapsed 0:00 · ETA ?"),
        (
            _rows(),
            8,
            723.0,
            "3/8 done · 1 running · 4 pending · best 78.41 (t00) · elapsed 12:03 · ETA 20:05 · 1 failed",
        ),
        (_rows()[:1], 1, 4000.0, "1/1 done · 0 running · 0 pending · best 78.41 (t00) · elapsed 1:06:40 · ETA 0:00"),
    ],
)
def test_header(rows: list[TrialRow], total: int, elapsed: float, line: str) -> None:
    assert header(rows, total, 1000.0, 1000.0 + elapsed) == line


def test_render_is_one_aligned_table_with_short_names_and_values() -> None:
    text = render(_rows(), 8, 0.0, 723.0)
    assert text.splitlines() == [
        "3/8 done · 1 running · 4 pending · best 78.41 (t00) · elapsed 12:03 · ETA 20:05 · 1 failed",
        "trial  status   lr    k       step    dev   best",
        "t00    done     5e-4  131072   640  77.10  78.41",
        "t01    running  3e-5  16384    128  60.00  61.50",
        "t02    stopped  1e-3  65536    256  70.00  71.25",
        "t03    error    2e-4  32768      -      -      -",
    ]


def test_render_keeps_running_and_best_trials_when_there_are_too_many() -> None:
    lines = render(_rows(), 8, 0.0, 10.0, max_rows=2).splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["t00", "t01", "..."]
    assert lines[-1] == "... 2 more trial(s) not shown"


def test_board_names_trials_by_their_ray_counter_and_tracks_results() -> None:
    board = SweepBoard(total=12, started=0.0)
    config = {LR: 3e-4, K: 65536.0, "sct_base": {"optim": {}}, "sct_meta": {"kind": "sweep"}}
    board.update("6a1b2_00003", config, "RUNNING", {"step": 64.0, "stsb_dev": 55.5, "loss": 1.0})
    board.update("6a1b2_00003", config, "RUNNING", {"step": 128.0, "best_stsb_dev": 56.25})
    row = board.rows["6a1b2_00003"]
    assert (row.name, row.status, row.values, row.step, row.dev, row.best) == (
        "t03",
        "running",
        {LR: 3e-4, K: 65536.0},
        128,
        55.5,
        56.25,
    )
    board.complete("6a1b2_00003", config, {"done_training": 1.0})
    board.complete("6a1b2_00004", {"row": "contrastive", "seed": 43}, {"step": 3})
    assert [(r.name, r.status) for r in board.rows.values()] == [("t03", "done"), ("t04", "stopped")]
    assert board.rows["6a1b2_00004"].values == {"row": "contrastive", "seed": 43}
    assert "t03    done     3e-4  65536" in board.render(now=60.0)


def test_ray_callback_feeds_the_board_and_prints_at_most_every_few_seconds() -> None:
    from ray.tune.experiment import Trial

    out = io.StringIO()
    view = sweep_view(total=2, keys=[LR], every_s=3600.0, stream=out)
    first = Trial("sct_trainable", config={LR: 5e-4, K: 131072}, trial_id="ab_00000", stub=True)
    second = Trial("sct_trainable", config={LR: 1e-4, K: 16384}, trial_id="ab_00001", stub=True)
    view.on_step_end(iteration=0, trials=[first, second])  # prints (first draw), both pending
    view.on_trial_start(iteration=1, trials=[first, second], trial=first)
    view.on_trial_result(1, [first, second], first, {"step": 64, "stsb_dev": 70.0, BEST: 70.0})
    view.on_step_end(iteration=1, trials=[first, second])  # within every_s: no second print
    first.update_last_result({"done_training": 1.0})
    view.on_trial_complete(2, [first, second], first)
    view.on_trial_error(3, [first, second], second)
    view.on_experiment_end(trials=[first, second])  # always prints
    blocks = out.getvalue().strip().split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[0].startswith("0/2 done · 0 running · 2 pending · best -")
    final = blocks[1].splitlines()
    assert final[0].startswith("2/2 done · 0 running · 0 pending · best 70.00 (t00)") and final[0].endswith("1 failed")
    assert final[1:] == [
        "trial  status  lr    step    dev   best",
        "t00    done    5e-4    64  70.00  70.00",
        "t01    error   1e-4     -      -      -",
    ]


BEST = "best_stsb_dev"


def test_ray_status_refreshes_rows_until_our_hooks_end_them() -> None:
    from ray.tune.experiment import Trial

    view = sweep_view(total=1, every_s=3600.0, heartbeat_s=3600.0, stream=io.StringIO())
    trial = Trial("sct_trainable", config={LR: 5e-4}, trial_id="ab_00000", stub=True)
    view.on_step_end(iteration=0, trials=[trial])
    trial.set_status(Trial.RUNNING)
    view.on_step_end(iteration=1, trials=[trial])
    assert view.board.rows["ab_00000"].status == "running"
    view.on_trial_complete(2, [trial], trial)  # no done_training in its last result: ASHA stopped it
    trial.set_status(Trial.TERMINATED)
    view.on_step_end(iteration=3, trials=[trial])
    assert view.board.rows["ab_00000"].status == "stopped"


@pytest.mark.parametrize(
    ("verbose", "level", "message", "shown"),
    [
        (False, logging.WARNING, "Experiment state snapshotting has been triggered multiple times", False),
        (False, logging.ERROR, "Experiment state snapshotting failed:", True),
        (False, logging.WARNING, "Trial ab_00001 errored", True),
        (False, logging.INFO, "Wrote the latest version of all result files and experiment state to '/x'", False),
        (True, logging.WARNING, "Experiment state snapshotting has been triggered multiple times", True),
        (False, logging.WARNING, "Experiment has been interrupted.\nResume experiment with: Tuner.restore(", False),
        (False, logging.ERROR, "Trials did not complete: [sct_trainable_1]", False),  # our summary names them
        (True, logging.WARNING, "Experiment has been interrupted.\nResume experiment with: Tuner.restore(", True),
    ],
)
def test_quiet_library_noise_drops_ray_snapshot_warnings(
    verbose: bool, level: int, message: str, shown: bool, monkeypatch
) -> None:
    import ray.tune  # noqa: F401 - Ray configures its loggers on import

    logger = logging.getLogger("ray.tune.execution.experiment_state")
    monkeypatch.setattr(logger, "filters", [])
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.delenv("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", raising=False)
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    with warnings.catch_warnings():
        quiet_library_noise(verbose)
        quiet_library_noise(verbose)  # idempotent: one filter
    assert len(logger.filters) == (0 if verbose else 1)
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    assert MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.get() is verbose  # MLflow's download bars only when verbose
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.log(level, message)
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == ([message] if shown else [])


@pytest.mark.parametrize(("verbose", "caught"), [(False, 0), (True, 1)])
def test_quiet_library_noise_hides_optuna_experimental_warnings(verbose: bool, caught: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    before = optuna.logging.get_verbosity()
    study = optuna.create_study(direction="maximize")
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 0.5}, distributions={"x": optuna.distributions.FloatDistribution(0, 1)}, value=1.0
        )
    )
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            quiet_library_noise(verbose)
            plt.close(ovm.plot_optimization_history(study).figure)  # an experimental function in Optuna
        assert sum(issubclass(w.category, optuna.exceptions.ExperimentalWarning) for w in seen) == caught
        assert optuna.logging.get_verbosity() == (before if verbose else optuna.logging.WARNING)
    finally:
        optuna.logging.set_verbosity(before)


def test_eta_is_the_files_estimate_until_a_trial_ends() -> None:
    running = [TrialRow("t00", "running", {LR: 5e-4})]
    assert header(running, 4, 0.0, 600.0, estimate_s=3600.0).endswith("elapsed 10:00 · ETA ~50:00 (estimate)")
    assert header(running, 4, 0.0, 600.0).endswith("ETA ?")  # no estimate in the file
    ended = [*running, TrialRow("t01", "done", {LR: 1e-4}, 64, 70.0, 71.0)]
    assert header(ended, 4, 0.0, 600.0, estimate_s=3600.0).endswith("ETA 30:00")  # measured from now on


@pytest.mark.parametrize("verbose", [False, True])
def test_rays_experiment_box_and_results_path_only_when_verbose(verbose: bool, monkeypatch) -> None:
    """Ray's new output engine prints its "Configuration for experiment" box, "View detailed results here"
    and a TensorBoard hint at a run's start whatever RunConfig(verbose) says; its legacy engine, at verbose 0
    (what the driver passes without --verbose), prints nothing: Ray picks the engine by RAY_AIR_NEW_OUTPUT."""
    from ray.tune.experimental.output import AirVerbosity, get_air_verbosity

    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    monkeypatch.delenv("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", raising=False)
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    with warnings.catch_warnings():
        quiet_library_noise(verbose)
    assert get_air_verbosity(1 if verbose else 0) == (AirVerbosity.DEFAULT if verbose else None)
