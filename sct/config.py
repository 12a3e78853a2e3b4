"""One frozen configuration tree for SCT training, ablation and evaluation.

Every default lives here, once. YAML files, size presets (:mod:`sct.presets`) and ``--set key=value``
overrides only replace values (:mod:`sct.config_io`). Each ablation of the paper (Tables 4, 6, 7 and
Figure 4) is a ``Literal`` field resolved in exactly one place (:mod:`sct.objective` for the method,
:mod:`sct.data.augment` for the views). Values are validated on construction: a bad value raises
``UserError`` naming the key, the value and the allowed range (:mod:`sct.checks`; every ``Literal`` field by
:func:`~sct.checks.check_choices`).

Defaults are the paper's BERT-Tiny row of Table 1 (lr 5e-4, k = 131072, tau_ref 0.03, tau_online 0.04) with
batch 128, 10 epochs, evaluation on STS-B dev every 64 steps (§4.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from sct.checks import check_choices, check_ranges, fail

STS_TASKS: tuple[str, ...] = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")

# The switches: each a Literal alias, validated on construction and used as the type wherever it is resolved.
Augmentation = Literal["auto", "back_translation", "same", "dropout", "word_deletion", "mlm", "synonym"]
Objective = Literal["distribution", "contrastive"]
Divergence = Literal["kl", "ce"]
Pairing = Literal["cross", "identical"]
Reference = Literal["stop_grad", "momentum"]
Head = Literal["mlp", "none"]
Queues = Literal["two", "one", "frozen", "none"]
DistillLoss = Literal["cd", "mse", "congen", "ckd"]
DistillMode = Literal["joint", "distill_only"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Device = Literal["auto", "cpu", "cuda"]
# torch.compile modes (sct.step.compile_step): inductor fusion; + CUDA graphs; + GEMM autotuning (minutes).
CompileMode = Literal["default", "reduce-overhead", "max-autotune-no-cudagraphs"]


@dataclass(frozen=True)
class ModelConfig:
    """The student PLM: a hub id or a local directory (config-only directories build a random init).

    ``max_length`` is the training length: both views are truncated there. Evaluation has its own length
    (``eval.max_length``), so test sentences are scored whole as in SentEval.
    """

    name: str = "google/bert_uncased_L-2_H-128_A-2"
    max_length: int = 32

    def __post_init__(self) -> None:
        check_choices("model", self)
        if not self.name:
            fail("model.name", self.name, "a hub id, a size name or a local path")
        check_ranges("model", self, {"max_length": ("ge", 2, None)})


@dataclass(frozen=True)
class DataConfig:
    """Training sentences: ``paper-nli`` (the paper's SNLI+MNLI back-translations, made once and cached:
    :mod:`sct.data.paper_data`), a one-, two- or three-column file, or a datasets id (:mod:`sct.data.sources`)."""

    train: str = "paper-nli"
    text_columns: tuple[str, ...] | None = None
    split: str = "train"
    max_examples: int | None = None  # None: every sentence (the paper trains on all its NLI sentences)
    augmentation: Augmentation = "auto"
    mlm_model: str | None = None
    mlm_probability: float = 0.15
    wordnet_dir: str | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        check_choices("data", self)
        check_ranges("data", self, {"max_examples": ("ge", 1, None), "mlm_probability": ("gt", 0.0, 1.0)})
        if self.text_columns is not None and not 1 <= len(self.text_columns) <= 3:
            fail("data.text_columns", self.text_columns, "one to three names: [x], [T(x), T′(x)] or [x, T(x), T′(x)]")


@dataclass(frozen=True)
class MethodConfig:
    """The SCT objective (§3) and its ablation switches (Table 4)."""

    objective: Objective = "distribution"
    divergence: Divergence = "kl"
    pairing: Pairing = "cross"
    reference: Reference = "stop_grad"
    momentum: float = 0.999
    reference_dropout: bool = True
    head: Head = "mlp"
    head_blocks: int = 3
    head_width: int = 10
    queues: Queues = "two"
    queue_size: int = 131072
    tau_ref: float = 0.03
    tau_online: float = 0.04
    view_weight: float = 0.5

    def __post_init__(self) -> None:
        check_choices("method", self)
        check_ranges(
            "method",
            self,
            {
                "momentum": ("gt", 0.0, 1.0),
                "head_blocks": ("ge", 1, None),
                "head_width": ("ge", 1, None),
                "queue_size": ("ge", 1, None),
                "tau_ref": ("gt", 0.0, None),
                "tau_online": ("gt", 0.0, None),
                "view_weight": ("gt", 0.0, None),
            },
        )


@dataclass(frozen=True)
class DistillConfig:
    """Distillation from a frozen teacher (§3.4, Tables 6 and 7). Off while ``teacher`` is None.

    ``mode='joint'`` trains L_SCT + L_loss (Eq. 3-4); ``mode='distill_only'`` is the released recipe: L_loss
    alone, with the student initialised from an SCT checkpoint given as ``model.name``.

    The ``method`` switches (objective, divergence, pairing, queues) ablate L_SCT only, as Table 6 does
    (§5.4.1): the distillation loss keeps the default recipe (distribution, KL, cross views, two queues).
    ``ablate_cd=True`` applies them to L_CD (and ``queues`` to ConGen/CKD's teacher queue) as well.

    The teacher encodes each view truncated at ``teacher_max_length`` tokens, by default the student's training
    length, so that the teacher's target and the student's input describe the same text.
    """

    teacher: str | None = None
    loss: DistillLoss = "cd"
    mode: DistillMode = "joint"
    batch_size: int = 256
    ablate_cd: bool = False
    teacher_max_length: int | None = None  # None: model.max_length (SCTConfig.teacher_length)

    def __post_init__(self) -> None:
        check_choices("distill", self)
        check_ranges("distill", self, {"batch_size": ("ge", 1, None), "teacher_max_length": ("ge", 2, None)})


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then linear decay (as sentence-transformers' fit, used by the paper)."""

    lr: float = 5e-4
    batch_size: int = 128
    epochs: int = 10
    max_steps: int | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    adam_eps: float = 1e-6
    grad_clip: float = 1.0
    precision: Precision = "auto"
    early_stopping_patience: int | None = None
    seed: int = 42
    compile: bool = False  # torch.compile the step: off by default, it lost in the H200 loop (docs/performance.md)
    compile_mode: CompileMode = "default"  # used when compile is on; "reduce-overhead" = CUDA graphs

    def __post_init__(self) -> None:
        check_choices("optim", self)
        check_ranges(
            "optim",
            self,
            {
                "lr": ("gt", 0.0, None),
                "batch_size": ("ge", 2, None),
                "epochs": ("ge", 1, None),
                "max_steps": ("ge", 1, None),
                "warmup_ratio": ("ge", 0.0, 1.0),
                "weight_decay": ("ge", 0.0, None),
                "adam_eps": ("gt", 0.0, None),
                "grad_clip": ("gt", 0.0, None),
                "early_stopping_patience": ("ge", 1, None),
                "seed": ("ge", 0, None),
            },
        )


@dataclass(frozen=True)
class EvalConfig:
    """STS evaluation: STS-B dev during training, the seven STS test sets on the best checkpoint (§4).

    ``max_length`` truncates evaluation sentences; None scores them whole, up to the model's limit (512 tokens
    for BERT), as SentEval does. It is saved with the model (``sentence_bert_config.json``), so
    ``SentenceTransformer(model_dir).encode`` reproduces the reported scores.
    """

    sts_dir: str | None = None
    every_steps: int = 64
    batch_size: int = 256
    test_tasks: tuple[str, ...] = STS_TASKS
    max_length: int | None = None

    def __post_init__(self) -> None:
        check_choices("eval", self)
        check_ranges(
            "eval", self, {"every_steps": ("ge", 1, None), "batch_size": ("ge", 1, None), "max_length": ("ge", 2, None)}
        )
        unknown = [task for task in self.test_tasks if task not in STS_TASKS]
        if unknown:
            fail("eval.test_tasks", list(self.test_tasks), f"a subset of {list(STS_TASKS)}")


@dataclass(frozen=True)
class RunConfig:
    """Where and on what a run happens, and how its resumable state is kept.

    The resumable state (model, head, optimiser, scheduler, queues, RNG, progress) is written atomically at
    most every ``checkpoint_every_s`` seconds (0: at every evaluation), at the end of an epoch and on
    SIGTERM/SIGINT; the best model is exported (weights only) on improvement. A finished run deletes its
    resumable state unless ``keep_state``.
    """

    output_dir: str = "sct_output"
    device: Device = "auto"
    save_checkpoints: bool = True
    checkpoint_every_s: float = 300.0
    keep_state: bool = False

    def __post_init__(self) -> None:
        check_choices("run", self)
        check_ranges("run", self, {"checkpoint_every_s": ("ge", 0.0, None)})


@dataclass(frozen=True)
class SCTConfig:
    """The whole configuration of one training run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        if self.distill.mode == "distill_only" and self.distill.teacher is None:
            fail("distill.mode", self.distill.mode, "'joint' unless distill.teacher is set")
        if self.distill.teacher is None and self.distill.loss != "cd":
            fail("distill.loss", self.distill.loss, "'cd' (the default) unless distill.teacher is set")

    @property
    def distilling(self) -> bool:
        return self.distill.teacher is not None

    @property
    def teacher_length(self) -> int:
        """The teacher's truncation length: ``distill.teacher_max_length``, else the student's ``model.max_length``."""
        return self.distill.teacher_max_length or self.model.max_length


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(SCTConfig)}  # type: ignore[misc]
