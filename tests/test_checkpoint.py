"""Checkpoints: atomic directory swap, exact state round trip (incl. RNG), config mismatch detection."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from sct.checkpoint import Progress, config_mismatch, load_checkpoint, restore, save_checkpoint


def test_state_and_rng_round_trip(tmp_path) -> None:
    model = nn.Linear(3, 2)
    buffers = nn.Module()
    buffers.register_buffer("queue", torch.randn(5, 2))
    progress = Progress(step=7, epoch=1, batch_in_epoch=3, best_score=71.5, best_step=6, evals_since_best=1)
    save_checkpoint(tmp_path / "best", modules={"model": model, "q": buffers}, progress=progress, config={"a": 1})
    expected_draw = (torch.rand(3), random.random())

    other, other_buffers = nn.Linear(3, 2), nn.Module()
    other_buffers.register_buffer("queue", torch.zeros(5, 2))
    state = load_checkpoint(tmp_path / "best")
    restored = restore(state, {"model": other, "q": other_buffers})
    assert restored == progress and state["config"] == {"a": 1}
    assert torch.equal(other.weight, model.weight) and torch.equal(other_buffers.queue, buffers.queue)
    draw = (torch.rand(3), random.random())
    assert torch.equal(draw[0], expected_draw[0]) and draw[1] == expected_draw[1]


def test_rewrite_replaces_atomically_and_exports(tmp_path) -> None:
    target = tmp_path / "best"
    for step in (1, 2):
        save_checkpoint(
            target,
            modules={"m": nn.Linear(1, 1)},
            progress=Progress(step=step),
            config={},
            export=lambda path: (path.mkdir(), (path / "weights.txt").write_text("w")),
        )
    assert load_checkpoint(target)["progress"]["step"] == 2
    assert (target / "model" / "weights.txt").read_text() == "w"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no tmp/old leftovers


def test_missing_checkpoint_and_foreign_state(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no training checkpoint at .*nowhere: expected the file"):
        load_checkpoint(tmp_path / "nowhere")
    save_checkpoint(tmp_path / "c", modules={"a": nn.Linear(1, 1)}, progress=Progress(), config={})
    with pytest.raises(ValueError, match="checkpoint has no state for 'b'"):
        restore(load_checkpoint(tmp_path / "c"), {"b": nn.Linear(1, 1)})


def test_config_mismatch_lists_changed_keys() -> None:
    saved = {"method": {"queue_size": 64, "tau_ref": 0.03}, "run": {"output_dir": "a"}}
    now = {"method": {"queue_size": 128, "tau_ref": 0.03}, "run": {"output_dir": "b"}}
    assert config_mismatch(saved, now, ("method",)) == ["method.queue_size: checkpoint 64 vs now 128"]
