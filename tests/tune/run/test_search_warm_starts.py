"""The searcher enqueues each warm point with its source as an Optuna user attribute."""

from __future__ import annotations

import pytest

from sct.tune.plan.spaces import load_space
from sct.tune.plan.warm_starts import PAPER, WARM_ATTR, seeded_space

pytest.importorskip("ray")
from sct.tune.run.search import SweepSearch  # noqa: E402


def test_warm_points_carry_their_source(tmp_path) -> None:
    space = seeded_space(load_space("bert-tiny"), {}, {"sweep-a": {"optim.lr": 1e-4}})
    study = SweepSearch(space, tmp_path / "optuna.db", "s", 0, 4, 2).study
    assert [t.user_attrs[WARM_ATTR] for t in study.trials] == [PAPER, "best of sweep-a"]
    assert study.trials[1].params == {} and study.trials[1].system_attrs["fixed_params"] == {"optim.lr": 1e-4}


def test_a_searcher_pickled_before_warm_starts_still_enqueues_its_points(tmp_path) -> None:
    searcher = SweepSearch(load_space("bert-tiny"), tmp_path / "optuna.db", "s", 0, 4, 2)
    del searcher.sources  # restored by Ray from an experiment started by an older sct
    (trial,) = searcher.study.trials
    assert trial.system_attrs["fixed_params"] == load_space("bert-tiny").points[0] and trial.user_attrs == {}
