"""The sentences a back-translation job reads: a text file, TSV columns, or ``datasets`` columns, in order.

- a text file (one sentence a line), the default for any file that is not a ``.tsv`` or a dataset file;
- a ``.tsv`` file: the 1-based ``columns`` (default ``[1]``);
- a ``datasets`` source (hub id, ``save_to_disk`` directory, ``.csv``/``.json``/``.jsonl``/``.parquet``/
  ``.arrow``): the named ``columns`` of ``split`` (default: its first string column).

Several columns are read row by row (row 1 column a, row 1 column b, row 2 …), so a premise is followed by
its hypothesis. Each sentence is whitespace-normalised (:func:`~sct.data.backtranslation.translator.clean`:
the output is a TSV) and empty ones are dropped; duplicates stay (the job translates each distinct sentence
once and writes every input line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sct.data.backtranslation.translator import clean
from sct.errors import UserError
from sct.hub import DATASET_SUFFIXES, looks_like_path


def _keep(texts: Iterable[str | None]) -> list[str]:
    return [text for text in (clean(t or "") for t in texts) if text]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: undecodable bytes at byte offset {err.start}: the file is not UTF-8") from None


def _tsv_columns(path: Path, columns: Sequence[str]) -> list[str]:
    try:
        positions = [int(c) for c in columns] or [1]
    except ValueError:
        raise UserError(f"--column {list(columns)}: {path} is a .tsv file; give 1-based column numbers") from None
    out: list[str | None] = []
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if max(positions) > len(cells) or min(positions) < 1:
            raise UserError(f"{path}, line {number}: no column {max(positions)} (the line has {len(cells)})")
        out += [cells[p - 1] for p in positions]
    return _keep(out)


def _dataset_columns(source: str, columns: Sequence[str], split: str) -> list[str]:
    from sct.data.sources import open_dataset, string_columns

    try:
        ds = open_dataset(source, split)
    except ValueError as err:
        raise UserError(f"backtranslate input: {err}") from None
    strings = string_columns(ds)
    names = list(columns) or strings[:1]
    missing = [name for name in names if name not in strings]
    if not names or missing:
        raise UserError(f"dataset {source!r}: no string column {missing or ''} (string columns: {strings})")
    rows = zip(*(ds[name] for name in names), strict=True)
    return _keep(text for row in rows for text in row)


def read_sentences(source: str, columns: Sequence[str] = (), split: str = "train") -> list[str]:
    """The input sentences of ``source`` in order (see the module docstring); UserError for bad input."""
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() not in DATASET_SUFFIXES:
        if path.suffix.lower() == ".tsv":
            sentences = _tsv_columns(path, columns)
        elif columns:
            raise UserError(f"--column: {path} is a text file of one sentence a line; it has no columns")
        else:
            sentences = _keep(_lines(path))
    elif not path.exists() and looks_like_path(source):
        raise UserError(f"backtranslate input {source}: no such file or directory")
    else:
        sentences = _dataset_columns(source, columns, split)
    if not sentences:
        raise UserError(f"backtranslate input {source}: no sentences")
    return sentences
