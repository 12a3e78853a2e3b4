"""Checkpoints: exact state round trip (incl. RNG), newest-two retention, fallback past corrupt states, best model."""

from __future__ import annotations

import json
import logging
import random

import pytest
import torch
from torch import nn

from sct.checkpoint import (
    Progress,
    load_state,
    read_best,
    restore,
    save_best,
    save_state,
    state_dirs,
)
from sct.errors import UserError


def _save(run, step: int) -> None:
    save_state(run, {"m": nn.Linear(1, 1)}, Progress(step=step), {"a": step})


def test_state_and_rng_round_trip(tmp_path) -> None:
    model = nn.Linear(3, 2)
    buffers = nn.Module()
    buffers.register_buffer("queue", torch.randn(5, 2))
    progress = Progress(step=7, epoch=1, batch_in_epoch=3, best_score=71.5, best_step=6, evals_since_best=1)
    save_state(tmp_path, {"model": model, "q": buffers}, progress, {"a": 1})
    expected_draw = (torch.rand(3), random.random())

    other, other_buffers = nn.Linear(3, 2), nn.Module()
    other_buffers.register_buffer("queue", torch.zeros(5, 2))
    state = load_state(tmp_path)
    restored = restore(state, {"model": other, "q": other_buffers})
    assert restored == progress and state["config"] == {"a": 1}
    assert torch.equal(other.weight, model.weight) and torch.equal(other_buffers.queue, buffers.queue)
    draw = (torch.rand(3), random.random())
    assert torch.equal(draw[0], expected_draw[0]) and draw[1] == expected_draw[1]


def test_keeps_the_newest_two_states_and_no_temp_leftovers(tmp_path) -> None:
    for step in (1, 2, 3):
        _save(tmp_path, step)
    assert [p.name for p in state_dirs(tmp_path)] == ["step-000000002", "step-000000003"]
    assert load_state(tmp_path)["progress"]["step"] == 3
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["step-000000002", "step-000000003"]


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: (d / "state.pt").write_bytes((d / "state.pt").read_bytes()[:100]), "state.pt: 100 bytes"),
        (lambda d: (d / "progress.json").write_text('{"step": 3, "ep'), "progress.json"),
        (lambda d: (d / "COMPLETE").unlink(), "COMPLETE: file not found"),
    ],
    ids=["truncated-state", "cut-progress", "no-completion-marker"],
)
def test_a_bad_newest_state_falls_back_to_the_previous_one(tmp_path, caplog, damage, named) -> None:
    _save(tmp_path, 2)
    _save(tmp_path, 3)
    damage(state_dirs(tmp_path)[-1])
    with caplog.at_level(logging.WARNING):
        assert load_state(tmp_path)["progress"]["step"] == 2
    assert named in caplog.text and "step-000000003" in caplog.text
    assert len(state_dirs(tmp_path)) == 2  # nothing the user had is deleted


def test_no_valid_state_is_a_user_error_naming_the_files(tmp_path) -> None:
    assert load_state(tmp_path) is None
    _save(tmp_path, 1)
    (state_dirs(tmp_path)[0] / "state.pt").write_bytes(b"")
    with pytest.raises(UserError, match=r"no valid training state in .*state: .*state.pt: 0 bytes"):
        load_state(tmp_path)


def test_foreign_state_is_refused(tmp_path) -> None:
    _save(tmp_path, 1)
    with pytest.raises(ValueError, match="checkpoint has no state for 'b'"):
        restore(load_state(tmp_path), {"b": nn.Linear(1, 1)})


def test_best_model_is_replaced_whole(tmp_path) -> None:
    assert read_best(tmp_path) is None
    for step, score in ((2, 10.0), (4, 12.5)):
        save_best(tmp_path, lambda path, s=step: (path / "weights.txt").write_text(f"w{s}"), score, step)
    assert read_best(tmp_path) == (12.5, 4)
    assert (tmp_path / "model" / "weights.txt").read_text() == "w4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "model"]


class _Payload:
    """Unpickling this runs code: what a writer of a shared storage could plant in a state file."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_state_file_that_would_run_code_is_refused_not_executed(tmp_path, caplog) -> None:
    _save(tmp_path, 1)
    _save(tmp_path, 2)
    planted = state_dirs(tmp_path)[-1]
    marker = tmp_path / "code-ran"
    torch.save({"progress": {"step": 2}, "evil": _Payload(marker)}, planted / "state.pt")
    (planted / "COMPLETE").write_text(
        json.dumps({name: (planted / name).stat().st_size for name in ("state.pt", "progress.json")})
    )
    with caplog.at_level(logging.WARNING):
        assert load_state(tmp_path)["progress"]["step"] == 1  # the planted state is skipped, the older one used
    assert not marker.exists()
    assert f"{planted / 'state.pt'}: unreadable" in caplog.text


def test_a_state_loads_without_unpickling_code(tmp_path) -> None:
    """Everything a real state holds (RNG states included) loads with ``weights_only=True``."""
    model = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    save_state(tmp_path, {"model": model, "optimizer": optimizer}, Progress(step=3), {"optim": {"lr": 1e-3}})
    state = torch.load(state_dirs(tmp_path)[-1] / "state.pt", weights_only=True)
    assert state["progress"]["step"] == 3 and set(state["rng"]) >= {"python", "numpy", "torch"}
