"""Training sentences from a one-, two- or three-column text file or a ``datasets`` source.

SCT (§3, §4.1) trains on two views of one sentence x: the paper's are two back-translations, x1 = T(x)
(EN→DE→EN) and x2 = T′(x) (EN→FR→EN). A source holds some of x, T(x), T′(x), by its column count:

=========  ==========================  =====================================================================
columns    layout                      where it comes from
=========  ==========================  =====================================================================
1          ``x``                       plain sentences (one a line); views by augmentation
2          ``T(x)<TAB>T′(x)``          BSL's ``back_translated_nli.txt``, the file the released code reads
3          ``x<TAB>T(x)<TAB>T′(x)``    ``python -m sct.data backtranslate``: every Table 4 view row
=========  ==========================  =====================================================================

:attr:`TextPairs.original` and :attr:`TextPairs.translations` name these roles in one place; which views a
``data.augmentation`` makes of them is :mod:`sct.data.augment`'s business. Every source is read the same way:
lines/rows are stripped, empty ones dropped, order kept, and ``max_examples`` truncates. Malformed input raises
an error naming the file and the line, before any tokenisation or model loading starts.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sct.hub import DATASET_SUFFIXES, file_columns, looks_like_path, text_lines

MAX_COLUMNS = 3
LAYOUTS = {1: "x", 2: "T(x)<TAB>T′(x)", 3: "x<TAB>T(x)<TAB>T′(x)"}


@dataclass(frozen=True)
class TextPairs:
    """Loaded sentences, the source's columns in order: ``texts1`` always, ``texts2``/``texts3`` when present.

    ``fingerprint`` identifies the source content cheaply (cache key); ``source`` names it in messages.
    """

    texts1: list[str]
    texts2: list[str] | None
    fingerprint: str
    source: str = ""
    texts3: list[str] | None = None

    def __post_init__(self) -> None:
        if self.texts3 is not None and self.texts2 is None:
            raise ValueError("TextPairs: a third column needs a second one")

    @property
    def num_columns(self) -> int:
        return 1 + (self.texts2 is not None) + (self.texts3 is not None)

    @property
    def original(self) -> list[str] | None:
        """x, the sentence itself: the only column of a one-column source, the first of a three-column one."""
        return None if self.num_columns == 2 else self.texts1

    @property
    def translations(self) -> tuple[list[str], list[str]] | None:
        """(T(x), T′(x)): the two columns of BSL's layout, the last two of a three-column source."""
        if self.texts2 is None:
            return None
        return (self.texts1, self.texts2) if self.texts3 is None else (self.texts2, self.texts3)


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
    return text_lines(text)


def _parse_lines(path: Path, lines: list[str]) -> list[list[str]]:
    """The file's columns (one to three lists of stripped texts); see :func:`sct.hub.file_columns`."""
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise ValueError(f"{path}: no sentences (the file is empty or has only blank lines)")
    width = file_columns(path, [line for _, line in numbered])
    if width == 1 and path.suffix.lower() != ".tsv":
        return [[line.strip() for _, line in numbered]]
    if not 2 <= width <= MAX_COLUMNS:
        raise ValueError(
            f"{path}, line {numbered[0][0]}: expected 2 or 3 tab-separated columns ({LAYOUTS[2]} or {LAYOUTS[3]}), "
            f"found {width}"
        )
    expected = f"{width} tab-separated columns ({LAYOUTS[width]})"
    columns: list[list[str]] = [[] for _ in range(width)]
    for n, line in numbered:
        cols = [col.strip() for col in line.split("\t")]
        if len(cols) != width:
            raise ValueError(f"{path}, line {n}: expected {expected}, found {len(cols)}")
        if not all(cols):
            empty = cols.index("") + 1
            raise ValueError(f"{path}, line {n}: column {empty} is empty (every column must be non-empty)")
        for column, text in zip(columns, cols, strict=True):
            column.append(text)
    return columns


def _pairs(columns: list[list[str]], fingerprint: str, source: str) -> TextPairs:
    texts = [*columns, None, None]
    return TextPairs(texts[0], texts[1], fingerprint, source=source, texts3=texts[2])  # type: ignore[arg-type]


def _load_file(path: Path, max_examples: int | None) -> TextPairs:
    columns = [column[:max_examples] for column in _parse_lines(path, _read_lines(path))]
    stat = path.stat()
    fingerprint = _sha256("file", str(path.resolve()), stat.st_size, stat.st_mtime_ns, max_examples)
    return _pairs(columns, fingerprint, str(path))


def open_dataset(train: str, split: str) -> Any:
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


def string_columns(ds: Any) -> list[str]:
    return [
        name for name, feature in ds.features.items() if getattr(feature, "dtype", None) in ("string", "large_string")
    ]


def _load_dataset(
    train: str, text_columns: tuple[str, ...] | list[str] | None, split: str, max_examples: int | None
) -> TextPairs:
    ds = open_dataset(train, split)
    strings = string_columns(ds)
    if text_columns is None:
        if not strings:
            raise ValueError(f"dataset {train!r} has no string column: columns {list(ds.column_names)}")
        columns = strings[:2]
    else:
        columns = list(text_columns)
        if not 1 <= len(columns) <= MAX_COLUMNS:
            raise ValueError(f"text_columns {columns!r}: give one to three column names (x / T(x), T′(x) / x, T, T′)")
        for name in columns:
            if name not in strings:
                raise ValueError(f"dataset {train!r}: text column {name!r} not found among string columns {strings}")
    texts: list[list[str]] = [[] for _ in columns]
    for row in zip(*(ds[name] for name in columns), strict=True):
        views = [(value or "").strip() for value in row]
        if not all(views):
            continue
        for column, view in zip(texts, views, strict=True):
            column.append(view)
        if max_examples is not None and len(texts[0]) >= max_examples:
            break
    if not texts[0]:
        raise ValueError(f"dataset {train!r} (split {split!r}, columns {columns}) has no non-empty text")
    fingerprint = _sha256("dataset", train, split, columns, getattr(ds, "_fingerprint", None), max_examples)
    return _pairs(texts, fingerprint, train)


def load_texts(
    train: str,
    *,
    text_columns: tuple[str, ...] | list[str] | None = None,
    split: str = "train",
    max_examples: int | None = None,
) -> TextPairs:
    """Load training sentences from ``train``.

    - a ``.tsv`` file, or any file whose non-empty lines all hold exactly one (two) tabs: two columns
      ``T(x)<TAB>T′(x)`` (BSL's layout) or three ``x<TAB>T(x)<TAB>T′(x)``; in a ``.tsv`` a line with another
      column count than the first is an error naming the file and line;
    - any other text file: one sentence ``x`` a line;
    - ``.csv``/``.json``/``.jsonl``/``.parquet``/``.arrow`` files, local dataset directories and hub ids:
      loaded with ``datasets``; ``text_columns`` picks one to three columns in that order (default: the first
      one or two string columns).
    """
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be >= 1, got {max_examples}")
    path = Path(train).expanduser()
    if path.is_file() and path.suffix.lower() not in DATASET_SUFFIXES:
        return _load_file(path, max_examples)
    if not path.exists() and looks_like_path(train):
        raise FileNotFoundError(f"training data file not found: {train} (resolved to {os.path.abspath(path)})")
    return _load_dataset(train, text_columns, split, max_examples)
