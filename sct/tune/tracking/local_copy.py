"""One physical copy of a logged model on a local artifact store.

MLflow logs a model by copying its files into the artifact store. When that store is a directory on the
driver's filesystem (the default ``<storage>/mlartifacts``, or any ``file:`` artifact root), the copy is
replaced after logging, file by file, by hard links to the directory that was logged (the experiment's
``best_model``, itself hard links to the best trial's ``model/``): the disk holds the weights once, under
three names, and deleting any name (a trial model removed by ``--keep-models best``, a ``best_model``
deleted by hand) leaves the others intact. Safe for the same reason :func:`sct.storage.copy_tree` is:
neither sct nor MLflow rewrites a file in place.

A remote artifact store (``mlflow-artifacts:``, ``http(s):``, ``s3:`` …) keeps its own copy on its server:
nothing here applies to it.
"""

from __future__ import annotations

import filecmp
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse


def local_path(uri: str) -> Path | None:
    """The directory of a ``file:`` URI or plain path; None for a remote store's URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri.startswith("/"):
        return Path(uri)
    return None


def link_identical(source: Path, copy: Path) -> int:
    """Replace each file under ``copy`` whose counterpart under ``source`` (same relative path) holds the
    same bytes by a hard link to that counterpart; returns the bytes freed.

    Each replacement is atomic (a link under a temporary name, renamed over the copy), so a reader always
    finds the whole file. A file that differs, has no counterpart, or cannot be linked (another filesystem,
    links not allowed) keeps its copy.
    """
    freed = 0
    for path in sorted(p for p in copy.rglob("*") if p.is_file() and not p.is_symlink()):
        twin = source / path.relative_to(copy)
        try:
            if not twin.is_file() or path.samefile(twin) or not filecmp.cmp(path, twin, shallow=False):
                continue
            size = path.stat().st_size
            temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.link")
            os.link(twin, temp)
        except OSError:
            continue
        try:
            os.replace(temp, path)
        except OSError:
            temp.unlink(missing_ok=True)
            continue
        freed += size
    return freed
