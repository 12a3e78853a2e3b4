"""Where an input lives and what it holds: a local path or a Hugging Face Hub id, checked without loading it.

Every module that takes a model, a dataset or a training file asks here, so that they all answer alike:

- :func:`looks_like_path` / :func:`model_source`: which names can only be local paths, and what a model name
  resolves to (a size name → its hub id, a local directory → its absolute path, a hub id unchanged);
- :func:`has_weights`: whether a model directory holds weights that ``from_pretrained`` loads
  (:data:`WEIGHT_FILES`), or only a config (then the encoder builds a random init, the MLM views refuse it);
- :func:`offline`, :func:`in_cache`, :func:`reachable`: whether a hub id can be had here. Offline follows the
  libraries that do the downloading, read when asked (tests and users set it after import): for models
  (huggingface_hub, transformers) ``HF_HUB_OFFLINE``, or ``TRANSFORMERS_OFFLINE`` when that is unset; for
  datasets ``HF_DATASETS_OFFLINE`` when set, else the same rule. A value counts as set when it is 1, on, yes or
  true (any case), as in those libraries;
- :func:`file_columns` / :func:`file_column_count`: the column count of a text file of training sentences,
  decided by all of its non-empty lines (the rule :mod:`sct.data.sources` loads by, and the one the ablation
  pre-flight predicts it with).
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import Literal

from sct.presets import SIZES, size_overrides

Kind = Literal["model", "dataset"]

DATA_SUFFIXES = (".txt", ".tsv", ".text", ".csv", ".json", ".jsonl", ".parquet", ".arrow")
DATASET_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".arrow")  # files read with ``datasets``, not as text
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
HUB_HOST = ("huggingface.co", 443)
_TRUE = {"1", "ON", "YES", "TRUE"}


def looks_like_path(name: str) -> bool:
    """True for names that can only be local paths (``/x``, ``./x``, ``~/x``, ``a/b/c``, ``x.txt``)."""
    return (
        name.startswith(("/", ".", "~"))
        or "\\" in name
        or name.count("/") > 1
        or Path(name).suffix.lower() in DATA_SUFFIXES
    )


def model_source(name: str) -> str:
    """A size name → its hub id; an existing local directory → its absolute path; a hub id unchanged.

    A path-like name that does not exist, or a file, raises FileNotFoundError naming it.
    """
    if name in SIZES:
        return size_overrides(name)["model.name"]
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise FileNotFoundError(f"model path {name} is a file; expected a model directory or a hub id")
    if looks_like_path(name):
        raise FileNotFoundError(
            f"model directory {name} does not exist (expected a local model directory or a Hugging Face hub id)"
        )
    return name


def has_weights(directory: str | Path) -> bool:
    """Whether ``directory`` holds model weights in a file ``from_pretrained`` reads (:data:`WEIGHT_FILES`)."""
    return any((Path(directory) / name).is_file() for name in WEIGHT_FILES)


def _env_true(name: str) -> bool | None:
    """The environment flag ``name``: None when unset or empty, else whether it says true."""
    value = os.environ.get(name)
    return None if not value else value.upper() in _TRUE


def offline(kind: Kind = "model") -> bool:
    """Whether the library that fetches a ``kind`` from the Hub is told to stay offline (module docstring)."""
    hub = _env_true("HF_HUB_OFFLINE")
    models = bool(hub if hub is not None else _env_true("TRANSFORMERS_OFFLINE"))
    if kind == "dataset":
        datasets = _env_true("HF_DATASETS_OFFLINE")
        return models if datasets is None else datasets
    return models


def in_cache(repo_id: str, kind: Kind = "model") -> bool:
    """Whether the Hub repo ``repo_id`` is in the local Hugging Face cache (its config.json / README.md)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return False
    probe = "config.json" if kind == "model" else "README.md"
    return isinstance(try_to_load_from_cache(repo_id, probe, repo_type=kind), str)


def reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub answers a TCP connection within ``timeout`` (no request is sent)."""
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def file_columns(path: Path, lines: list[str]) -> int:
    """The column count of a text file from its non-empty ``lines``.

    A ``.tsv`` has as many columns as its first line (a line with another count is an error when parsed);
    any other file has 2 or 3 when every line holds exactly 1 or 2 tabs, else it is one sentence a line.
    """
    if path.suffix.lower() == ".tsv":
        return lines[0].count("\t") + 1 if lines else 2
    tabs = {line.count("\t") for line in lines}
    return tabs.pop() + 1 if len(tabs) == 1 and tabs <= {1, 2} else 1


def file_column_count(path: Path) -> int:
    """:func:`file_columns` of the file at ``path``, all of it, split into lines as the loader splits them."""
    stat = path.stat()
    return _column_count(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _column_count(path: str, size: int, mtime_ns: int) -> int:  # size and mtime: a rewritten file is read again
    data = Path(path).read_bytes()
    if b"\t" not in data and not path.lower().endswith(".tsv"):
        return 1  # what file_columns says when no line holds a tab, without decoding and splitting the file
    text = data.decode("utf-8", errors="replace")  # undecodable bytes: the loader reports them
    return file_columns(Path(path), [line for line in text_lines(text) if line.strip()])


def text_lines(text: str) -> list[str]:
    """The lines of a decoded text file (a leading byte-order mark dropped)."""
    return text.removeprefix("\ufeff").splitlines()
