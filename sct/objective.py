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
  Each loss kind is declared once in :data:`DISTILL_LOSSES` (function, queue layout). The Table 4 switches
  ablate L_SCT only (Table 6, §5.4.1); L_distill keeps the default recipe unless ``distill.ablate_cd``.

Reading of Eq. 4 when d_s != d_t: the released recipe puts a Dense(d_s -> d_t, tanh) on the student and keeps
it at inference, so the student *encoder* f already ends in that Dense and outputs d_t-dimensional vectors
(``encoder.dim == teacher_dim``). Hence every vector that meets a queue -- online, reference, student and
teacher -- lives in R^{d_t}: the teacher queues of L_CD hold d_t teacher vectors, the SCT queues hold d_t
reference vectors of the projected student, and the head maps R^{d_t} -> R^{d_t}.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sct.config import DistillLoss, MethodConfig, Queues, SCTConfig
from sct.heads import build_head
from sct.losses import cd_loss, ckd_loss, congen_loss, cross_view_loss, mse_loss
from sct.losses.candidates import Kernel, use_kernel
from sct.queues import InstanceQueue

BATCH_KEYS = ("input_ids_1", "attention_mask_1", "input_ids_2", "attention_mask_2")
CD_SWITCHES = ("objective", "divergence", "pairing", "queues")
"""The ``method`` switches that L_CD would share; without ``distill.ablate_cd`` it keeps their defaults."""

Layout = Literal["views", "view1", "none"]
"""Queue layout: "views" follows ``method.queues`` (two per-view queues, one shared, none) with each view's keys;
"view1" is one queue of view-1 keys (ConGen, CKD); "none" has no queue (MSE)."""

Pair = tuple[Tensor, Tensor]
DistillFn = Callable[[Pair, Pair, tuple[Tensor | None, Tensor | None], MethodConfig], Tensor]
"""(s_1, s_2) (B, d), (t_1, t_2) (B, d), teacher queues (k, d) or None, method -> scalar loss."""


def _cd(s: Pair, t: Pair, q: tuple[Tensor | None, Tensor | None], m: MethodConfig) -> Tensor:
    return cd_loss(
        *s,
        *t,
        *q,
        tau_online=m.tau_online,
        tau_teacher=m.tau_ref,
        view_weight=m.view_weight,
        objective=m.objective,
        divergence=m.divergence,
        pairing=m.pairing,
    )


def _congen(s: Pair, t: Pair, q: tuple[Tensor | None, Tensor | None], m: MethodConfig) -> Tensor:
    return congen_loss(*s, t[0], q[0], tau_online=m.tau_online, tau_teacher=m.tau_ref)


DISTILL_LOSSES: dict[DistillLoss, tuple[DistillFn, Layout]] = {
    "cd": (_cd, "views"),
    "mse": (lambda s, t, q, m: mse_loss(*s, *t), "none"),
    "congen": (_congen, "view1"),
    "ckd": (lambda s, t, q, m: ckd_loss(*s, *t, q[0], tau=m.tau_online), "view1"),
}
"""Each distillation loss kind once: its function and the layout of its teacher queues."""


@dataclass(frozen=True)
class QueuePlan:
    """Which queue each view's candidates read, and which views' keys each queue receives (in order)."""

    reads: tuple[str | None, str | None] = (None, None)
    writes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def keys(self, k1: Tensor, k2: Tensor) -> dict[str, Tensor]:
        """Detached keys to enqueue: per queue, its views' (B, d) keys concatenated to (n B, d)."""
        views = (k1, k2)
        return {name: torch.cat([views[v] for v in order]).detach() for name, order in self.writes.items()}


def queue_plan(queues: Queues, prefix: str, layout: Layout = "views") -> QueuePlan:
    """The queues of one loss under the ``method.queues`` switch ("frozen": two queues, never written)."""
    if queues == "none" or layout == "none":
        return QueuePlan()
    if layout == "view1":
        return QueuePlan((prefix, prefix), {} if queues == "frozen" else {prefix: (0,)})
    if queues == "one":
        return QueuePlan((prefix, prefix), {prefix: (0, 1)})
    first, second = f"{prefix}_1", f"{prefix}_2"
    return QueuePlan((first, second), {} if queues == "frozen" else {first: (0,), second: (1,)})


@dataclass
class StepOutput:
    """One forward: the scalar loss, its parts as detached 0-d tensors (no host sync), keys to enqueue."""

    loss: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)
    keys: dict[str, Tensor] = field(default_factory=dict)


