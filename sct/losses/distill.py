"""Distillation losses of SCT (paper §3.4, Eq. 3-4) and of its Table 7 comparison.

All take the student's L2-normalised *encoder* vectors s_1, s_2 (B, d_t) -- the exported encoder, after the
Dense(d_s -> d_t) when dims differ, without the online head -- and the frozen teacher's L2-normalised vectors
t_1, t_2 (B, d_t). Teacher vectors and teacher queues are constants: no gradient ever reaches them.

- L_CD (:func:`cd_loss`): the cross-view distribution loss of :mod:`sct.losses.cross_view` with teacher
  vectors as targets and queues of teacher vectors: KL(SR(t_1, [D_1 ; t_1], tau_ref) || SR(s_2, ., tau_online))
  and symmetrically, weighted by ``view_weight``.
- L_MSE (:func:`mse_loss`): mean over the two views of the element-mean squared error ||s_v - t_v||^2 / d.
- L_ConGen (:func:`congen_loss`): one queue of teacher view-1 vectors; the teacher distribution
  p = SR(t_1, [D ; t_1], tau_teacher) is the soft label of both student views,
  L = 1/2 (CE(p, SR(s_1, ., tau_online)) + CE(p, SR(s_2, ., tau_online))).
- L_CKD (:func:`ckd_loss`): contrastive distillation, InfoNCE of student view v over [D ; t_v] with its own
  teacher vector t_v (slot k + i) as the positive, averaged over the two views.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sct.config import Divergence, Objective, Pairing
from sct.losses.candidates import candidate_loss
from sct.losses.cross_view import cross_view_loss


def _same_shapes(**tensors: Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1 or next(iter(tensors.values())).dim() != 2:
        raise ValueError(f"student and teacher vectors must all be (B, d) with one shape, got {shapes}")


def cd_loss(
    s1: Tensor,
    s2: Tensor,
    t1: Tensor,
    t2: Tensor,
    queue1: Tensor | None,
    queue2: Tensor | None,
    *,
    tau_online: float,
    tau_teacher: float,
    pairing: Pairing = "cross",
    divergence: Divergence = "kl",
    objective: Objective = "distribution",
    view_weight: float = 0.5,
    chunk: int | None = None,
) -> Tensor:
    """L_CD: :func:`~sct.losses.cross_view.cross_view_loss` with teacher targets and teacher queues (k, d_t)."""
    _same_shapes(s1=s1, s2=s2, t1=t1, t2=t2)
    return cross_view_loss(
        s1,
        s2,
        t1.detach(),
        t2.detach(),
        queue1,
        queue2,
        tau_online=tau_online,
        tau_target=tau_teacher,
        objective=objective,
        divergence=divergence,
        pairing=pairing,
        view_weight=view_weight,
        chunk=chunk,
    )


def mse_loss(s1: Tensor, s2: Tensor, t1: Tensor, t2: Tensor) -> Tensor:
    """L_MSE: ``(mse(s1, t1) + mse(s2, t2)) / 2`` with the mean over all B x d elements (sentence-transformers'
    MSELoss); inputs are re-normalised so the loss compares directions as the other losses do."""
    _same_shapes(s1=s1, s2=s2, t1=t1, t2=t2)
    s1, s2 = F.normalize(s1, dim=1), F.normalize(s2, dim=1)  # (B, d) each
    return 0.5 * (F.mse_loss(s1, t1.detach()) + F.mse_loss(s2, t2.detach()))


def congen_loss(
    s1: Tensor,
    s2: Tensor,
    t1: Tensor,
    queue: Tensor | None,
    *,
    tau_online: float,
    tau_teacher: float,
    chunk: int | None = None,
) -> Tensor:
    """L_ConGen: soft-target CE of both student views against SR(t_1, [queue ; t_1], tau_teacher), averaged."""
    _same_shapes(s1=s1, s2=s2, t1=t1)
    t1 = t1.detach()
    terms = [
        candidate_loss(s, t1, queue, target=t1, tau_online=tau_online, tau_target=tau_teacher, kind="ce", chunk=chunk)
        for s in (s1, s2)
    ]
    return 0.5 * (terms[0] + terms[1])


def ckd_loss(
    s1: Tensor,
    s2: Tensor,
    t1: Tensor,
    t2: Tensor,
    queue: Tensor | None,
    *,
    tau: float,
    chunk: int | None = None,
) -> Tensor:
    """L_CKD: InfoNCE of s_v over [queue ; t_v] at ``tau``, positive = its own teacher vector; view mean."""
    _same_shapes(s1=s1, s2=s2, t1=t1, t2=t2)
    terms = [
        candidate_loss(s, t.detach(), queue, tau_online=tau, kind="infonce", chunk=chunk)
        for s, t in ((s1, t1), (s2, t2))
    ]
    return 0.5 * (terms[0] + terms[1])
