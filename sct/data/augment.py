"""The two views of each sentence: ``cfg.data.augmentation`` resolved in this one place (§3.1, Table 4).

The paper: "Given a new sample x, two augmentations T and T′ are created from two different back-translations
to produce two views x1 = T(x) and x2 = T′(x)" (§3.1), EN→DE→EN and EN→FR→EN (§4.1). Table 4 (§5.3.3)
replaces them by "(ii) mask language model 15%, (iii) synonym replacement (one-word replacement), (iii)
dropout mask, and (iv) using the same back-translation (T = T′)". Each row's pair of views:

=================== ======================= =======================================================
``augmentation``    (view 1, view 2)        why
=================== ======================= =======================================================
``back_translation`` (T(x), T′(x))          the paper's default
``same``            (T(x), T(x))            "the same back-translation (T = T′)": the EN→DE→EN one
``dropout``         (x, x)                  SimCSE's setting: the sentence itself twice, only the
                                            dropout masks of the two passes differ
``word_deletion``   (x, word_deletion(x))   not in the paper: the offline fallback of ``auto``
``mlm``             (x, mlm(x))             MLM and synonyms edit the original sentence: Table 5
``synonym``         (x, synonym(x))         measures them against "the original dataset"
``auto``            ``back_translation`` where the source has T(x) and T′(x), else ``word_deletion``
=================== ======================= =======================================================

A row whose views the source cannot give faithfully is refused, never approximated: ``dropout`` on BSL's
two-column file (no x) is not ``same``, ``same`` on one-column text (no T) is not ``dropout``
(:func:`view_problem`; the error names the three-column format and ``python -m sct.data backtranslate``).
Every random choice derives from ``cfg.optim.seed``, so views (and their cache key) are reproducible, and the
view of sentence i depends only on the seed and sentences 0..i (a prefix of a source gets a prefix of views).
"""

from __future__ import annotations

from typing import Any, get_args

import numpy as np

from sct.config import Augmentation, SCTConfig
from sct.data.sources import LAYOUTS, TextPairs, model_files_fingerprint

AUGMENTATIONS: tuple[Augmentation, ...] = get_args(Augmentation)
X, T1, T2 = "x", "T(x)", "T′(x)"
ROLES: dict[int, tuple[str, ...]] = {1: (X,), 2: (T1, T2), 3: (X, T1, T2)}  # a source's columns by count
VIEWS: dict[str, tuple[str, str]] = {
    "back_translation": (T1, T2),
    "same": (T1, T1),
    "dropout": (X, X),
    "word_deletion": (X, f"word_deletion({X})"),
    "mlm": (X, f"mlm({X})"),
    "synonym": (X, f"synonym({X})"),
}
BACKTRANSLATE_FIX = (
    f"use a three-column source {LAYOUTS[3]}, made from your sentences by "
    "`python -m sct.data backtranslate SENTENCES OUT.tsv`"
)


def _base_role(view: str) -> str:
    """The source column a view is read or made from: ``mlm(x)`` -> ``x``."""
    return view[view.index("(") + 1 : -1] if view not in (X, T1, T2) else view


def view_problem(name: str, num_columns: int, source: str) -> str | None:
    """Why ``name``'s views cannot be made faithfully from a source of ``num_columns`` columns, or None."""
    views = VIEWS[name]
    missing = [role for role in dict.fromkeys(map(_base_role, views)) if role not in ROLES[num_columns]]
    if not missing:
        return None
    what = "the original sentence x" if X in missing else "the back-translations T(x) and T′(x)"
    layout = LAYOUTS[num_columns] + (", BSL's layout" if num_columns == 2 else "")
    return (
        f"data.augmentation={name} trains on ({views[0]}, {views[1]}) and needs {what}, but {source or 'the source'} "
        f"has {num_columns} column{'s' if num_columns > 1 else ''} ({layout}): {BACKTRANSLATE_FIX}"
    )


def resolve_augmentation(requested: Augmentation, pairs: TextPairs) -> Augmentation:
    """The concrete augmentation for ``requested`` on this source (``auto`` and checks resolved here)."""
    if requested not in AUGMENTATIONS:
        raise ValueError(f"data.augmentation has invalid value {requested!r}: allowed {list(AUGMENTATIONS)}")
    if requested == "auto":
        return "back_translation" if pairs.translations is not None else "word_deletion"
    problem = view_problem(requested, pairs.num_columns, pairs.source)
    if problem:
        raise ValueError(problem)
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


def source_columns(pairs: TextPairs) -> dict[str, list[str]]:
    """The source's columns by role (``x``, ``T(x)``, ``T′(x)``), those it has."""
    translations = pairs.translations
    columns = {} if translations is None else {T1: translations[0], T2: translations[1]}
    return columns if pairs.original is None else {X: pairs.original, **columns}


def view_signature(name: Augmentation, pairs: TextPairs, cfg: SCTConfig) -> tuple[str, str]:
    """What the two views of ``name`` are on this data, comparable across rows: two rows with equal signatures
    train on identical views. Columns with equal content count as one (a file whose T′ repeats T makes
    ``back_translation`` = ``same``); made views carry their parameters (seed, model)."""
    columns = source_columns(pairs)
    canonical: dict[str, str] = {}
    for role, texts in columns.items():
        canonical[role] = next((seen for seen in canonical if columns[seen] == texts), role)
    params = augmentation_params(name, cfg)
    out = []
    for view in VIEWS[name]:
        base = _base_role(view)
        made = view.replace(f"({base})", f"({canonical[base]})")
        out.append(canonical[view] if view == base else f"{made} {sorted(params.items())}")
    return out[0], out[1]


def make_views(
    name: Augmentation,
    pairs: TextPairs,
    cfg: SCTConfig,
    *,
    show_progress: bool = False,
    device: str | None = None,
) -> tuple[list[str], list[str]]:
    """The two views ``(texts1, texts2)`` for the resolved augmentation ``name`` (see the table above).

    A view read from a column is that column's list itself (``same``/``dropout`` return one list twice)."""
    if name not in VIEWS:
        raise ValueError(
            f"augmentation {name!r} is not resolved: call resolve_augmentation first (allowed {list(VIEWS)})"
        )
    problem = view_problem(name, pairs.num_columns, pairs.source)
    if problem:
        raise ValueError(problem)
    columns = source_columns(pairs)
    first, second = VIEWS[name]
    if second in columns:
        return columns[first], columns[second]
    texts = columns[X]
    seed = cfg.optim.seed
    if name == "word_deletion":
        return texts, delete_one_word(texts, seed)
    if name == "mlm":
        from sct.data.mlm_views import mlm_views

        texts2 = mlm_views(
            texts,
            mlm_model_name(cfg),
            probability=cfg.data.mlm_probability,
            seed=seed,
            device=device,
            show_progress=show_progress,
        )
        return texts, texts2
    from sct.data.synonym_views import synonym_views

    return texts, synonym_views(texts, wordnet_dir=cfg.data.wordnet_dir, seed=seed)
