"""Pieces of the training step that decide its speed on CUDA: compilation, bucketed shapes, loss guarding.

- :class:`Compilation`: ``optim.compile`` read once, and all it implies: bucketed widths, the smaller last
  batch dropped, the compiled pieces, one CUDA-graph generation per step.
- :func:`compile_step`: ``torch.compile`` of encoder, head and loss kernel (the fused plain-op form, see
  :func:`sct.losses.candidates.select_kernel`). ``dynamic=False``: every batch is padded to a width bucket
  (:data:`BUCKET` tokens, :meth:`sct.data.tokenized.PairDataset.batch`), so the graphs are few (widths x
  {B, the last smaller B}) and static, which is what CUDA graphs need. The queue enqueue, EMA update and
  optimizer step stay eager, outside the graph (the queue is read by the graph, written after it).
- :class:`LossGuard`: the divergence check without a host sync per step. On CPU the loss is read every step
  (free there) and a NaN/inf raises before any weight changes. On CUDA the finiteness is
  accumulated on the device and read every :data:`CHECK_EVERY` steps: a diverged run then stops at most
  that many steps late (its weights are already NaN; nothing is saved from those steps).
- :class:`Feeder`: host -> device copies through reusable pinned buffers, non-blocking.
- :func:`graph_count`: how many graphs dynamo has compiled in this process, logged when it changes, so a
  recompilation per batch would show in the log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from sct.config import CompileMode, OptimConfig

log = logging.getLogger(__name__)

BUCKET = 16  # token widths are padded up to a multiple of this when the step is compiled
CHECK_EVERY = 16  # CUDA: steps between host reads of the accumulated finiteness flag


@dataclass(frozen=True)
class Compilation:
    """Whether the training step is compiled (``optim.compile``, in ``mode``) and what that changes."""

    enabled: bool
    mode: CompileMode = "default"

    @classmethod
    def of(cls, cfg: OptimConfig) -> Compilation:
        return cls(cfg.compile, cfg.compile_mode)

    @property
    def bucket(self) -> int | None:
        """Token widths are padded to a multiple of this (static shapes), None: to the longest row."""
        return BUCKET if self.enabled else None

    @property
    def drop_last(self) -> bool:
        """Whether an epoch drops its smaller last batch (:func:`sct.optim.batches_per_epoch`)."""
        return self.enabled

    def apply(self, encoder: nn.Module, objective: nn.Module) -> None:
        """Compile the step's pieces in place (:func:`compile_step`) when enabled."""
        if self.enabled:
            compile_step(encoder, objective, self.mode)

    def begin_step(self) -> None:
        """Before a compiled forward: one step is one CUDA-graph generation."""
        if self.enabled:
            torch.compiler.cudagraph_mark_step_begin()


def compile_step(encoder: nn.Module, objective: nn.Module, mode: CompileMode = "default") -> None:
    """Compile the step's pieces in place, static shapes: encoder, head and the candidate-loss kernel.

    In place (``nn.Module.compile``): parameter names and checkpoints are unchanged. The objective's own
    Python (reference pass switching train/eval, ``float()`` reads of the loss parts) stays eager between the
    compiled pieces instead of breaking one big graph in many places. ``mode`` is ``optim.compile_mode``:
    "default" (inductor fusion, compiles in seconds), "reduce-overhead" (+ CUDA graphs; graph outputs we
    keep, the loss, are cloned by :class:`LossGuard`, since a replay overwrites them) or
    "max-autotune-no-cudagraphs" (GEMM autotuning, minutes of compile).
    """
    from sct.losses import candidates

    options = {"dynamic": False, "mode": None if mode == "default" else mode}
    # Graphs per compiled module: widths x {B, last B} x {online (grad), reference (no grad)}: 8 at the
    # default max_length 32, more for longer inputs; torch's default limit (8) would fall back to eager.
    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), 64))
    encoder.compile(**options)
    head = getattr(objective, "head", None)
    if isinstance(head, nn.Module) and any(True for _ in head.parameters()):
        head.compile(**options)
    objective.compiled_kernel = candidates.compile_kernel(**options)


