"""What a back-translation job is made of: the pivots (x → pivot language → x) and the generation settings.

The paper's views (§4.1): "English-German-English T and English-French-English T′ back-translations", taken
from BSL's file. BSL does not say which translation models or decoding it used; the defaults here are the
Helsinki-NLP opus-mt Marian models for the four directions, 4-beam search, inputs and outputs of at most 128
tokens (NLI sentences are far shorter), bf16 on GPUs that support it and fp32 elsewhere. Any
``AutoModelForSeq2SeqLM`` hub id or local directory can replace them.

:meth:`Pivot.identity` and :meth:`Generation.identity` hold exactly what changes the translations (model ids
and, for local directories, their files; beams, length, precision): they key the cache of the paper's views
and guard a resumed job against mixing shards made with other settings. The batch size is left out: it
changes speed only, so a job may resume with another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from sct.data.sources import model_files_fingerprint
from sct.errors import UserError

Precision = Literal["auto", "fp32", "fp16", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass(frozen=True)
class Pivot:
    """One round trip: ``forward`` translates English into the pivot language ``name``, ``back`` returns."""

    name: str
    forward: str
    back: str

    @classmethod
    def parse(cls, text: str) -> Pivot:
        """``NAME:FORWARD_MODEL:BACK_MODEL`` (hub ids or local directories) → a Pivot; UserError otherwise."""
        parts = text.split(":")
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise UserError(
                f"--pivot {text!r}: expected NAME:FORWARD_MODEL:BACK_MODEL, e.g. "
                "de:Helsinki-NLP/opus-mt-en-de:Helsinki-NLP/opus-mt-de-en"
            )
        name, forward, back = (part.strip() for part in parts)
        return cls(name, forward, back)

    def describe(self) -> str:
        return f"{self.name}: {self.forward} → {self.back}"

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "forward": self.forward,
            "back": self.back,
            "forward_files": model_files_fingerprint(self.forward),
            "back_files": model_files_fingerprint(self.back),
        }


DEFAULT_PIVOTS = (
    Pivot("de", "Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-de-en"),
    Pivot("fr", "Helsinki-NLP/opus-mt-en-fr", "Helsinki-NLP/opus-mt-fr-en"),
)


@dataclass(frozen=True)
class Generation:
    """Decoding settings of every translation: beam size, token limit (input truncation and output length),
    sentences per ``generate`` call, and the models' precision (``auto``: bf16 on a CUDA device that supports
    it, else fp32)."""

    num_beams: int = 4
    max_length: int = 128
    batch_size: int = 32
    precision: Precision = "auto"

    def __post_init__(self) -> None:
        for flag, value, least in (("--num-beams", self.num_beams, 1), ("--max-length", self.max_length, 4),
                                   ("--batch-size", self.batch_size, 1)):  # fmt: skip
            if value < least:
                raise UserError(f"{flag} {value}: allowed >= {least}")
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision {self.precision!r}: allowed {list(PRECISIONS)}")

    def identity(self) -> dict[str, Any]:
        return {"num_beams": self.num_beams, "max_length": self.max_length, "precision": self.precision}


def check_pivots(pivots: tuple[Pivot, ...]) -> None:
    """Exactly two pivots, distinct names, and every model a sequence-to-sequence config that loads.

    Two, because the training format is ``x<TAB>T(x)<TAB>T′(x)``: one pivot would write a two-column file
    that reads as BSL's ``T(x)<TAB>T′(x)``. The configs are read before any model weights are loaded, so a
    typo fails in seconds with the pivot named.
    """
    from transformers import AutoConfig

    from sct.hub import model_source

    if len(pivots) != 2:
        raise UserError(
            f"--pivot given {len(pivots)} time(s): the three-column training format x<TAB>T(x)<TAB>T′(x) needs "
            "exactly two pivots (default de and fr)"
        )
    if pivots[0].name == pivots[1].name:
        raise UserError(f"--pivot: both pivots are named {pivots[0].name!r}; give them distinct names")
    for pivot in pivots:
        for role, name in (("forward", pivot.forward), ("back", pivot.back)):
            try:
                config = AutoConfig.from_pretrained(model_source(name))
            except (OSError, ValueError) as err:
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise UserError(f"--pivot {pivot.name}: cannot load the {role} model {name!r}: {first}") from None
            if not getattr(config, "is_encoder_decoder", False):
                raise UserError(
                    f"--pivot {pivot.name}: the {role} model {name!r} is a {config.model_type} model, not a "
                    "sequence-to-sequence translation model (AutoModelForSeq2SeqLM)"
                )
