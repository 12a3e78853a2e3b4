"""Training sentences from a two-column TSV, a one-sentence-a-line text file or a ``datasets`` source.

SCT (§3, §4.1) trains on pairs of views of one sentence. The paper's views are back-translations stored as
``view1<TAB>view2`` lines; offline, only one-column text exists and the second view comes from an
augmentation (:mod:`sct.data.augment`). Every source is read the same way: lines/rows are stripped, empty
ones dropped, order kept, and ``max_examples`` truncates. Malformed input raises an error naming the file
and the line, before any tokenisation or model loading starts.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sct.inputs import looks_like_path

_DATASET_SUFFIXES = {".csv", ".json", ".jsonl", ".parquet", ".arrow"}


@dataclass(frozen=True)
class TextPairs:
    """Loaded sentences: ``texts1`` always, ``texts2`` only for two-column sources (else None).

    ``fingerprint`` identifies the source content cheaply (cache key); ``source`` names it in messages.
    """

    texts1: list[str]
    texts2: list[str] | None
    fingerprint: str
    source: str = ""

    @property
    def num_columns(self) -> int:
        return 1 if self.texts2 is None else 2


def _sha256(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(repr(p) for p in parts).encode("utf-8")).hexdigest()


def model_files_fingerprint(name: str) -> list[tuple[str, int, int]] | None:
    """(relative path, size, mtime_ns) of every file of a local model directory, sorted; None for a hub id.

    Part of every cache key built on a model (MLM views, teacher vectors), so a checkpoint rewritten in place
    invalidates them."""
    path = Path(name).expanduser()
    if not path.is_dir():
        return None
    files = (f for f in path.rglob("*") if f.is_file())
    return sorted((str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _read_lines(path: Path) -> list[str]:
    """Decode ``path`` as UTF-8 strictly; undecodable bytes name the byte offset and the line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: undecodable bytes at byte offset {err.start} (line {line}): the file is not UTF-8"
        ) from err
    return text.removeprefix("\ufeff").splitlines()


def _parse_lines(path: Path, lines: list[str]) -> tuple[list[str], list[str] | None]:
    """One column, or two when the file is a ``.tsv`` or every non-empty line has exactly one tab."""
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise ValueError(f"{path}: no sentences (the file is empty or has only blank lines)")
    is_tsv = path.suffix.lower() == ".tsv" or all(line.count("\t") == 1 for _, line in numbered)
    if not is_tsv:
        return [line.strip() for _, line in numbered], None
    texts1: list[str] = []
    texts2: list[str] = []
    for n, line in numbered:
        cols = line.split("\t")
        if len(cols) != 2:
            raise ValueError(f"{path}, line {n}: expected 2 tab-separated columns (view1<TAB>view2), found {len(cols)}")
        first, second = cols[0].strip(), cols[1].strip()
        if not first or not second:
            empty = 1 if not first else 2
            raise ValueError(f"{path}, line {n}: column {empty} is empty (both views must be non-empty)")
        texts1.append(first)
        texts2.append(second)
    return texts1, texts2


def _load_file(path: Path, max_examples: int | None) -> TextPairs:
    texts1, texts2 = _parse_lines(path, _read_lines(path))
    if max_examples is not None:
        texts1 = texts1[:max_examples]
        texts2 = None if texts2 is None else texts2[:max_examples]
    stat = path.stat()
    fingerprint = _sha256("file", str(path.resolve()), stat.st_size, stat.st_mtime_ns, max_examples)
    return TextPairs(texts1, texts2, fingerprint, source=str(path))


def _open_dataset(train: str, split: str) -> Any:
    """A ``datasets.Dataset`` from a hub id, a ``save_to_disk`` dir, a data dir or a data file."""
    import datasets

    path = Path(train).expanduser()
    try:
        if path.is_dir() and any((path / name).exists() for name in ("dataset_dict.json", "state.json")):
            loaded = datasets.load_from_disk(str(path))
        elif path.is_file():
            builder = {".jsonl": "json", ".arrow": "arrow"}.get(path.suffix.lower(), path.suffix.lower()[1:])
            loaded = datasets.load_dataset(builder, data_files={split: str(path)})
        else:
            loaded = datasets.load_dataset(str(path) if path.is_dir() else train)
    except Exception as err:  # network, format and builder errors all end here
        raise ValueError(f"could not load dataset {train!r}: {type(err).__name__}: {err}") from err
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise ValueError(f"dataset {train!r} has no split {split!r}: available {sorted(loaded)}")
        loaded = loaded[split]
    return loaded


def _string_columns(ds: Any) -> list[str]:
    return [
        name for name, feature in ds.features.items() if getattr(feature, "dtype", None) in ("string", "large_string")
    ]


def _load_dataset(
    train: str, text_columns: tuple[str, ...] | list[str] | None, split: str, max_examples: int | None
) -> TextPairs:
    ds = _open_dataset(train, split)
    strings = _string_columns(ds)
    if text_columns is None:
        if not strings:
            raise ValueError(f"dataset {train!r} has no string column: columns {list(ds.column_names)}")
        columns = strings[:2]
    else:
        columns = list(text_columns)
        if not 1 <= len(columns) <= 2:
            raise ValueError(f"text_columns {columns!r}: give one or two column names")
        for name in columns:
            if name not in strings:
                raise ValueError(f"dataset {train!r}: text column {name!r} not found among string columns {strings}")
    texts1: list[str] = []
    texts2: list[str] = []
    for row in zip(*(ds[name] for name in columns), strict=True):
        views = [(value or "").strip() for value in row]
        if not all(views):
            continue
        texts1.append(views[0])
        if len(views) == 2:
            texts2.append(views[1])
        if max_examples is not None and len(texts1) >= max_examples:
            break
    if not texts1:
        raise ValueError(f"dataset {train!r} (split {split!r}, columns {columns}) has no non-empty text")
    fingerprint = _sha256("dataset", train, split, columns, getattr(ds, "_fingerprint", None), max_examples)
    return TextPairs(texts1, texts2 if len(columns) == 2 else None, fingerprint, source=train)


def load_texts(
    train: str,
    *,
    text_columns: tuple[str, ...] | list[str] | None = None,
    split: str = "train",
    max_examples: int | None = None,
) -> TextPairs:
    """Load training sentences from ``train``.

    - a ``.tsv`` file, or any file whose non-empty lines all hold exactly one tab: two columns
      ``view1<TAB>view2`` (the paper's back-translation pairs); a line with another column count is an
      error naming the file and line;
    - any other text file: one sentence a line;
    - ``.csv``/``.json``/``.jsonl``/``.parquet``/``.arrow`` files, local dataset directories and hub ids:
      loaded with ``datasets``; ``text_columns`` picks one or two columns (default: the first one or two
      string columns).
    """
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be >= 1, got {max_examples}")
    path = Path(train).expanduser()
    if path.is_file() and path.suffix.lower() not in _DATASET_SUFFIXES:
        return _load_file(path, max_examples)
    if not path.exists() and looks_like_path(train):
        raise FileNotFoundError(f"training data file not found: {train} (resolved to {os.path.abspath(path)})")
    return _load_dataset(train, text_columns, split, max_examples)
