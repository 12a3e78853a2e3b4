"""Warm points mapped into a size's space: clipped, nearest categorical, each once, kept for a resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sct.errors import UserError
from sct.tune.plan.spaces import ParamSpec, load_space
from sct.tune.plan.warm_starts import (
    PAPER,
    SPACE_FILE,
    gather,
    map_point,
    map_value,
    other_sizes,
    seeded_space,
    warm_points,
)

K = ParamSpec("method.queue_size", "categorical", values=(16384, 65536, 262144))


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        (ParamSpec("optim.lr", "loguniform", 1e-5, 1e-3), 5e-3, 1e-3),  # clipped above
        (ParamSpec("optim.lr", "loguniform", 1e-5, 1e-3), 1e-6, 1e-5),  # clipped below
        (ParamSpec("method.tau_ref", "uniform", 0.01, 0.1), 0.05, 0.05),  # inside: unchanged
        (ParamSpec("method.head_blocks", "int", 1, 4), 7.6, 4),
        (ParamSpec("method.head_blocks", "int", 1, 6), 2.6, 3),  # rounded
        (K, 131072, 65536),  # nearest on a log scale: 131072 is 2x 65536 and 2x 262144, first wins
        (K, 200000, 262144),
        (K, 16384, 16384),
        (K, 10, 16384),
        (ParamSpec("method.queues", "categorical", values=("two", "one")), "frozen", "two"),
    ],
)
def test_map_value(param: ParamSpec, value, expected) -> None:
    assert map_value(param, value) == pytest.approx(expected)


def test_map_point_drops_keys_the_space_does_not_search() -> None:
    space = load_space("bert-mini")
    point = map_point({"optim.lr": 1.0, "method.queue_size": 1000, "optim.batch_size": 64}, space)
    assert point == {"optim.lr": 1e-3, "method.queue_size": 16384}


def test_file_point_is_the_papers_and_found_points_follow_once() -> None:
    space = load_space("bert-small")
    (paper,) = space.points
    tiny_best = {"optim.lr": 2e-3, "method.queue_size": 100000, "method.tau_ref": 0.2, "method.tau_online": 0.05}
    pairs = warm_points(space, {"sweep-bert-tiny": tiny_best, "sweep-bert-mini": dict(paper)})
    assert pairs == [
        (paper, PAPER),  # Table 1 of bert-small, as the file holds it
        ({"optim.lr": 1e-3, "method.queue_size": 131072, "method.tau_ref": 0.1, "method.tau_online": 0.05},
         "best of sweep-bert-tiny"),
    ]  # fmt: skip  # the mini point equals the paper's: evaluated once


def test_a_file_without_points_gets_the_papers() -> None:
    space = dataclasses.replace(load_space("bert-mini"), points=())
    assert warm_points(space, {}) == [
        ({"optim.lr": 3e-4, "method.queue_size": 131072, "method.tau_ref": 0.01, "method.tau_online": 0.03}, PAPER)
    ]
    changed = dataclasses.replace(
        load_space("bert-mini"), points=({**load_space("bert-mini").points[0], "optim.lr": 1e-4},)
    )
    assert [source for _, source in warm_points(changed, {})] == [SPACE_FILE]  # the file's choice, not the paper's


def test_seeded_space_keeps_the_points_a_sweep_started_with() -> None:
    space, state = load_space("bert-tiny"), {}
    first = seeded_space(space, state, {"sweep-x": {"optim.lr": 1e-4}})
    assert first.sources == (PAPER, "best of sweep-x") and first.points[1] == {"optim.lr": 1e-4}
    again = seeded_space(space, state, {"sweep-y": {"optim.lr": 2e-4}})  # a resume: other best points now
    assert again.points == first.points and again.sources == first.sources


def test_other_sizes_and_a_named_experiment_that_is_missing(tmp_path: Path) -> None:
    assert other_sizes("bert-mini", smoke=True)[:2] == ["sweep-bert-tiny-smoke", "sweep-bert-small-smoke"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert gather(uri, [], other_sizes("bert-mini", smoke=False)) == {}  # nothing there: nothing found
    assert not (tmp_path / "mlflow.db").exists()  # and no store created by looking
    with pytest.raises(UserError, match="--warm-start-from sweep-gone: no MLflow store"):
        gather(uri, ["sweep-gone"], [])