def graph_count() -> int:
    """Graphs compiled by dynamo so far in this process (``counters["stats"]["unique_graphs"]``)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


class Feeder:
    """Host -> device copies of the training batches: pinned, non-blocking, no allocation per step.

    On CUDA each host tensor is copied into a page-locked buffer that is allocated once (grown when a batch
    is larger) and reused, then sent with ``non_blocking=True``: the copy is a DMA that does not make the host
    wait, so the host gathers the next batch while the device still runs the current step (that is the
    prefetch: nothing in the loop synchronises per step). ``pin_memory()`` on each fresh batch instead
    allocated page-locked memory every step (cudaHostAlloc), which measured slower than not pinning at all.
    ``slots`` buffer sets take turns; before a set is refilled, the event recorded after its last copies is
    waited on, so a buffer is never overwritten while a DMA still reads it. On CPU the batch is returned as is;
    ``stage=True`` stages it anyway (in unpinned buffers), so that the buffer logic is testable without a GPU.
    """

    def __init__(self, device: torch.device, *, slots: int = 2, stage: bool | None = None) -> None:
        self.device, self.cuda = device, device.type == "cuda"
        self.stage = self.cuda if stage is None else stage
        self.buffers: list[dict[str, Tensor]] = [{} for _ in range(slots)]
        self.events = [torch.cuda.Event() for _ in range(slots)] if self.cuda else []  # one per slot, reused
        self.turn = 0

    def __call__(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if not self.stage:
            return batch
        slot = self.turn % len(self.buffers)
        self.turn += 1
        if self.cuda:  # this set's last copies have left the buffers (long since, in practice; a no-op at first)
            self.events[slot].synchronize()
        buffers, out = self.buffers[slot], {}
        for key, value in batch.items():
            buffer = buffers.get(key)
            if buffer is None or buffer.dtype != value.dtype or buffer.numel() < value.numel():
                buffer = buffers[key] = torch.empty(value.numel(), dtype=value.dtype, pin_memory=self.cuda)
            staged = buffer[: value.numel()].view(value.shape)
            staged.copy_(value)
            out[key] = staged.to(self.device, non_blocking=True) if self.cuda else staged
        if self.cuda:
            self.events[slot].record()
        return out


class LossGuard:
    """Raise ``FloatingPointError`` on a NaN/inf loss; see the module docstring for the per-device policy."""

    def __init__(self, device: torch.device, every: int = CHECK_EVERY) -> None:
        self.device, self.every = device, every
        self.bad: Tensor | None = None  # (,) bool on the device: any non-finite loss since the last read
        self.graphs = 0

    def check(self, loss: Tensor, step: int, hint: str, *, read: bool = False) -> float | Tensor:
        """The loss of ``step``: a float on CPU (checked now), a detached device scalar on CUDA (read every
        ``every`` steps, and when ``read``: the trainer asks at evaluation steps, so nothing diverged is
        scored or saved)."""
        if self.device.type != "cuda":
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"loss is {value} at step {step}: training diverged {hint}")
            if step % self.every == 0:
                self.log_graphs(step)
            return value
        loss = loss.detach().clone()  # (,) a CUDA-graph output buffer is reused by the next replay
        bad = ~torch.isfinite(loss)
        self.bad = bad if self.bad is None else self.bad | bad
        if read or step % self.every == 0:
            self.flush(step, hint)
        return loss

    def flush(self, step: int, hint: str) -> None:
        """Read the accumulated flag (one host sync) and log new compiled graphs."""
        if self.bad is not None and bool(self.bad):
            raise FloatingPointError(
                f"loss is not finite at or before step {step} (checked every {self.every}): training diverged {hint}"
            )
        self.bad = None
        self.log_graphs(step)

    def log_graphs(self, step: int) -> None:
        """Log dynamo's compiled-graph count when it changed: a count growing with the steps = recompiles."""
        graphs = graph_count()
        if graphs != self.graphs:
            log.info("torch.compile: %d graphs compiled so far (step %d)", graphs, step)
            self.graphs = graphs
