"""The eager CUDA kernel of L_SCT: both view terms of :func:`sct.losses.cross_view_loss` in ONE batched pass.

Each view term is the candidate loss of :mod:`sct.losses.candidates` (see there for the arithmetic): online
rows o_v (B, d) scored against ``C_v = [queue_v ; target_v]`` ((k + B), d) with the soft target
``softmax(target_v C_v^T / tau_t)`` (or the one-hot at slot k + i for InfoNCE). Why a paired kernel: on CUDA
the step is launch-bound (measured on an H200, B = 128, d = 128: the per-term plain kernel ran loss + queue
in 1.8 ms vs the naive port's 1.6 ms at k = 16384), and each term launched its own cat, two matmuls, two
scalings, two log_softmax and the divergence, forward and backward. Here the two terms share every launch:

- ``cands = cat(queue_a, target_a, queue_b, target_b)`` viewed as (2, k + B, d): ONE copy; the targets are
  the views ``cands[:, k:]``, so they need no stack of their own;
- the onlines are stacked to (2, B, d) and scored by ``baddbmm(beta=0, alpha=1/tau)``: one batched GEMM per
  side with the temperature folded into the GEMM's alpha (no separate scaling kernel);
- one ``log_softmax`` per side over dim=-1, one product and one sum over the (2, B, k + B) block for the
  divergence (``sum p (log q - log p)`` or ``sum p log q``), one multiply by ``-w / B`` for the weighted sum.
  (A ``dot`` would save the product's launch, but MKL's fp32 ``sdot`` drifts by 1e-4 relative at 10^6
  elements; the tree-reduced ``sum`` stays at 1e-7.)

Same function as the per-term kernels to 1e-5 (tests/losses/test_paired.py); gradients reach the onlines
only (targets and queues are detached constants). Used where :func:`select_pair_kernel` says so: eager CUDA,
i.e. wherever :func:`sct.losses.candidates.select_kernel` picks the plain kernel; CPU keeps the chunked
kernel (fastest there) and ``torch.compile`` the fused one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from sct.losses import candidates
from sct.losses.fused import plain_candidate_loss

PairKernel = Callable[..., Tensor]


def paired_candidate_loss(
    online_a: Tensor,
    online_b: Tensor,
    target_a: Tensor,
    target_b: Tensor,
    queue_a: Tensor | None,
    queue_b: Tensor | None,
    tau_online: float,
    tau_target: float,
    kind: str,
    weight: float,
    dtype: torch.dtype,
) -> Tensor:
    """``weight * term_a + weight * term_b``, each term the mean candidate loss of ``online_v`` (B, d) over
    ``[queue_v ; target_v]`` with the target rows as the batch keys (as :func:`cross_view_loss` scores them).

    Inputs are validated by :func:`paired_loss`; the queues are both None (in-batch) or both (k, d) (possibly
    the same tensor: the one-queue variant). ``dtype`` is the dtype of the logits (fp32 or fp64).
    """
    b, d = online_a.shape
    parts = (target_a, target_b) if queue_a is None else (queue_a, target_a, queue_b, target_b)
    cands = torch.cat([part.detach() for part in parts]).to(dtype).view(2, -1, d)  # (2, k + B, d): [q_v ; t_v]
    n = cands.shape[1]  # k + B
    keys_t = cands.transpose(1, 2)  # (2, d, k + B)
    online = torch.stack((online_a, online_b)).to(dtype)  # (2, B, d), carries the gradient
    ignored = cands.new_empty(())  # baddbmm's addend, ignored at beta = 0 (alpha scales the product alone)
    logit_online = torch.baddbmm(ignored, online, keys_t, beta=0.0, alpha=1.0 / tau_online)  # (2, B, k + B)
    if kind == "infonce":
        labels = torch.arange(n - b, n, device=cands.device).repeat(2)  # (2B,): row i's own key, slot k + i
        mean = F.cross_entropy(logit_online.view(2 * b, n), labels)  # (term_a + term_b) / 2
        return mean if weight == 0.5 else mean * (2.0 * weight)
    logit_target = torch.baddbmm(ignored, cands[:, n - b :], keys_t, beta=0.0, alpha=1.0 / tau_target)  # (2, B, k + B)
    log_q = torch.log_softmax(logit_online, dim=-1)  # (2, B, k + B)
    if kind == "kl":
        log_p = torch.log_softmax(logit_target, dim=-1)  # (2, B, k + B), constant
        # sum_v,i,j p (log q - log p) = -B (KL_a + KL_b); log q first so that its backward is the identity.
        total = (log_p.exp() * (log_q - log_p)).sum()  # ()
    else:
        total = (torch.softmax(logit_target, dim=-1) * log_q).sum()  # (): -B (CE_a + CE_b)
    return total * (-weight / b)


def select_pair_kernel(device: torch.device, compiling: bool | None = None) -> PairKernel | None:
    """device -> the paired kernel, or None for the per-term path (:func:`candidate_loss` per view).

    The paired kernel replaces the plain one: it is used exactly where
    :func:`sct.losses.candidates.select_kernel` picks :func:`plain_candidate_loss` (eager CUDA), so that one
    function decides per device. CPU keeps the chunked kernel (its cache-resident chunks beat any batched
    pass there) and a compiled step keeps the fused kernel (inductor fuses its plain ops anyway).
    """
    chosen = candidates.select_kernel(device) if compiling is None else candidates.select_kernel(device, compiling)
    return paired_candidate_loss if chosen is plain_candidate_loss else None


def pairable(target_a: Tensor, target_b: Tensor, queue_a: Tensor | None, queue_b: Tensor | None) -> bool:
    """Whether the two terms stack: same target shapes and both queues None or both of one shape. Otherwise
    (e.g. one view in-batch, the other with a queue) :func:`cross_view_loss` runs the per-term path."""
    if target_a.shape != target_b.shape:
        return False
    if queue_a is None or queue_b is None:
        return queue_a is None and queue_b is None
    return queue_a.shape == queue_b.shape


def paired_loss(
    kernel: PairKernel,
    online_a: Tensor,
    online_b: Tensor,
    target_a: Tensor,
    target_b: Tensor,
    queue_a: Tensor | None,
    queue_b: Tensor | None,
    *,
    tau_online: float,
    tau_target: float,
    kind: str,
    weight: float,
) -> Tensor:
    """Validate and cast both terms as :func:`candidate_loss` does, then run ``kernel`` (from
    :func:`select_pair_kernel`) with autocast off: the logits are fp32 (fp64 if a target is fp64) even under
    bf16 autocast. Term v scores ``online_v`` against ``[queue_v ; target_v]``; the result is
    ``weight * term_a + weight * term_b``. Callers check :func:`pairable` first."""
    terms = ((online_a, target_a, queue_a), (online_b, target_b, queue_b))
    dtypes = [candidates.check_inputs(o, t, q, t, tau_online, tau_target, kind) for o, t, q in terms]
    dtype = torch.promote_types(*dtypes)
    with torch.autocast(device_type=online_a.device.type, enabled=False):
        return kernel(
            online_a, online_b, target_a, target_b, queue_a, queue_b, tau_online, tau_target, kind, weight, dtype
        )
