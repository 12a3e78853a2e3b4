"""A cheap pre-key for cached tokenised pairs of a local file: a reload without reading the source.

:func:`sct.data.tokenized.prepare_pairs` keys its cache by the source fingerprint and the *resolved*
augmentation, which needs the texts (their column count) -- reading and splitting a 1M-line file costs
seconds. For a local file the fingerprint is only its resolved path, size and mtime (see
:mod:`sct.data.sources`), so a second index ``<root>/tokenized-index/<alias>`` maps a key of those stats plus
the requested settings to the full cache key; a hit loads the memory-mapped cache directly. Any change of the
file (size or mtime), of a setting or of the view rules (:data:`sct.data.augment.VIEWS`, so a row they
refuse on this file is never loaded through an old alias) gives another alias, and the full key is still
checked on a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.data.augment import VIEWS, augmentation_params
from sct.hub import DATASET_SUFFIXES


def alias_path(cfg: SCTConfig, root: Path, identity: dict[str, Any], cache_format: int) -> Path | None:
    """Where the alias of this (local file, settings) lives; None for hub/``datasets`` sources."""
    data = cfg.data
    path = Path(data.train).expanduser()
    if not path.is_file() or path.suffix.lower() in DATASET_SUFFIXES:
        return None
    stat = path.stat()
    requested = data.augmentation
    params = augmentation_params(requested, cfg) if requested != "auto" else {"seed": cfg.optim.seed}
    parts = {
        "format": cache_format,
        "file": [str(path.resolve()), stat.st_size, stat.st_mtime_ns],
        "max_examples": data.max_examples,
        "text_columns": data.text_columns,
        "split": data.split,
        "augmentation": requested,
        "views": VIEWS,
        "params": params,
        "tokenizer": identity,
        "max_length": cfg.model.max_length,
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]
    return root / "tokenized-index" / digest


def read_alias(alias: Path | None) -> str | None:
    """The full cache key recorded under ``alias``, or None."""
    if alias is None or not alias.is_file():
        return None
    return alias.read_text(encoding="utf-8").strip() or None


def write_alias(alias: Path | None, key: str) -> None:
    """Record ``key`` under ``alias`` atomically (write a temp file, rename)."""
    if alias is None:
        return
    alias.parent.mkdir(parents=True, exist_ok=True)
    tmp = alias.with_name(f".{alias.name}.{os.getpid()}.tmp")
    tmp.write_text(key + "\n", encoding="utf-8")
    os.replace(tmp, alias)
