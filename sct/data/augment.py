"""The second view of each sentence: ``cfg.data.augmentation`` resolved in this one place (Table 4).

SCT learns from two views T, T' of one sentence (§3.1). The paper's default T' is a back-translation, read
from a two-column source. Offline, one-column text has no real second view, so ``auto`` falls back to word
deletion there (a second view that differs from the first; with ``same``/``dropout`` the two views are the
same string and only dropout noise tells them apart).

=================  =========================================================================
``auto``           ``back_translation`` for two-column sources, else ``word_deletion``
``back_translation`` the source's second column (a two-column source is required)
``same``           T' = T, from the first column (Table 4 "same view")
``dropout``        x2 = x1 (the SimCSE setting: the dropout masks of the two passes are the only
                   noise); identical strings to ``same``, kept as its own switch for the tables
``word_deletion``  one random word dropped (one-word sentences stay as they are)
``mlm``            15% of word pieces refilled by a masked LM (:mod:`sct.data.mlm_views`)
``synonym``        one word replaced by a WordNet synonym (:mod:`sct.data.synonym_views`)
=================  =========================================================================

View 1 is always the first column; augmentations other than ``back_translation`` ignore a second column.
Every random choice derives from ``cfg.optim.seed``, so views (and their cache key) are reproducible.
"""

from __future__ import annotations

from typing import Any, get_args

import numpy as np

from sct.config import Augmentation, SCTConfig
from sct.data.sources import TextPairs, model_files_fingerprint

AUGMENTATIONS: tuple[Augmentation, ...] = get_args(Augmentation)


def resolve_augmentation(requested: Augmentation, pairs: TextPairs) -> Augmentation:
    """The concrete augmentation for ``requested`` on this source (``auto`` and checks resolved here)."""
    if requested not in AUGMENTATIONS:
        raise ValueError(f"data.augmentation has invalid value {requested!r}: allowed {list(AUGMENTATIONS)}")
    if requested == "auto":
        return "back_translation" if pairs.texts2 is not None else "word_deletion"
    if requested == "back_translation" and pairs.texts2 is None:
        raise ValueError(
            f"data.augmentation='back_translation' needs two views per line (view1<TAB>view2 or two text "
            f"columns), but {pairs.source or 'the training source'} has one column; pick "
            f"data.augmentation=word_deletion, same, dropout, mlm or synonym"
        )
    return requested


def mlm_model_name(cfg: SCTConfig) -> str:
    """The masked LM that fills MLM views: ``data.mlm_model``, else the student's own checkpoint."""
    return cfg.data.mlm_model or cfg.model.name


def augmentation_params(name: Augmentation, cfg: SCTConfig) -> dict[str, Any]:
    """Everything besides the source that changes the views of ``name`` (part of the cache key)."""
    seed = cfg.optim.seed
    if name == "word_deletion":
        return {"seed": seed}
    if name == "mlm":
        model = mlm_model_name(cfg)
        return {
            "seed": seed,
            "mlm_model": model,
            "mlm_model_files": model_files_fingerprint(model),
            "probability": cfg.data.mlm_probability,
        }
    if name == "synonym":
        from sct.data.synonym_views import find_wordnet_dir

        return {"seed": seed, "wordnet_dir": find_wordnet_dir(cfg.data.wordnet_dir)}
    return {}


def delete_one_word(texts: list[str], seed: int) -> list[str]:
    """Drop one whitespace-separated word per sentence, uniformly at random; deterministic under ``seed``.

    One uniform draw per sentence, in order, from one generator: the view of sentence i depends only on the
    seed and i, not on batching. Sentences of a single word are kept whole.
    """
    draws = np.random.default_rng(seed).random(len(texts))  # (n,)
    out: list[str] = []
    for text, draw in zip(texts, draws, strict=True):
        words = text.split()
        if len(words) < 2:
            out.append(text)
            continue
        drop = min(int(draw * len(words)), len(words) - 1)
        out.append(" ".join(words[:drop] + words[drop + 1 :]))
    return out


def make_views(
    name: Augmentation,
    pairs: TextPairs,
    cfg: SCTConfig,
    *,
    show_progress: bool = False,
    device: str | None = None,
) -> tuple[list[str], list[str]]:
    """The two views ``(texts1, texts2)`` for the resolved augmentation ``name``."""
    texts1 = pairs.texts1
    seed = cfg.optim.seed
    if name == "back_translation":
        if pairs.texts2 is None:
            raise ValueError(f"back_translation needs a two-column source, {pairs.source!r} has one column")
        return texts1, pairs.texts2
    if name in ("same", "dropout"):
        return texts1, texts1
    if name == "word_deletion":
        return texts1, delete_one_word(texts1, seed)
    if name == "mlm":
        from sct.data.mlm_views import mlm_views

        texts2 = mlm_views(
            texts1,
            mlm_model_name(cfg),
            probability=cfg.data.mlm_probability,
            seed=seed,
            device=device,
            show_progress=show_progress,
        )
        return texts1, texts2
    if name == "synonym":
        from sct.data.synonym_views import synonym_views

        return texts1, synonym_views(texts1, wordnet_dir=cfg.data.wordnet_dir, seed=seed)
    raise ValueError(
        f"augmentation {name!r} is not resolved: call resolve_augmentation first (allowed "
        f"{[a for a in AUGMENTATIONS if a != 'auto']})"
    )
