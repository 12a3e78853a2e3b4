"""The loss + queue part of the SCT step, one idea at a time (issue 4 §3: "measured one at a time").

Every version computes the same L_SCT (KL, cross pairing, two queues, w = 0.5) and the same queue update as
the naive port of the released arithmetic (``benchmarks/naive_loss.py``); each adds one idea to the previous:

- ``v0_naive``: the port: cat(queue, batch) per view, ``.t().clone()`` of the candidates for each of the four
  einsums, softmax + log_softmax + kl_div, queue update by ``cat(...)[B:]``.
- ``v1_no_clones``: the matmuls read the candidates in place (no transposed copies).
- ``v2_ring_buffer``: the queue is a ring buffer with B spare rows: the batch keys are written into the spare
  rows in place, scoring reads the whole buffer, the enqueue is an in-place row write (no k x d cat).
- ``v3_log_targets``: targets as log-probabilities under no_grad, ``kl_div(..., log_target=True)``.
- ``v4_stacked``: one matmul of the stacked queries [t / tau_t ; o / tau_o] per view (one pass over the queue).
- ``v5_fused``: the custom autograd kernel (``sct.losses.candidate_loss``) as one block (no chunking).
- ``v6_fused_chunked``: the same kernel with its default chunking (the shipped path).
- ``v7_compiled``: ``torch.compile`` of v4 (inductor); its compile time is printed apart.

Before timing, every version's loss and gradients are checked against v0 to 1e-5. Rows are interleaved in
each repeat; medians. Usage::

    python benchmarks/loss_ladder.py [--k 16384 131072] [--repeats 5] [--no-compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from naive_loss import naive_cross_view_loss  # noqa: E402

from sct.losses.candidates import candidate_loss  # noqa: E402

TAU_ONLINE, TAU_TARGET, WEIGHT = 0.04, 0.03, 0.5


def kl_plain(online: Tensor, target: Tensor, cands: Tensor) -> Tensor:
    """v1/v2: the port's arithmetic without the transposed copies."""
    p = F.softmax(target @ cands.T / TAU_TARGET, dim=1).detach()  # (B, n)
    log_q = F.log_softmax(online @ cands.T / TAU_ONLINE, dim=1)  # (B, n)
    return F.kl_div(log_q, p, reduction="batchmean")


def kl_log_targets(online: Tensor, target: Tensor, cands: Tensor) -> Tensor:
    """v3: targets as log-probabilities computed without a graph."""
    with torch.no_grad():
        log_p = F.log_softmax(target @ cands.T / TAU_TARGET, dim=1)  # (B, n)
    log_q = F.log_softmax(online @ cands.T / TAU_ONLINE, dim=1)  # (B, n)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


def kl_stacked(online: Tensor, target: Tensor, cands: Tensor) -> Tensor:
    """v4: one matmul for [t / tau_t ; o / tau_o]; the target half carries no gradient."""
    b = online.shape[0]
    logits = torch.cat((target.detach() / TAU_TARGET, online / TAU_ONLINE)) @ cands.T  # (2B, n)
    log_p = F.log_softmax(logits[:b].detach(), dim=1)  # (B, n)
    log_q = F.log_softmax(logits[b:], dim=1)  # (B, n)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


