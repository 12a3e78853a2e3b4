"""What each row of an ablation grid trains on, for the plan: its two views on the given data, and pairs of rows
that would train on identical views (two names for one run).

Views are compared as :func:`sct.data.augment.view_signature` sees them on the actual source (equal columns
count as one; made views carry their seed and model). The source is read like the trainer reads it; a hub
dataset is not downloaded for a plan, and the paper's data not made yet stands in as its three roles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sct.config import SCTConfig

VIEW_KEYS = ("data.augmentation", "data.mlm_model", "data.mlm_probability", "data.wordnet_dir")  # in the signature


def _loaded_source(cfg: SCTConfig) -> Any:
    """The row's training source as TextPairs for comparing views: a local file or dataset dir (read), the
    paper's data not made yet (its three roles, distinct by construction: two different pivots), or None
    (a hub dataset is not downloaded for a plan; an unreadable source is reported elsewhere)."""
    from sct.data.paper_data import PAPER_DATA, training_source
    from sct.data.sources import TextPairs, load_texts

    source = training_source(cfg)
    if cfg.data.train == PAPER_DATA and not Path(source).is_file():
        return TextPairs(["x"], ["T(x)"], PAPER_DATA, source=PAPER_DATA, texts3=["T′(x)"])
    if not Path(source).exists():
        return None
    data = cfg.data
    try:
        return load_texts(source, text_columns=data.text_columns, split=data.split, max_examples=data.max_examples)
    except (OSError, ValueError):
        return None


def row_views(rows: dict[str, SCTConfig]) -> tuple[dict[str, str], list[str]]:
    """({row: its views, e.g. ``(T(x), T′(x))``}, one line per pair of rows that would train on identical views
    for this data and are otherwise the same config: two runs of one experiment under two names)."""
    from sct.config_io import flatten
    from sct.data.augment import VIEWS, resolve_augmentation, view_signature

    sources: dict[Any, Any] = {}
    shown: dict[str, str] = {}
    keys: dict[str, tuple[Any, str]] = {}
    for row, cfg in rows.items():
        data = cfg.data
        where = (data.train, data.cache_dir, data.text_columns, data.split, data.max_examples)
        if where not in sources:
            sources[where] = _loaded_source(cfg)
        pairs = sources[where]
        if pairs is None:
            continue
        try:
            name = resolve_augmentation(data.augmentation, pairs)
            signature = view_signature(name, pairs, cfg)
        except (OSError, ValueError):  # a refused row: listed as unavailable by row_problems
            continue
        shown[row] = f"({', '.join(VIEWS[name])})"
        rest = {k: v for k, v in flatten(cfg).items() if k not in VIEW_KEYS}
        keys[row] = (signature, json.dumps(rest, sort_keys=True, default=str))
    names = list(keys)
    same = [
        f"rows '{a}' and '{b}' would train on identical views {shown[a]} = {shown[b]} of data.train="
        f"{rows[a].data.train} with the same config otherwise: one of them measures nothing"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if keys[a] == keys[b]
    ]
    return shown, same
