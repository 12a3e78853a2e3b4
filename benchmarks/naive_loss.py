"""Naive port of the released SCT loss arithmetic (ARLSymLoss_v2): the baseline of the fast path.

Per view: concatenate the batch's reference vectors onto the k x d queue, four einsum matmuls (target and
online logits for each view), softmax of the targets, log_softmax of the online logits, ``kl_div`` with
``batchmean``, then the queue update by slicing ``cat(queue, batch)[B:]`` (a fresh k x d tensor per step).
Extended with the Table 4 switches (CE, InfoNCE, identical pairing, in-batch) written the same direct way,
so that tests can check :func:`sct.losses.cross_view_loss` against it on every variant, and
``benchmarks/step.py`` can time it beside the fast path. Not used by the package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def naive_side(
    online: Tensor,
    target: Tensor,
    queue: Tensor | None,
    *,
    tau_online: float,
    tau_target: float,
    kind: str,
) -> tuple[Tensor, Tensor]:
    """One view's term and its candidates ``cat(queue, target)`` ((k + B), d), as the released code."""
    cands = target.detach() if queue is None else torch.cat((queue, target.detach()))  # (k + B, d)
    logit_target = torch.einsum("nc,ck->nk", target, cands.t().clone().detach())  # (B, k + B)
    logit_online = torch.einsum("nc,ck->nk", online, cands.t().clone().detach())  # (B, k + B)
    if kind == "infonce":
        offset = cands.shape[0] - online.shape[0]
        labels = torch.arange(online.shape[0], device=online.device) + offset  # (B,)
        return F.cross_entropy(logit_online / tau_online, labels), cands
    p = F.softmax(logit_target / tau_target, dim=1).detach()  # (B, k + B)
    log_q = F.log_softmax(logit_online / tau_online, dim=1)  # (B, k + B)
    if kind == "kl":
        return F.kl_div(log_q, p, reduction="batchmean"), cands
    return -(p * log_q).sum(dim=1).mean(), cands


def naive_cross_view_loss(
    online1: Tensor,
    online2: Tensor,
    target1: Tensor,
    target2: Tensor,
    queue1: Tensor | None,
    queue2: Tensor | None,
    *,
    tau_online: float,
    tau_target: float,
    objective: str = "distribution",
    divergence: str = "kl",
    pairing: str = "cross",
    view_weight: float = 0.5,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(loss, new queue1, new queue2): the released step, queues returned as ``cat(queue, batch)[B:]``."""
    kind = "infonce" if objective == "contrastive" else divergence
    b = online1.shape[0]
    if pairing == "cross":
        loss_a, cands1 = naive_side(online2, target1, queue1, tau_online=tau_online, tau_target=tau_target, kind=kind)
        loss_b, cands2 = naive_side(online1, target2, queue2, tau_online=tau_online, tau_target=tau_target, kind=kind)
    else:
        loss_a, cands1 = naive_side(online1, target1, queue1, tau_online=tau_online, tau_target=tau_target, kind=kind)
        loss_b, cands2 = naive_side(online2, target2, queue2, tau_online=tau_online, tau_target=tau_target, kind=kind)
    loss = view_weight * loss_a + view_weight * loss_b
    new1 = None if queue1 is None else cands1[b:]
    new2 = None if queue2 is None else cands2[b:]
    return loss, new1, new2
