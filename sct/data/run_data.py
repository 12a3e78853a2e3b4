"""What a run needs before its first step, prepared once: tokenised views, teacher vectors, the tokenizer.

A sweep driver calls :func:`prepare_run_data` before Ray starts so that every trial finds the tokenised
dataset and the teacher vectors in the on-disk caches and never re-tokenises or re-runs the teacher; a
single run calls it from :func:`sct.trainer.train`. ``cfg`` has been through :func:`sct.inputs.resolve_inputs`
(paths absolute, sizes resolved). A problem with the user's data (an empty, non-UTF-8 or wrongly shaped file,
an unloadable tokenizer or dataset) is raised as one :class:`~sct.errors.UserError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from sct.config import SCTConfig
from sct.data.backtranslation.job import Executor
from sct.data.tokenized import PairDataset
from sct.errors import UserError
from sct.hub import model_source
from sct.storage import cache_root


@dataclass
class RunData:
    """The tokenised training pairs, the student's tokenizer and (when distilling) the teacher vectors."""

    dataset: PairDataset
    tokenizer: PreTrainedTokenizerBase
    teacher: tuple[torch.Tensor, torch.Tensor] | None  # (N, d_t) view 1, view 2 — normalised, on CPU

    @property
    def teacher_dim(self) -> int | None:
        return None if self.teacher is None else int(self.teacher[0].shape[1])


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a hub id or local model dir (sentence-transformers dirs keep it at the root)."""
    source = model_source(name)
    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load a tokenizer from {name!r}: {str(err).splitlines()[0]}") from None


def prepare_source(cfg: SCTConfig, translate: Executor | None = None) -> None:
    """Make the paper's views if ``data.train`` is ``paper-nli`` and they are not cached (a no-op otherwise)."""
    from sct.data.paper_data import PAPER_DATA, make_paper_views

    if cfg.data.train == PAPER_DATA:
        make_paper_views(cache_root(cfg), translate)


def prepare_run_data(
    cfg: SCTConfig,
    *,
    device: torch.device | None = None,
    show_progress: bool = True,
    translate: Executor | None = None,
) -> RunData:
    """Make the paper's views if ``data.train`` asks for them and they are not cached (with ``translate``,
    default in-process), tokenise both views (cached) and, when distilling, encode them with the teacher
    (cached)."""
    from sct.data.teacher import teacher_vectors
    from sct.data.tokenized import prepare_pairs

    prepare_source(cfg, translate)
    tokenizer = load_tokenizer(cfg.model.name)
    try:
        dataset = prepare_pairs(cfg, tokenizer, show_progress=show_progress)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"preparing the training data ({cfg.data.train}): {err}") from None
    teacher = None
    if cfg.distill.teacher is not None:
        teacher = teacher_vectors(
            model_source(cfg.distill.teacher),
            list(dataset.texts1),
            list(dataset.texts2),
            dataset.fingerprint,
            max_length=cfg.teacher_length,
            batch_size=cfg.distill.batch_size,
            device=device,
            cache_root=cache_root(cfg),
            show_progress=show_progress,
        )
    return RunData(dataset=dataset, tokenizer=tokenizer, teacher=teacher)
