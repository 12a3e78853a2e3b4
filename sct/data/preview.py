"""The first N view pairs a run trains on, exactly as the trainer sees them (after augmentation, before
tokenisation): ``python -m sct.data preview``.

The source is read and the views are made by the trainer's own functions (:func:`load_texts`,
:func:`resolve_augmentation`, :func:`make_views`). Only the first N sentences are read: every augmentation is
prefix-stable (the view of sentence i depends on the seed and sentences 0..i only, :mod:`sct.data.augment`),
so these are the first N pairs of the full run, in source order (the trainer then shuffles them).
"""

from __future__ import annotations

from pathlib import Path

from sct.config import SCTConfig
from sct.data.augment import VIEWS, make_views, resolve_augmentation
from sct.data.paper_data import PAPER_DATA, training_source
from sct.data.sources import load_texts
from sct.errors import UserError


def preview_views(cfg: SCTConfig, n: int) -> tuple[str, list[tuple[str, str]]]:
    """(a one-line description of the views, the first ``n`` pairs)."""
    if n < 1:
        raise UserError(f"-n {n}: allowed >= 1")
    data = cfg.data
    source = training_source(cfg)
    if data.train == PAPER_DATA and not Path(source).is_file():
        raise UserError(
            f"data.train={PAPER_DATA}: the paper's views are not made yet ({source}): make them with "
            f"`python -m sct.data backtranslate {PAPER_DATA}`, or pass --train-data FILE"
        )
    limit = min(n, data.max_examples) if data.max_examples is not None else n
    try:
        pairs = load_texts(source, text_columns=data.text_columns, split=data.split, max_examples=limit)
        name = resolve_augmentation(data.augmentation, pairs)
        texts1, texts2 = make_views(name, pairs, cfg)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"data.train={data.train}: {err}") from None
    views = ", ".join(VIEWS[name])
    requested = data.augmentation if data.augmentation == name else f"{data.augmentation} -> {name}"
    about = f"{data.train}: {pairs.num_columns} column(s); data.augmentation={requested}: views ({views})"
    return about, list(zip(texts1, texts2, strict=True))
