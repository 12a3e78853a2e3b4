"""AdamW groups (no decay on bias/LayerNorm), warm-up + linear decay, device/precision resolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sct.config import OptimConfig
from sct.optim import (
    batches_per_epoch,
    build_optimizer,
    build_scheduler,
    parameter_groups,
    resolve_precision,
    total_steps,
)


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Linear(4, 4)
        self.LayerNorm = nn.LayerNorm(4)


def test_bias_and_layernorm_are_not_decayed() -> None:
    block, head = _Block(), nn.Linear(4, 2)
    decay, no_decay = parameter_groups([block, head, block], weight_decay=0.01)  # block twice: deduplicated
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(block.dense.weight), id(head.weight)}
    assert len(no_decay["params"]) == 4  # dense.bias, LayerNorm.weight, LayerNorm.bias, head.bias


def test_frozen_parameters_are_left_out() -> None:
    frozen = nn.Linear(3, 3).requires_grad_(False)
    groups = parameter_groups([frozen, nn.Linear(3, 3)], weight_decay=0.01)
    assert sum(len(g["params"]) for g in groups) == 2


def test_total_steps_keeps_the_last_smaller_batch() -> None:
    assert total_steps(10, OptimConfig(batch_size=4, epochs=3)) == 9
    assert total_steps(10, OptimConfig(batch_size=4, epochs=3, max_steps=5)) == 5


@pytest.mark.parametrize(
    ("n", "batch", "compile", "batches"),
    [(10, 4, False, 3), (10, 4, True, 2), (8, 4, True, 2), (3, 4, True, 1), (3, 4, False, 1)],
)
def test_a_compiled_step_drops_the_smaller_last_batch(n: int, batch: int, compile: bool, batches: int) -> None:
    cfg = OptimConfig(batch_size=batch, epochs=2, compile=compile)
    assert batches_per_epoch(n, cfg) == batches and total_steps(n, cfg) == 2 * batches


def test_warmup_then_linear_decay() -> None:
    cfg = OptimConfig(lr=1.0, warmup_ratio=0.1)
    optimizer = build_optimizer([nn.Linear(2, 2)], cfg)
    assert optimizer.defaults["eps"] == 1e-6
    scheduler = build_scheduler(optimizer, cfg, steps=100)
    lrs = []
    for _ in range(100):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert lrs[55] == pytest.approx(0.5) and lrs[-1] == pytest.approx(1 / 90)


def test_precision_resolution_on_cpu() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) is None and resolve_precision("fp32", cpu) is None
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="'optim.precision' has invalid value 'fp16': fp16 needs a CUDA device"):
        resolve_precision("fp16", cpu)


def test_adamw_is_fused_only_when_every_parameter_is_on_cuda() -> None:
    assert not build_optimizer([nn.Linear(2, 2)], OptimConfig()).defaults["fused"]
    if torch.cuda.is_available():
        assert build_optimizer([nn.Linear(2, 2).cuda()], OptimConfig()).defaults["fused"]
