"""What a run needs before its first step, prepared once: tokenised views, teacher vectors, STS-B dev.

A sweep driver calls :func:`prepare_run_data` before Ray starts so that every trial finds the tokenised
dataset and the teacher vectors in the on-disk caches and never re-tokenises or re-runs the teacher; a
single run calls it from :func:`sct.trainer.train`. Inputs are checked here, before any expensive work:
a missing local model, data file or STS directory fails with a message naming the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from sct.config import SCTConfig
from sct.presets import size_of, size_overrides
from sct.st_format import resolve_model_name


@dataclass
class RunData:
    """The tokenised training pairs, the student's tokenizer and (when distilling) the teacher vectors."""

    dataset: object  # sct.data.tokenized.PairDataset
    tokenizer: PreTrainedTokenizerBase
    teacher: tuple[torch.Tensor, torch.Tensor] | None  # (N, d_t) view 1, view 2 — normalised, on CPU

    @property
    def teacher_dim(self) -> int | None:
        return None if self.teacher is None else int(self.teacher[0].shape[1])


def model_source(name: str) -> str:
    """A size name (``bert-tiny``) → its hub id; a local path → its absolute path; a hub id unchanged.

    Paths are told from hub ids by :func:`sct.st_format.resolve_model_name` (the rule the encoder loads with): a
    name that looks like a path but does not exist is an error, not a hub lookup.
    """
    if size_of(name) == name:
        return size_overrides(name)["model.name"]
    source = resolve_model_name(name)
    return str(Path(source).resolve()) if Path(source).is_dir() else source


def check_inputs(cfg: SCTConfig) -> None:
    """Cheap existence checks of every local path in ``cfg``, before tokenising or loading anything."""
    for key, value in (
        ("model.name", cfg.model.name),
        ("distill.teacher", cfg.distill.teacher),
        ("data.mlm_model", cfg.data.mlm_model),
    ):
        if value is not None:
            try:
                model_source(value)
            except FileNotFoundError as err:
                raise FileNotFoundError(f"config key '{key}': {err}") from None
    if cfg.eval.sts_dir is not None and not Path(cfg.eval.sts_dir).expanduser().is_dir():
        raise FileNotFoundError(f"config key 'eval.sts_dir': STS directory {cfg.eval.sts_dir!r} does not exist")
    if cfg.data.wordnet_dir is not None and not Path(cfg.data.wordnet_dir).expanduser().is_dir():
        raise FileNotFoundError(f"config key 'data.wordnet_dir': {cfg.data.wordnet_dir!r} does not exist")


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a hub id or local model dir (sentence-transformers dirs keep it at the root)."""
    source = model_source(name)
    try:
        return AutoTokenizer.from_pretrained(source)
    except OSError as err:
        raise FileNotFoundError(f"cannot load a tokenizer from {name!r}: {err}") from err


def prepare_run_data(cfg: SCTConfig, *, device: torch.device | None = None, show_progress: bool = True) -> RunData:
    """Tokenise both views (cached) and, when distilling, encode them with the teacher (cached)."""
    from sct.data.tokenized import cache_root, prepare_pairs
    from sct.teacher import teacher_vectors

    check_inputs(cfg)
    tokenizer = load_tokenizer(cfg.model.name)
    dataset = prepare_pairs(cfg, tokenizer, show_progress=show_progress)
    teacher = None
    if cfg.distill.teacher is not None:
        teacher = teacher_vectors(
            model_source(cfg.distill.teacher),
            list(dataset.texts1),
            list(dataset.texts2),
            dataset.fingerprint,
            batch_size=cfg.distill.batch_size,
            device=device,
            cache_root=cache_root(cfg),
            show_progress=show_progress,
        )
    return RunData(dataset=dataset, tokenizer=tokenizer, teacher=teacher)
