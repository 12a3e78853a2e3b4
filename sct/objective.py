"""SCTObjective: the whole SCT training objective, every ablation switch resolved here and only here.

One step (paper §3, Figure 2) for views x_1, x_2 of a batch of B sentences:

- online:    z_v = normalize(h(f(x_v)))          f = the student encoder, h = the MLP head (Identity if none)
- reference: zref_v = normalize(f_ref(x_v))      no head, under ``torch.no_grad`` (stop-gradient). f_ref is f
  itself (``reference="stop_grad"``; train mode = dropout on when ``reference_dropout``, else eval mode for
  that pass) or an EMA copy of f (``reference="momentum"``), updated in :meth:`SCTObjective.update`.
- L_SCT = :func:`sct.losses.cross_view_loss` over candidates [queue ; zref] per view (Table 4 switches:
  objective, divergence, pairing, head, queues two/one/frozen/none).
- Distillation (§3.4, Eq. 3-4): teacher vectors t_v (B, d_t), L2-normalised, are given to ``forward``. The
  distillation loss acts on s_v = normalize(f(x_v)) -- the exported encoder, no head -- with its own queues of
  teacher vectors: L = L_SCT + L_distill (``distill.mode="joint"``) or L_distill alone ("distill_only").

Reading of Eq. 4 when d_s != d_t: the released recipe puts a Dense(d_s -> d_t, tanh) on the student and keeps
it at inference, so the student *encoder* f already ends in that Dense and outputs d_t-dimensional vectors
(``encoder.dim == teacher_dim``). Hence every vector that meets a queue -- online, reference, student and
teacher -- lives in R^{d_t}: the teacher queues of L_CD hold d_t teacher vectors, the SCT queues hold d_t
reference vectors of the projected student, and the head maps R^{d_t} -> R^{d_t}.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sct.config import SCTConfig
from sct.heads import build_head
from sct.losses import cd_loss, ckd_loss, congen_loss, cross_view_loss, mse_loss
from sct.queues import InstanceQueue

BATCH_KEYS = ("input_ids_1", "attention_mask_1", "input_ids_2", "attention_mask_2")


@dataclass
class StepOutput:
    """What one forward returns: the scalar loss, its parts as floats, detached keys to enqueue per queue."""

    loss: Tensor
    parts: dict[str, float] = field(default_factory=dict)
    keys: dict[str, Tensor] = field(default_factory=dict)


def _queue_names(queues: str, prefix: str) -> tuple[str | None, str | None]:
    """Queue names read for view 1 and view 2 candidates under the ``method.queues`` switch."""
    if queues == "none":
        return None, None
    if queues == "one":
        return prefix, prefix
    return f"{prefix}_1", f"{prefix}_2"


class SCTObjective(nn.Module):
    """Head, instance queues and EMA copy of SCT; ``forward`` computes the loss, ``update`` the queues/EMA.

    Args:
        cfg: the run configuration; ``cfg.method`` and ``cfg.distill`` select the variant.
        encoder: the student (``forward(ids, mask) -> (B, dim)``, ``.dim``); copied when momentum is on.
        teacher_dim: the teacher's output width when distilling; must equal ``encoder.dim``.
        seed: seeds the random unit-vector initialisation of the queues.
    """

    def __init__(self, cfg: SCTConfig, encoder: nn.Module, *, teacher_dim: int | None = None, seed: int = 0) -> None:
        super().__init__()
        method, distill = cfg.method, cfg.distill
        dim = int(encoder.dim)
        if cfg.distilling and teacher_dim is not None and teacher_dim != dim:
            raise ValueError(
                f"teacher_dim={teacher_dim} != encoder.dim={dim}: build the student with "
                f"projection_dim={teacher_dim} (the Dense(d_s -> d_t) of §3.4)"
            )
        self.method = method
        self.distill_loss = distill.loss if cfg.distilling else None
        self.use_sct = not (cfg.distilling and distill.mode == "distill_only")
        # The Table 4 switches, shared by L_SCT and L_CD (Table 6 applies the same switches under distillation).
        self.switches = {
            "tau_online": method.tau_online,
            "objective": method.objective,
            "divergence": method.divergence,
            "pairing": method.pairing,
            "view_weight": method.view_weight,
        }
        self.head = build_head(method, dim) if self.use_sct else nn.Identity()
        self.updates_queues = method.queues != "frozen"
        self.queues = nn.ModuleDict()
        generator = torch.Generator().manual_seed(seed)
        self.sct_names = _queue_names(method.queues, "queue") if self.use_sct else (None, None)
        if self.distill_loss in ("congen", "ckd"):
            one = "teacher" if method.queues != "none" else None
            self.teacher_names: tuple[str | None, str | None] = (one, one)
        elif self.distill_loss == "cd":
            self.teacher_names = _queue_names(method.queues, "teacher")
        else:
            self.teacher_names = (None, None)
        for name in dict.fromkeys(self.sct_names + self.teacher_names):
            if name is not None:
                self.queues[name] = InstanceQueue(method.queue_size, dim, generator=generator)
        self.ema_encoder: nn.Module | None = None
        if self.use_sct and method.reference == "momentum":
            self.ema_encoder = copy.deepcopy(encoder).requires_grad_(False)

    def _queue(self, name: str | None) -> Tensor | None:
        return None if name is None else self.queues[name].vectors

    @torch.no_grad()
    def _reference(self, encoder: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """zref_1, zref_2 (B, d): normalised reference vectors (no head, no graph)."""
        ref = self.ema_encoder if self.ema_encoder is not None else encoder
        was_training = ref.training
        ref.train(self.method.reference_dropout and self.training)
        try:
            r1 = ref(batch["input_ids_1"], batch["attention_mask_1"])  # (B, d)
            r2 = ref(batch["input_ids_2"], batch["attention_mask_2"])  # (B, d)
        finally:
            ref.train(was_training)
        return F.normalize(r1.float(), dim=1), F.normalize(r2.float(), dim=1)

    def forward(
        self, encoder: nn.Module, batch: dict[str, Tensor], teacher: tuple[Tensor, Tensor] | None = None
    ) -> StepOutput:
        """The loss of one batch (keys input_ids_1/2, attention_mask_1/2 (B, L)); teacher = (t1, t2) (B, d_t)."""
        missing = [key for key in BATCH_KEYS if key not in batch]
        if missing:
            raise ValueError(f"batch is missing keys {missing}: expected {list(BATCH_KEYS)}")
        if self.distill_loss is not None and teacher is None:
            raise ValueError(f"distill.loss={self.distill_loss!r} needs teacher vectors (t1, t2), got None")
        x1 = encoder(batch["input_ids_1"], batch["attention_mask_1"])  # (B, d)
        x2 = encoder(batch["input_ids_2"], batch["attention_mask_2"])  # (B, d)
        loss = x1.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        keys: dict[str, Tensor] = {}
        if self.use_sct:
            z1 = F.normalize(self.head(x1).float(), dim=1)  # (B, d)
            z2 = F.normalize(self.head(x2).float(), dim=1)  # (B, d)
            r1, r2 = self._reference(encoder, batch)  # (B, d) each, constants
            q1, q2 = (self._queue(name) for name in self.sct_names)
            loss_sct = cross_view_loss(z1, z2, r1, r2, q1, q2, tau_target=self.method.tau_ref, **self.switches)
            loss = loss + loss_sct
            parts["loss_sct"] = float(loss_sct.detach())
            keys.update(self._keys(self.sct_names, r1, r2))
        if self.distill_loss is not None:
            t1, t2 = (t.detach().float() for t in teacher)  # (B, d) each
            s1, s2 = F.normalize(x1.float(), dim=1), F.normalize(x2.float(), dim=1)  # (B, d) each
            loss_distill = self._distill(s1, s2, t1, t2)
            loss = loss + loss_distill
            parts["loss_distill"] = float(loss_distill.detach())
            second = t2 if self.distill_loss == "cd" else t1  # ConGen/CKD queue view-1 teacher vectors only
            keys.update(self._keys(self.teacher_names, t1, second))
        parts["loss"] = float(loss.detach())
        if not self.updates_queues:
            keys = {}
        return StepOutput(loss=loss, parts=parts, keys=keys)

    def _distill(self, s1: Tensor, s2: Tensor, t1: Tensor, t2: Tensor) -> Tensor:
        m = self.method
        q1, q2 = (self._queue(name) for name in self.teacher_names)
        if self.distill_loss == "cd":
            return cd_loss(s1, s2, t1, t2, q1, q2, tau_teacher=m.tau_ref, **self.switches)
        if self.distill_loss == "mse":
            return mse_loss(s1, s2, t1, t2)
        if self.distill_loss == "congen":
            return congen_loss(s1, s2, t1, q1, tau_online=m.tau_online, tau_teacher=m.tau_ref)
        return ckd_loss(s1, s2, t1, t2, q1, tau=m.tau_online)

    @staticmethod
    def _keys(names: tuple[str | None, str | None], k1: Tensor, k2: Tensor) -> dict[str, Tensor]:
        """Keys to enqueue: per-view queues get their view; one shared queue gets view 1 then view 2."""
        first, second = names
        if first is None:
            return {}
        if first == second:
            if k1 is k2:  # ConGen / CKD: one queue of view-1 teacher vectors
                return {first: k1.detach()}
            return {first: torch.cat((k1, k2)).detach()}  # (2B, d)
        return {first: k1.detach(), second: k2.detach()}  # type: ignore[dict-item]

    @torch.no_grad()
    def update(self, out: StepOutput, encoder: nn.Module) -> None:
        """After ``optimizer.step()``: enqueue ``out.keys`` and move the EMA copy, ema = m ema + (1 - m) f."""
        for name, keys in out.keys.items():
            self.queues[name].enqueue(keys)
        if self.ema_encoder is not None:
            m = self.method.momentum
            ema = [p for p in self.ema_encoder.parameters()]
            online = [p.detach() for p in encoder.parameters()]
            if len(ema) != len(online):
                raise ValueError("update() got an encoder whose parameters do not match the EMA copy")
            torch._foreach_mul_(ema, m)
            torch._foreach_add_(ema, online, alpha=1.0 - m)
