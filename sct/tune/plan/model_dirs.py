"""``--model-dir SIZE=DIR``: a local model for one size of a sweep, offline.

A directory whose weights have the size's shape is trained as it is. A directory holding only a tokenizer
and a ``config.json`` (no weights, e.g. ``../shared/models/bert-mini-config``) gives a randomly initialised
student of the *size's* shape — layers, hidden width, heads and intermediate width of :data:`SHAPES` — with
that directory's tokenizer and vocabulary: :func:`student_dir` writes the config of that shape and copies the
tokenizer files into ``<storage>/students/<size>-<hash>``, named by content, so every trial on every node
(and a resumed driver) reads the same files. Weights of another shape are refused: they cannot be reshaped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from sct.errors import UserError
from sct.presets import SIZES
from sct.storage import write_dir, write_json

STUDENTS_DIR = "students"


@dataclass(frozen=True)
class Shape:
    """The architecture of one of the paper's BERT sizes (Turc et al.'s compact BERTs, BERT-Base/Large)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int

    def parameters(self, vocab: int = 30522, positions: int = 512) -> int:
        """Weights of a ``BertModel`` of this shape (embeddings, encoder layers, pooler): the x axis of the
        cross-size plot. 4,385,920 for BERT-Tiny, 109,482,240 for BERT-Base with the uncased vocabulary."""
        h, i = self.hidden, self.intermediate
        embeddings = (vocab + positions + 2) * h + 2 * h
        layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h
        return embeddings + self.layers * layer + h * h + h

    def config_keys(self) -> dict[str, int]:
        return {
            "num_hidden_layers": self.layers,
            "hidden_size": self.hidden,
            "num_attention_heads": self.heads,
            "intermediate_size": self.intermediate,
        }


SHAPES: dict[str, Shape] = {
    "bert-tiny": Shape(2, 128, 2, 512),
    "bert-mini": Shape(4, 256, 4, 1024),
    "bert-small": Shape(4, 512, 8, 2048),
    "bert-base": Shape(12, 768, 12, 3072),
    "bert-large": Shape(24, 1024, 16, 4096),
}
assert tuple(SHAPES) == SIZES


def parse_model_dir(text: str) -> tuple[str, Path]:
    """argparse type of ``--model-dir SIZE=DIR``: a known size and an existing directory."""
    size, sep, directory = text.partition("=")
    if not sep or not directory:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SIZE=DIR, e.g. bert-tiny=../models/bert-tiny")
    if size not in SHAPES:
        raise argparse.ArgumentTypeError(f"{text!r}: unknown size {size!r}: allowed {list(SHAPES)}")
    path = Path(directory).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: {path} is not a model directory (no config.json)")
    return size, path


def model_dirs(pairs: list[tuple[str, Path]] | None, sizes: list[str]) -> dict[str, Path]:
    """``--model-dir`` pairs as ``{size: dir}``; a size given twice or not swept here is a UserError."""
    out: dict[str, Path] = {}
    for size, path in pairs or []:
        if size in out:
            raise UserError(f"--model-dir {size}=...: given twice ({out[size]} and {path})")
        if size not in sizes:
            raise UserError(f"--model-dir {size}={path}: {size} is not swept here (sizes: {', '.join(sizes)})")
        out[size] = path
    return out


def _has_weights(directory: Path) -> bool:
    """Weights :mod:`sct.hub` recognises, or a sentence-transformers directory (its weights are in modules)."""
    from sct.hub import has_weights

    return (directory / "modules.json").is_file() or has_weights(directory)


def student_dir(size: str, directory: Path, storage: Path) -> Path:
    """The model directory a ``size`` trial trains from, given ``--model-dir size=directory``."""
    shape = SHAPES[size]
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    matches = all(config.get(key) == value for key, value in shape.config_keys().items())
    if _has_weights(directory):
        if matches or (directory / "modules.json").is_file():  # a sentence-transformers dir: checked on load
            return directory
        found = {k: config.get(k) for k in shape.config_keys()}
        raise UserError(
            f"--model-dir {size}={directory}: its weights have another shape ({found}) than {size} "
            f"({shape.config_keys()}); pass a model of {size}'s shape, or a directory with only a tokenizer and a "
            "config.json (a random-init student of the size's shape is built from it)"
        )
    if matches:
        return directory  # config-only of the right shape: the encoder builds the random init itself
    config = {k: v for k, v in config.items() if k != "_name_or_path"} | shape.config_keys()
    files = sorted(f for f in directory.iterdir() if f.is_file() and f.name != "config.json")
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    target = storage / STUDENTS_DIR / f"{size}-{digest.hexdigest()[:12]}"
    if not (target / "config.json").is_file():

        def fill(tmp: Path) -> None:
            for file in files:
                shutil.copy2(file, tmp / file.name)
            write_json(tmp / "config.json", config)

        write_dir(target, fill, keep_existing=True)
    return target
