"""The fast kernel behind every SCT loss: a soft-target / InfoNCE loss of online vectors over candidates.

Candidates are ``[queue ; batch_keys]`` ((k + B), d): k queued vectors plus the current batch's keys, so
row i's own positive is the candidate ``k + i``. For online rows o (B, d) and target rows t (B, d)::

    p = softmax(t C^T / tau_t)   (target distribution, constant)     q = softmax(o C^T / tau_o)
    kl:      mean_i KL(p_i || q_i)       ce: mean_i -sum_j p_ij log q_ij       infonce: mean_i -log q_i,k+i

and d loss / d o = (q - p) C / (tau_o B) in all three cases (p = one-hot at k + i for infonce).

Why a custom ``autograd.Function``: the released code concatenates the batch onto the k x d queue,
runs four matmuls, softmax, log_softmax and kl_div, and autograd stores several B x (k+B) tensors and passes
over them again in backward. Here the queue is never concatenated; it is scored in chunks of ``c`` rows
with one matmul of the stacked queries ``[t / tau_t ; o / tau_o]`` (2B, d), so each chunk's logits stay in
cache while their row max, exp (in place), row sum and p-weighted sum are taken; chunks are combined in
log-space. The only thing kept for backward is the chunk of exponentials (2B, c) per chunk; backward turns
each into ``q - p`` in place and accumulates ``(q - p) @ K_chunk``. Per loss that is 3 thin matmuls (the
floor) and one exp per logit; the target and keys are constants (stop-gradient, as in the paper). The batch
block is scored first and its row max (the positive's logit) shifts all log-space sums, which keeps fp32
cancellation below 1e-6 (closer to a float64 evaluation than the naive port). See docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

import torch
from torch import Tensor

from sct.losses.fused import fused_candidate_loss, plain_candidate_loss

Kind = Literal["kl", "ce", "infonce"]
KINDS: tuple[str, ...] = ("kl", "ce", "infonce")

# Elements of one chunk of logits (2B x c fp32 = 16 MiB, c = 16384 at B = 128): fits the shared L3 and keeps
# the op count low; smaller chunks (L2-sized) were no faster here and degrade badly on a contended CPU.
CHUNK_ELEMENTS = 1 << 22


def _chunk_rows(rows: int, chunk: int | None) -> int:
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1 queue rows, got {chunk}")
        return chunk
    return max(256, CHUNK_ELEMENTS // rows)


class _CandidateLoss(torch.autograd.Function):
    """Forward/backward of :func:`candidate_loss`; see the module docstring for the arithmetic."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        online: Tensor,
        target: Tensor | None,
        queue: Tensor | None,
        batch_keys: Tensor,
        tau_online: float,
        tau_target: float,
        kind: str,
        chunk: int | None,
    ) -> Tensor:
        dtype = batch_keys.dtype
        b = online.shape[0]
        query = online.detach().to(dtype) / tau_online  # (B, d)
        if kind != "infonce":
            query = torch.cat((target.detach().to(dtype) / tau_target, query))  # (2B, d): [t ; o]
        rows = query.shape[0]
        # The batch block goes first: its row max (the positive's logit, in practice) is the shift that
        # keeps every log-space sum below O(1) in magnitude, so fp32 cancellation stays at the 1e-7 level.
        blocks = [batch_keys.detach()]
        if queue is not None:
            blocks.extend(queue.detach().split(_chunk_rows(rows, chunk)))
        exps, maxes, sums, weighted = [], [], [], []
        shift = delta = None
        for keys in blocks:
            logits = query @ keys.T  # (R, c): rows [t ; o] scaled by their temperatures
            row_max = logits.amax(dim=1, keepdim=True)  # (R, 1)
            if shift is None:
                shift = row_max  # (R, 1)
                delta = shift[b:] - shift[:b] if kind == "kl" else -shift[b:]  # (B, 1)
            if kind == "kl":
                diff = torch.sub(logits[:b], logits[b:]).add_(delta)  # (B, c): (a - m_a) - (b - m_b)
            elif kind == "ce":
                diff = torch.sub(shift[b:], logits[b:])  # (B, c): -(b - m_b)
            logits.sub_(row_max).exp_()  # (R, c): unnormalised probabilities, in place
            maxes.append(row_max)
            sums.append(logits.sum(dim=1, keepdim=True))  # (R, 1)
            if kind != "infonce":
                weighted.append(diff.mul_(logits[:b]).sum(dim=1, keepdim=True))  # (B, 1)
            exps.append(logits)
        max_all = torch.cat(maxes, dim=1) - shift  # (R, n_blocks), relative to the shift
        lse = torch.logsumexp(max_all + torch.cat(sums, dim=1).log(), dim=1, keepdim=True)  # (R, 1)
        scale = (max_all - lse).exp()  # (R, n_blocks): block j's exps times scale[:, j] = probabilities
        lse_online = lse[-b:, 0]  # (B,): log-partition of the online rows minus their shift
        if kind == "infonce":
            positive = (query * batch_keys).sum(dim=1) - shift[:, 0]  # (B,): o_i . key_i / tau_o - m_b
            per_row = lse_online - positive  # (B,)
        else:
            expected = (scale[:b] * torch.cat(weighted, dim=1)).sum(dim=1)  # (B,): sum_j p_ij diff_ij
            per_row = expected + lse_online - (lse[:b, 0] if kind == "kl" else 0.0)  # (B,)
        ctx.blocks, ctx.exps, ctx.scale, ctx.kind = blocks, exps, scale, kind
        ctx.b, ctx.tau_online, ctx.online_dtype, ctx.used = b, tau_online, online.dtype, False
        return per_row.mean()

    @staticmethod
    def backward(ctx, grad_output: Tensor):  # type: ignore[override]
        if ctx.used:
            raise RuntimeError("candidate_loss backward reuses its buffers in place: backward it only once")
        ctx.used = True
        b, scale = ctx.b, ctx.scale
        grad = torch.zeros(b, ctx.blocks[0].shape[1], dtype=scale.dtype, device=scale.device)  # (B, d)
        for j, (keys, exps) in enumerate(zip(ctx.blocks, ctx.exps, strict=True)):
            q_minus_p = exps[-b:].mul_(scale[-b:, j : j + 1])  # (B, c): q, in place
            if ctx.kind != "infonce":
                q_minus_p.addcmul_(exps[:b], scale[:b, j : j + 1], value=-1.0)  # (B, c): q - p
            grad.addmm_(q_minus_p, keys)  # (B, d)
        if ctx.kind == "infonce":
            grad.sub_(ctx.blocks[0])  # one-hot target at the row's own key, slot k + i
        grad.mul_(grad_output / (ctx.tau_online * b))
        ctx.blocks = ctx.exps = None
        return grad.to(ctx.online_dtype), None, None, None, None, None, None, None