class SCTObjective(nn.Module):
    """Head, instance queues and EMA copy of SCT; ``forward`` computes the loss, ``update`` the queues/EMA.

    Args:
        cfg: the run configuration; ``cfg.method`` and ``cfg.distill`` select the variant.
        encoder: the student (``forward(ids, mask) -> (B, dim)``, ``.dim``); copied when momentum is on.
        teacher_dim: the teacher's output width when distilling; must equal ``encoder.dim``.
        seed: seeds the random unit-vector initialisation of the queues (SCT and teacher queues apart, so
            a switch of one loss leaves the other's initial queues as they are).
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
        self.use_sct = not (cfg.distilling and distill.mode == "distill_only")
        self.distill_loss: DistillLoss | None = distill.loss if cfg.distilling else None
        defaults = {name: MethodConfig.__dataclass_fields__[name].default for name in CD_SWITCHES}
        self.distill_method = method if distill.ablate_cd else dataclasses.replace(method, **defaults)
        self.head = build_head(method, dim) if self.use_sct else nn.Identity()
        self.sct_plan = queue_plan(method.queues, "queue") if self.use_sct else QueuePlan()
        self.teacher_plan = QueuePlan()
        if self.distill_loss is not None:
            layout = DISTILL_LOSSES[self.distill_loss][1]
            self.teacher_plan = queue_plan(self.distill_method.queues, "teacher", layout)
        self.queues = nn.ModuleDict()
        for offset, plan in enumerate((self.sct_plan, self.teacher_plan)):
            generator = torch.Generator().manual_seed(seed + offset)
            for name in dict.fromkeys(plan.reads):
                if name is not None:
                    self.queues[name] = InstanceQueue(method.queue_size, dim, generator=generator)
        self.ema_encoder: nn.Module | None = None
        if self.use_sct and method.reference == "momentum":
            self.ema_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.compiled_kernel: Kernel | None = None  # set by sct.step.compile_step: the loss kernel of this run

    def _read(self, plan: QueuePlan) -> tuple[Tensor | None, Tensor | None]:
        first, second = (None if name is None else self.queues[name].vectors for name in plan.reads)
        return first, second

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

    def sct_loss(self, z1: Tensor, z2: Tensor, r1: Tensor, r2: Tensor) -> Tensor:
        """L_SCT of online z_v and reference zref_v (B, d) over this objective's queues and switches."""
        m = self.method
        q1, q2 = self._read(self.sct_plan)  # (k, d) each or None
        return cross_view_loss(
            z1,
            z2,
            r1,
            r2,
            q1,
            q2,
            tau_online=m.tau_online,
            tau_target=m.tau_ref,
            view_weight=m.view_weight,
            objective=m.objective,
            divergence=m.divergence,
            pairing=m.pairing,
        )

    def forward(
        self, encoder: nn.Module, batch: dict[str, Tensor], teacher: tuple[Tensor, Tensor] | None = None
    ) -> StepOutput:
        """The loss of one batch (keys input_ids_1/2, attention_mask_1/2 (B, L)); teacher = (t1, t2) (B, d_t)."""
        missing = [key for key in BATCH_KEYS if key not in batch]
        if missing:
            raise ValueError(f"batch is missing keys {missing}: expected {list(BATCH_KEYS)}")
        if self.distill_loss is not None and teacher is None:
            raise ValueError(f"distill.loss={self.distill_loss!r} needs teacher vectors (t1, t2), got None")
        with use_kernel(self.compiled_kernel):
            return self._loss(encoder, batch, teacher)

    def _loss(self, encoder: nn.Module, batch: dict[str, Tensor], teacher: tuple[Tensor, Tensor] | None) -> StepOutput:
        x1 = encoder(batch["input_ids_1"], batch["attention_mask_1"])  # (B, d)
        x2 = encoder(batch["input_ids_2"], batch["attention_mask_2"])  # (B, d)
        loss = x1.new_zeros((), dtype=torch.float32)
        parts: dict[str, Tensor] = {}
        keys: dict[str, Tensor] = {}
        if self.use_sct:
            z1 = F.normalize(self.head(x1).float(), dim=1)  # (B, d)
            z2 = F.normalize(self.head(x2).float(), dim=1)  # (B, d)
            r1, r2 = self._reference(encoder, batch)  # (B, d) each, constants
            loss_sct = self.sct_loss(z1, z2, r1, r2)
            loss = loss + loss_sct
            parts["loss_sct"] = loss_sct.detach()
            keys.update(self.sct_plan.keys(r1, r2))
        if self.distill_loss is not None:
            t1, t2 = (t.detach().float() for t in teacher)  # (B, d) each
            s1, s2 = F.normalize(x1.float(), dim=1), F.normalize(x2.float(), dim=1)  # (B, d) each
            q1, q2 = self._read(self.teacher_plan)  # (k, d) each or None
            loss_distill = DISTILL_LOSSES[self.distill_loss][0]((s1, s2), (t1, t2), (q1, q2), self.distill_method)
            loss = loss + loss_distill
            parts["loss_distill"] = loss_distill.detach()
            keys.update(self.teacher_plan.keys(t1, t2))
        parts["loss"] = loss.detach()
        return StepOutput(loss=loss, parts=parts, keys=keys)

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
