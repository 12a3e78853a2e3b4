"""Which rows of an ablation grid can run where the user is, checked before Ray starts (all rows at once).

A grid row can need inputs the base config does not: a masked LM for ``data.augmentation: mlm``, nltk and
WordNet for ``synonym``, a training source with the columns its views are read from (T(x), T′(x) for
``back_translation``/``same``, x for ``dropout``/``mlm``/``synonym``: :func:`sct.data.augment.view_problem`),
a teacher for the distillation grids. Finding out inside a trial costs a Ray start and a failed run per seed, one
missing input at a time; here every row is checked in a second or two, and every missing input is reported
together, each with its fix. ``sct.ablate`` refuses such a grid (exit 2) unless ``--skip-unavailable``, which
runs the other rows and records the skipped ones (parent tag ``sct.skipped``, listed by ``sct.report``).

The checks mirror what the data code does: :mod:`sct.data.mlm_views` loads ``data.mlm_model`` or else the
student's checkpoint with a masked-LM head; :mod:`sct.data.synonym_views` needs nltk and finds WordNet in
``data.wordnet_dir``, ``/usr/share/wordnet`` or nltk's data path; :mod:`sct.data.sources` counts a text
file's columns by its tabs (:func:`sct.hub.file_column_count`, the loader's rule). A hub id is not probed
over the network here; it counts as available unless the Hub is offline (:func:`sct.hub.offline`) and it is
not in the local Hugging Face cache.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.errors import InputProblems
from sct.hub import DATASET_SUFFIXES, file_column_count, has_weights, in_cache, looks_like_path, offline
from sct.inputs import FIXES

_MLM_HEAD_PREFIXES = ("cls.predictions.", "lm_head.", "vocab_projector.", "generator_lm_head.", "predictions.")
_LEXICAL_FIX = 'pip install -e ".[lexical]" then apt-get install wordnet-base (or --set data.wordnet_dir=DIR)'
_TEACHER_HINT = "PATH_OR_ID (offline: --teacher ../shared/models/all-MiniLM-L6-v2)"
_MLM_FIX = "--set data.mlm_model=bert-base-uncased (downloads it) or a local dir of a model with an MLM head"


def _safetensors_keys(path: Path) -> list[str] | None:
    """Tensor names in the header of ``path/*.safetensors`` (no weights read), None without such a file."""
    keys: list[str] = []
    files = sorted(path.glob("*.safetensors"))
    for file in files:
        with file.open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            keys += [k for k in json.loads(handle.read(size)) if k != "__metadata__"]
    return keys if files else None


def model_problem(name: str, *, needs_mlm_head: bool) -> str | None:
    """Why ``name`` (a local dir or a hub id) cannot be loaded here as a model, or None."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not has_weights(path):
            return f"{name} has no model weights (a config-only directory)"
        keys = _safetensors_keys(path)
        if needs_mlm_head and keys is not None and not any(k.startswith(_MLM_HEAD_PREFIXES) for k in keys):
            return f"{name} has no masked-LM head (an encoder without cls.predictions/lm_head weights)"
        return None
    if looks_like_path(name):
        return f"{name} does not exist"
    if offline() and not in_cache(name):
        return f"{name} is a hub id, not in the local Hugging Face cache, and HF_HUB_OFFLINE is set"
    return None


def synonym_problem(cfg: SCTConfig) -> str | None:
    """Why WordNet synonym views cannot be made here (nltk or WordNet missing), with the fix, or None."""
    try:
        import nltk  # noqa: F401 - only whether it imports
    except ImportError:
        return f"data.augmentation=synonym needs nltk and WordNet, and nltk is not installed: {_LEXICAL_FIX}"
    from sct.data.synonym_views import find_wordnet_dir

    try:
        find_wordnet_dir(cfg.data.wordnet_dir)
    except FileNotFoundError as err:
        detail = str(err).split(";")[0]
        return f"data.augmentation=synonym needs WordNet: {detail}: {_LEXICAL_FIX}"
    return None


def source_column_count(cfg: SCTConfig) -> int | None:
    """The training source's column count, or None where only loading it tells (a dataset read without
    ``data.text_columns``; a path that is not there, which input resolution reports)."""
    from sct.data.paper_data import PAPER_DATA

    if cfg.data.train == PAPER_DATA:
        return 3
    path = Path(cfg.data.train).expanduser()
    if path.is_file() and path.suffix.lower() not in DATASET_SUFFIXES:
        return file_column_count(path)
    return None if cfg.data.text_columns is None else len(cfg.data.text_columns)


def views_problem(cfg: SCTConfig) -> str | None:
    """Why ``data.augmentation``'s views cannot be made faithfully from ``data.train``, with the fix."""
    from sct.data.augment import view_problem

    columns = source_column_count(cfg)
    if cfg.data.augmentation == "auto" or columns is None:
        return None
    return view_problem(cfg.data.augmentation, columns, f"data.train={cfg.data.train}")


def row_problems(cfg: SCTConfig) -> list[str]:
    """Every missing input of one resolved row config, each with its fix."""
    problems: list[str] = []
    if cfg.distill.teacher is not None:
        problem = model_problem(cfg.distill.teacher, needs_mlm_head=False)
        if problem:
            problems.append(f"distill.teacher: {problem}: pass --teacher with a model dir or hub id")
    augmentation = cfg.data.augmentation
    if augmentation == "mlm":
        model = cfg.data.mlm_model or cfg.model.name
        problem = model_problem(model, needs_mlm_head=True)
        if problem:
            problems.append(f"data.augmentation=mlm needs a masked LM, but {problem}: {_MLM_FIX}")
    elif augmentation == "synonym":
        problems += [p for p in [synonym_problem(cfg)] if p]
    problems += [p for p in [views_problem(cfg)] if p]
    return problems


def unavailable_rows(grid: Any, base: SCTConfig, teacher: str | None) -> dict[str, str]:
    """``{row name: why it cannot run here, with the fix}`` for every row of ``grid`` (an AblationGrid)."""
    out: dict[str, str] = {}
    for row in grid.rows:
        if grid.needs_teacher and not teacher:
            out[row.name] = f"a distillation grid needs a teacher: pass --teacher {_TEACHER_HINT}"
            continue
        try:
            cfg = grid.row_config(base, row.name, teacher)
        except ValueError as err:
            out[row.name] = str(err)
            continue
        problems = row_problems(cfg)
        if problems:
            out[row.name] = "; ".join(problems)
    return {name: " ".join(reason.split()) for name, reason in out.items()}  # one line each


def select_available(
    grid: Any, base: SCTConfig, teacher: str | None, skip: bool, found: InputProblems | None = None
) -> tuple[Any, dict[str, str]]:
    """(the grid to run, skipped rows with reasons), or :class:`InputProblems` listing the base config's
    problems (``found``: :func:`sct.inputs.resolve_inputs`'s) and every unavailable row, one line each.

    With ``skip`` the unavailable rows are dropped, unless that leaves nothing to run or drops the baseline
    (every Δ is measured against it); without it the suggested command adds ``--skip-unavailable`` where
    that would run the other rows."""
    where = f"grid {grid.name} ({grid.path})"
    found = found or InputProblems([], [])
    if grid.needs_teacher and not teacher:
        needs = f"{grid.path}: grid '{grid.name}' needs a teacher: pass --teacher {_TEACHER_HINT}"
        raise found.extended([needs], [FIXES["distill.teacher"]])
    reasons = unavailable_rows(grid, base, teacher)
    listed = " | ".join(f"row '{name}': {reason}" for name, reason in reasons.items())
    if reasons and len(reasons) == len(grid.rows):
        found = found.extended([f"{where}: no row can run here: {listed}"], [])
    elif grid.baseline in reasons:
        baseline = f"{where}: the baseline row '{grid.baseline}' cannot run here, so no Δ can be measured: {listed}"
        found = found.extended([baseline], [])
    elif reasons and not skip:
        lines = [f"{where}: row '{name}' cannot run here: {reason}" for name, reason in reasons.items()]
        lines[-1] += " -- fix the rows, or pass --skip-unavailable to run the other rows"
        found = found.extended(lines, ["--skip-unavailable"])
    if found.problems:
        raise found
    return grid.select([r.name for r in grid.rows if r.name not in reasons]), reasons