class Version:
    """One row: a queue layout and a per-view loss. ``step`` = loss, backward, enqueue.

    Layouts: "cat" (the released one: candidates = cat(queue, batch), next queue = candidates[B:]), "ring"
    (a (k + B, d) buffer whose last B rows take the batch keys in place, enqueue = in-place row writes) and
    "blocks" (the fused kernel reads the (k, d) queue and the batch keys as separate blocks).
    """

    def __init__(self, name: str, queues: list[Tensor], b: int, layout: str, side: Callable | None = None, **kw):
        self.name, self.layout, self.side, self.kwargs = name, layout, side, kw
        self.k, self.ptr = queues[0].shape[0], 0
        if layout == "ring":
            self.queues = [torch.cat((q, torch.zeros(b, q.shape[1]))) for q in queues]  # (k + B, d) each
        else:
            self.queues = [q.clone() for q in queues]  # (k, d) each

    def _terms(self, online: list[Tensor], targets: list[Tensor]) -> Tensor:
        pairs = ((online[1], targets[0], 0), (online[0], targets[1], 1))  # cross pairing
        if self.layout == "blocks":
            return sum(
                WEIGHT * candidate_loss(o, t, self.queues[v], target=t, tau_online=TAU_ONLINE, tau_target=TAU_TARGET,
                                        **self.kwargs)
                for o, t, v in pairs
            )  # fmt: skip
        if self.layout == "ring":
            for queue, t in zip(self.queues, targets, strict=True):
                queue[self.k :].copy_(t)  # (B, d) batch keys into the spare rows, in place
            self.cands = self.queues
        else:
            self.cands = [torch.cat((q, t)) for q, t in zip(self.queues, targets, strict=True)]  # (k + B, d) each
        return sum(WEIGHT * self.side(o, t, self.cands[v]) for o, t, v in pairs)

    def step(self, online: list[Tensor], targets: list[Tensor]) -> Tensor:
        if self.side is naive_cross_view_loss:
            loss, *self.queues = naive_cross_view_loss(
                *online, *targets, *self.queues, tau_online=TAU_ONLINE, tau_target=TAU_TARGET, view_weight=WEIGHT
            )
            loss.backward()
            return loss
        loss = self._terms(online, targets)
        loss.backward()
        if self.layout == "cat":
            self.queues = [c[len(targets[0]) :] for c in self.cands]  # released: cat(queue, batch)[B:]
            return loss
        rows = (torch.arange(len(targets[0])) + self.ptr) % self.k  # the oldest rows
        for queue, t in zip(self.queues, targets, strict=True):
            queue[rows] = t  # in place
        self.ptr = (self.ptr + len(targets[0])) % self.k
        return loss


def build(queues: list[Tensor], b: int, compile_v7: bool) -> list[Version]:
    versions = [
        Version("v0_naive", queues, b, "cat", naive_cross_view_loss),
        Version("v1_no_clones", queues, b, "cat", kl_plain),
        Version("v2_ring_buffer", queues, b, "ring", kl_plain),
        Version("v3_log_targets", queues, b, "ring", kl_log_targets),
        Version("v4_stacked", queues, b, "ring", kl_stacked),
        Version("v5_fused", queues, b, "blocks", chunk=queues[0].shape[0]),
        Version("v6_fused_chunked", queues, b, "blocks"),
    ]
    if compile_v7:
        versions.append(Version("v7_compiled", queues, b, "ring", torch.compile(kl_stacked, dynamic=False)))
    return versions


def inputs(b: int, d: int, seed: int) -> tuple[list[Tensor], list[Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    online = [F.normalize(torch.randn(b, d, generator=generator), dim=1).requires_grad_() for _ in range(2)]
    targets = [F.normalize(torch.randn(b, d, generator=generator), dim=1) for _ in range(2)]
    return online, targets


def check(versions: list[Version], b: int, d: int) -> None:
    """Two steps on fresh inputs: every version's loss and gradients equal v0's to 1e-5 (queues evolve too)."""
    for seed in (1, 2):
        reference = None
        for version in versions:
            online, targets = inputs(b, d, seed)
            loss = version.step(online, targets)
            got = (loss.detach(), *(o.grad for o in online))
            if reference is None:
                reference = got
                continue
            for name, a, r in zip(("loss", "grad1", "grad2"), got, reference, strict=True):
                if not torch.allclose(a, r, atol=1e-5, rtol=1e-5):
                    raise AssertionError(f"{version.name} {name} differs from v0 by {(a - r).abs().max():.2e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[16384, 131072])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5 (medians of at least 5 timings), got {args.repeats}")
    b, d = args.batch, args.dim
    print(f"device=cpu dtype=fp32 threads={torch.get_num_threads()} B={b} d={d} repeats={args.repeats}")
    for k in args.k:
        generator = torch.Generator().manual_seed(0)
        queues = [F.normalize(torch.randn(k, d, generator=generator), dim=1) for _ in range(2)]
        versions = build(queues, b, compile_v7=not args.no_compile)
        start = time.perf_counter()
        check(versions, b, d)  # also compiles v7 (first calls)
        print(f"{k:>7} all versions equal v0 to 1e-5 (checked in {time.perf_counter() - start:.1f} s, incl. compile)")
        times: dict[str, list[float]] = {v.name: [] for v in versions}
        for i in range(args.repeats + 1):
            for version in versions:
                online, targets = inputs(b, d, 10 + i)
                begin = time.perf_counter()
                version.step(online, targets)
                if i >= 1:
                    times[version.name].append(1000 * (time.perf_counter() - begin))
        base = statistics.median(times["v0_naive"])
        for name, values in times.items():
            med = statistics.median(values)
            print(
                f"{k:>7} {name:<17} {med:>9.1f} ms  min {min(values):>8.1f}  naive/this {base / med:5.2f}x", flush=True
            )


if __name__ == "__main__":
    main()
