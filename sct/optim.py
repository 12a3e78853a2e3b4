"""Optimiser, learning-rate schedule and numeric precision of a training run (paper §4.1).

The paper trains with sentence-transformers' ``fit``: AdamW (eps 1e-6, weight decay 0.01 on every weight but
biases and LayerNorm), a linear warm-up over the first 10% of steps, then a linear decay to zero, and gradient
clipping at norm 1.0. The MLP head is optimised with the encoder. AMP (bf16, else fp16) runs on CUDA; CPU runs
in fp32 unless a precision is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from sct.config import OptimConfig
from sct.step import Compilation

_NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm.weight", "norm.weight")


def parameter_groups(modules: Iterable[nn.Module], weight_decay: float) -> list[dict]:
    """Two AdamW groups over the trainable parameters of ``modules``: decayed weights, undecayed rest."""
    decay, no_decay, seen = [], [], set()
    for module in modules:
        for name, param in module.named_parameters():
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            exempt = param.ndim < 2 or any(name.endswith(suffix) for suffix in _NO_DECAY)
            (no_decay if exempt else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(modules: Iterable[nn.Module], cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups`; the fused CUDA kernel (one launch per step, not one per tensor
    group) when every parameter is already on CUDA, the default foreach implementation otherwise."""
    groups = parameter_groups(modules, cfg.weight_decay)
    params = [p for group in groups for p in group["params"]]
    fused = bool(params) and all(p.is_cuda for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.adam_eps, fused=fused or None)


def batches_per_epoch(num_examples: int, cfg: OptimConfig) -> int:
    """ceil(N / B): the last smaller batch is kept. A compiled step (``optim.compile``) drops it instead
    (floor(N / B), at least 1): its shape would compile, and with CUDA graphs record, graphs of its own; the
    order is reshuffled every epoch, so the dropped < B sentences differ from epoch to epoch."""
    if Compilation.of(cfg).drop_last:
        return max(1, num_examples // cfg.batch_size)
    return math.ceil(num_examples / cfg.batch_size)


def total_steps(num_examples: int, cfg: OptimConfig) -> int:
    """Optimiser steps of the run: epochs × :func:`batches_per_epoch`, capped by max_steps."""
    steps = cfg.epochs * batches_per_epoch(num_examples, cfg)
    return min(steps, cfg.max_steps) if cfg.max_steps is not None else steps


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig, steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = math.ceil(cfg.warmup_ratio * steps)
    return get_linear_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=steps)


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("config key 'run.device' has invalid value 'cuda': no CUDA device is available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. ``auto``: bf16 (else fp16) on CUDA, fp32 on CPU."""
    if name == "fp32" or (name == "auto" and device.type != "cuda"):
        return None
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if name == "fp16" and device.type != "cuda":
        raise ValueError("config key 'optim.precision' has invalid value 'fp16': fp16 needs a CUDA device")
    return torch.bfloat16 if name == "bf16" else torch.float16