def chunked_candidate_loss(
    online: Tensor,
    target: Tensor | None,
    queue: Tensor | None,
    batch_keys: Tensor,
    tau_online: float,
    tau_target: float,
    kind: str,
    chunk: int | None = None,
) -> Tensor:
    """The chunked CPU kernel (:class:`_CandidateLoss`) with the same signature as the fused one."""
    return _CandidateLoss.apply(online, target, queue, batch_keys, tau_online, tau_target, kind, chunk)


Kernel = Callable[..., Tensor]


# The compiled fused kernel in force for the current step, set by the objective of a compiled run
# (:func:`use_kernel`) and only while its forward runs: another run in the same process is not affected.
_compiled: ContextVar[Kernel | None] = ContextVar("sct_compiled_candidate_kernel", default=None)


def compile_kernel(**options: object) -> Kernel:
    """``torch.compile(fused_candidate_loss, **options)``: the candidate-loss kernel of a compiled step."""
    return torch.compile(fused_candidate_loss, **options)  # type: ignore[call-overload]


@contextmanager
def use_kernel(compiled: Kernel | None) -> Iterator[None]:
    """While active, :func:`select_kernel` returns ``compiled`` (when not None) outside tracing."""
    token = _compiled.set(compiled)
    try:
        yield
    finally:
        _compiled.reset(token)


