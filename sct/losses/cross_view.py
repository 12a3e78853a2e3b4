"""L_SCT: the cross-view distribution loss of SCT (paper §3.2, Eq. 1-2) and its Table 4 variants.

For view v in {1, 2} the candidates are ``C_v = [D_v ; zref_v]`` ((k + B), d): the instance queue D_v plus the
current batch's reference vectors, appended *before* the loss so that each target row contains its own
positive (slot k + i). With SR(z, C, tau) = softmax(z C^T / tau) (all vectors L2-normalised)::

    cross pairing (paper):  L = w * KL(SR(zref_1, C_1, tau_ref) || SR(z_2, C_1, tau_online))
                              + w * KL(SR(zref_2, C_2, tau_ref) || SR(z_1, C_2, tau_online))
    identical pairing:      online view v is scored against C_v with target SR(zref_v, C_v, tau_ref)

KL is ``batchmean``; w = ``view_weight`` (0.5 = the paper's 1/2, 1.0 = the released code's plain sum).
``divergence="ce"`` uses the soft-target cross-entropy -sum p log q instead (Table 4 "KL -> CE").
``objective="contrastive"`` (Table 4 "distribution -> contrastive") is InfoNCE over the same candidates at
``tau_online`` with the positive at the target's slot k + i. ``queue_v=None`` is the in-batch variant (C_v =
zref_v only). For the one-queue variant pass the same queue as ``queue1`` and ``queue2``.

Each term runs through :func:`sct.losses.candidates.candidate_loss` (chunked on CPU, no k x d concatenation);
on eager CUDA both terms run as one batched pass, :func:`sct.losses.paired.paired_candidate_loss` (half the
launches of two per-term calls), wherever :func:`sct.losses.paired.select_pair_kernel` says so.
``benchmarks/naive_loss.py`` keeps the released arithmetic as the reference the tests compare against.
"""

from __future__ import annotations

from typing import Any, get_args

from torch import Tensor

from sct.config import Divergence, Objective, Pairing
from sct.losses import paired
from sct.losses.candidates import Kind, candidate_loss


def _choice(name: str, value: str, alias: Any) -> None:
    """Direct callers pass plain strings: check them against the config's ``Literal`` alias."""
    if value not in get_args(alias):
        raise ValueError(f"{name} has invalid value {value!r}: allowed {list(get_args(alias))}")


def loss_kind(objective: Objective, divergence: Divergence) -> Kind:
    """The candidate-loss kind for an (objective, divergence) pair: "kl", "ce" or "infonce"."""
    _choice("objective", objective, Objective)
    _choice("divergence", divergence, Divergence)
    return "infonce" if objective == "contrastive" else divergence


def cross_view_loss(
    online1: Tensor,
    online2: Tensor,
    target1: Tensor,
    target2: Tensor,
    queue1: Tensor | None,
    queue2: Tensor | None,
    *,
    tau_online: float,
    tau_target: float,
    objective: Objective = "distribution",
    divergence: Divergence = "kl",
    pairing: Pairing = "cross",
    view_weight: float = 0.5,
    chunk: int | None = None,
) -> Tensor:
    """L_SCT as a scalar tensor.

    Args:
        online1, online2: (B, d) L2-normalised online vectors z_1, z_2 (after the head); receive gradients.
        target1, target2: (B, d) L2-normalised reference vectors zref_1, zref_2 (constants).
        queue1, queue2: (k, d) instance queues D_1, D_2 (constants, any row order), or None for in-batch.
        tau_online, tau_target: temperatures tau_theta (online) and tau_ref (target), both > 0.
        objective, divergence, pairing: the Table 4 switches described in the module docstring.
        view_weight: weight w of each view's term (> 0).
        chunk: queue rows scored at once (None: automatic).
    """
    kind = loss_kind(objective, divergence)
    _choice("pairing", pairing, Pairing)
    if view_weight <= 0:
        raise ValueError(f"view_weight must be > 0, got {view_weight}")
    if pairing == "cross":
        scored = ((online2, target1, queue1), (online1, target2, queue2))
    else:
        scored = ((online1, target1, queue1), (online2, target2, queue2))
    (online_a, target_a, queue_a), (online_b, target_b, queue_b) = scored
    kernel = paired.select_pair_kernel(online_a.device)
    if kernel is not None and paired.pairable(target_a, target_b, queue_a, queue_b):
        return paired.paired_loss(
            kernel, online_a, online_b, target_a, target_b, queue_a, queue_b,
            tau_online=tau_online, tau_target=tau_target, kind=kind, weight=view_weight,
        )  # fmt: skip
    terms = [
        candidate_loss(
            online, target, queue, target=target, tau_online=tau_online, tau_target=tau_target, kind=kind, chunk=chunk
        )
        for online, target, queue in scored
    ]
    return view_weight * terms[0] + view_weight * terms[1]