def select_kernel(device: torch.device, compiling: bool | None = None) -> Kernel:
    """device -> implementation: the chunked kernel on CPU (3.6x the naive port there); on CUDA the plain
    formulation (fewest launches: the chunked kernel ran at 0.53-0.60x naive there and the fused block at
    0.49-0.69x, launch-bound); the fused block whenever ``torch.compile`` traces (``compiling`` None: ask
    ``torch.compiler.is_compiling()``), since its plain ops are what inductor fuses; the compiled fused
    kernel inside :func:`use_kernel`."""
    compiling = torch.compiler.is_compiling() if compiling is None else compiling
    compiled = _compiled.get()
    if compiled is not None and not compiling:
        return compiled
    if compiling:
        return fused_candidate_loss
    return chunked_candidate_loss if device.type == "cpu" else plain_candidate_loss


def check_inputs(
    online: Tensor,
    batch_keys: Tensor,
    queue: Tensor | None,
    target: Tensor | None,
    tau_online: float,
    tau_target: float,
    kind: str,
) -> torch.dtype:
    """Validate one candidate-loss term (raises ValueError) and return the dtype its logits are computed in.

    Shared by :func:`candidate_loss` and the paired kernel (:mod:`sct.losses.paired`) so that both reject the
    same inputs with the same messages and cast alike.
    """
    if kind not in KINDS:
        raise ValueError(f"kind has invalid value {kind!r}: allowed {list(KINDS)}")
    if online.dim() != 2 or batch_keys.shape != online.shape:
        raise ValueError(
            f"online and batch_keys must both be (B, d), got {tuple(online.shape)} and {tuple(batch_keys.shape)}"
        )
    if kind != "infonce" and (target is None or target.shape != online.shape):
        got = None if target is None else tuple(target.shape)
        raise ValueError(f"kind {kind!r} needs target of shape {tuple(online.shape)}, got {got}")
    if queue is not None and (queue.dim() != 2 or queue.shape[1] != online.shape[1]):
        raise ValueError(f"queue must be (k, {online.shape[1]}), got {tuple(queue.shape)}")
    if tau_online <= 0 or tau_target <= 0:
        raise ValueError(f"temperatures must be > 0, got tau_online={tau_online}, tau_target={tau_target}")
    # The logits are computed in fp32 (fp64 stays fp64) even under autocast: at tau = 0.03 the logits span
    # ~66 and bf16 would round them by up to 0.25, which moves a softmax over 10^5 candidates visibly.
    return torch.promote_types(batch_keys.dtype, torch.float32)


def candidate_loss(
    online: Tensor,
    batch_keys: Tensor,
    queue: Tensor | None = None,
    *,
    target: Tensor | None = None,
    tau_online: float,
    tau_target: float = 1.0,
    kind: Kind = "kl",
    chunk: int | None = None,
) -> Tensor:
    """Mean over rows of the loss of ``online`` (B, d) over candidates ``[queue (k, d) ; batch_keys (B, d)]``.

    ``kind`` "kl" / "ce" need ``target`` (B, d) whose softmax over the candidates at ``tau_target`` is the
    soft label; "infonce" uses the one-hot label at row i's own key (slot k + i). Gradients flow to
    ``online`` only. ``chunk`` = queue rows scored at once by the CPU kernel (default: about 16 MiB of
    logits). The kernel is chosen by :func:`select_kernel` from ``online``'s device.
    """
    dtype = check_inputs(online, batch_keys, queue, target, tau_online, tau_target, kind)
    if queue is not None and queue.dtype != dtype:
        queue = queue.to(dtype)
    kernel = select_kernel(online.device)
    with torch.autocast(device_type=online.device.type, enabled=False):
        return kernel(online, target, queue, batch_keys.to(dtype), tau_online, tau_target, kind, chunk)
