"""Every input of a run resolved and checked once, before any expensive work: ``resolve_inputs(cfg) -> cfg``.

Local paths and hub ids are told apart, and hub ids checked, by :mod:`sct.hub`. :func:`resolve_inputs` turns a
size name into its hub id, makes every local path absolute (so every process on every node reads the same
files), and fails with one :class:`UserError` line naming the config key, the value and the fix when a path is
missing, the STS directory lacks a task, a hub id is neither in the local cache nor downloadable (offline users
get the flags that avoid the Hub), or a truncation length exceeds what its model takes. Missing paths, STS tasks
and unreachable hub ids are all found before raising: several are raised together as
:class:`~sct.errors.InputProblems` (one line each), with the flags (:data:`FIXES`) that replace each input, so
that a user fixes them in one go instead of one error per run.

A config that came out of :func:`resolve_inputs` is marked with its :func:`inputs_key` (the values of the
sections it reads), so that :func:`ensure_resolved`, which :func:`sct.trainer.train` calls, does the work once:
a sweep's driver resolves the experiment's base config, and a trial whose input sections equal the base's is
marked too (:func:`mark_resolved`) instead of probing the Hub and loading STS again. Any change of a config
(``dataclasses.replace``) makes a new, unmarked object; a mark whose key no longer matches does not count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.data.paper_data import PAPER_DATA
from sct.errors import InputProblems, UserError
from sct.hub import Kind, in_cache, looks_like_path, model_source, offline, reachable
from sct.presets import SIZES

OFFLINE_HINT = (
    "offline, pass local copies: --set model.name=DIR --train-data FILE --sts-dir DIR (and --teacher DIR when "
    "distilling)"
)


# (layers, hidden) of the paper's sizes: a local model's size is read from its shape, not from a flag.
SIZE_SHAPES = {
    (2, 128): "bert-tiny",
    (4, 256): "bert-mini",
    (4, 512): "bert-small",
    (12, 768): "bert-base",
    (24, 1024): "bert-large",
}


def model_size(name: str) -> str | None:
    """The paper size of a model: by hub id, or by the layers × hidden of a local directory's config.json."""
    from sct.presets import size_of

    size = size_of(name)
    if size is not None or not Path(name).is_dir():
        return size
    for folder in (Path(name), *sorted(Path(name).glob("*Transformer*"))):
        config = folder / "config.json"
        if config.is_file():
            data = json.loads(config.read_text(encoding="utf-8"))
            return SIZE_SHAPES.get((data.get("num_hidden_layers"), data.get("hidden_size")))
    return None


def unavailable(ids: dict[str, tuple[str, Kind]]) -> list[str]:
    """The keys of ``{key: (hub id, kind)}`` that are neither in the local cache nor downloadable now: those
    whose library is offline, else (the Hub probed once) every uncached one when the Hub does not answer."""
    missing = {key: kind for key, (name, kind) in ids.items() if not in_cache(name, kind)}
    blocked = [key for key, kind in missing.items() if offline(kind)]
    if blocked or not missing:
        return blocked
    return [] if reachable() else list(missing)


# The flag that replaces each input with a local copy (placeholders a user fills in).
FIXES = {
    "model.name": "--set model.name=MODEL_DIR",
    "data.train": "--train-data FILE",
    "eval.sts_dir": "--sts-dir STS_DIR",
    "distill.teacher": "--teacher TEACHER_DIR",
    "data.mlm_model": "--set data.mlm_model=MLM_DIR",
}


def hub_problems(ids: dict[str, tuple[str, Kind]]) -> list[tuple[str, str]]:
    """``{config key: (hub id, 'model'|'dataset')}``: (problem, fix) for each neither cached nor downloadable."""
    sizes = ", ".join(SIZES)
    return [
        (
            f"config key '{key}' = {ids[key][0]!r} is not a size ({sizes}), not a local path, and the Hugging Face "
            f"Hub is unreachable: {OFFLINE_HINT}",
            FIXES[key],
        )
        for key in unavailable(ids)
    ]


def length_limit_of(source: str) -> int:
    """The longest input the model at ``source`` (a local dir or a reachable hub id) takes whole."""
    from transformers import AutoConfig, AutoTokenizer

    from sct import st_format
    from sct.encoder import length_limit

    try:
        local = Path(source).is_dir()
        modules = st_format.read_json(source, "modules.json") if local else st_format.hub_json(source, "modules.json")
        sub = st_format.parse_modules(modules, source)[0] if modules is not None else ""
        kwargs = {"subfolder": sub} if sub else {}
        config = AutoConfig.from_pretrained(source, **kwargs)
        return length_limit(config, AutoTokenizer.from_pretrained(source, **kwargs))
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read the model config of {source!r}: {str(err).splitlines()[0]}") from None


def check_lengths(cfg: SCTConfig) -> None:
    """Every truncation length fits its model: training and evaluation (student), teacher (distillation)."""
    limit = length_limit_of(cfg.model.name)
    for key, value in (("model.max_length", cfg.model.max_length), ("eval.max_length", cfg.eval.max_length)):
        if value is not None and value > limit:
            raise UserError(
                f"config key '{key}' = {value} exceeds the {limit} tokens {cfg.model.name} takes: use <= {limit}"
            )
    if cfg.distill.teacher is not None:
        teacher_limit = length_limit_of(cfg.distill.teacher)
        if cfg.teacher_length > teacher_limit:
            raise UserError(
                f"config key 'distill.teacher_max_length' = {cfg.teacher_length} (default: model.max_length) exceeds "
                f"the {teacher_limit} tokens {cfg.distill.teacher} takes: use <= {teacher_limit}"
            )


def _sts_problem(sts_dir: str | None, tasks: tuple[str, ...]) -> tuple[str, str] | None:
    """(the first task that does not load, the fix: the tasks that do load, or another STS dir), or None."""
    from sct.evaluate.sts_data import load_task

    failed: dict[str, str] = {}
    for task, split in [("stsb", "dev"), *((t, "test") for t in tasks)]:
        try:
            load_task(task, sts_dir=sts_dir, split=split, warn=False)
        except (OSError, ValueError) as err:
            if split == "dev":
                return f"cannot load {task} {split}: {err}", FIXES["eval.sts_dir"]
            failed.setdefault(task, f"cannot load {task} {split}: {err}")
    if not failed:
        return None
    loaded = [t for t in tasks if t not in failed]
    return next(iter(failed.values())), f"--set eval.test_tasks=[{','.join(loaded or ['stsb'])}]"


def resolve_inputs(cfg: SCTConfig) -> SCTConfig:
    """``cfg`` with sizes resolved and local paths absolute; UserError naming the key for a bad input.

    Every missing path and unreachable hub id is found before raising: one problem is one line as ever,
    several are raised together (:class:`~sct.errors.InputProblems`) with the flags that fix each."""
    out: dict[str, dict[str, Any]] = {}
    hub: dict[str, tuple[str, Kind]] = {}
    problems: list[tuple[str, str]] = []  # (message, fixing flags)
    for section, key in (("model", "name"), ("distill", "teacher"), ("data", "mlm_model")):
        value = getattr(getattr(cfg, section), key)
        if value is None:
            continue
        try:
            source = model_source(value)
        except FileNotFoundError as err:
            problems.append((f"config key '{section}.{key}': {err}", FIXES[f"{section}.{key}"]))
            continue
        out.setdefault(section, {})[key] = source
        if not Path(source).is_absolute():
            hub[f"{section}.{key}"] = (source, "model")
    train = Path(cfg.data.train).expanduser()
    if cfg.data.train == PAPER_DATA:
        pass  # checked below, once data.cache_dir is resolved
    elif train.exists():
        out.setdefault("data", {})["train"] = str(train.resolve())
    elif looks_like_path(cfg.data.train):
        message = f"config key 'data.train': training data file not found: {cfg.data.train} ({train.resolve()})"
        problems.append((message, FIXES["data.train"]))
    else:
        hub["data.train"] = (cfg.data.train, "dataset")
    for section, key in (("eval", "sts_dir"), ("data", "wordnet_dir"), ("data", "cache_dir")):
        value = getattr(getattr(cfg, section), key)
        if value is None:
            continue
        path = Path(value).expanduser().resolve()
        if key != "cache_dir" and not path.is_dir():
            fix = FIXES["eval.sts_dir"] if key == "sts_dir" else "--set data.wordnet_dir=WORDNET_DIR"
            problems.append((f"config key '{section}.{key}': directory {value!r} does not exist", fix))
            continue
        out.setdefault(section, {})[key] = str(path)
    if cfg.eval.sts_dir is not None and "sts_dir" in out.get("eval", {}):
        problem = _sts_problem(out["eval"]["sts_dir"], cfg.eval.test_tasks)
        if problem:
            problems.append((f"config key 'eval.sts_dir' ({cfg.eval.sts_dir}): {problem[0]}", problem[1]))
    elif cfg.eval.sts_dir is None:
        from sct.evaluate.hub_sources import HUB_SOURCES

        hub["eval.sts_dir"] = (HUB_SOURCES[("stsb", "dev")].repo, "dataset")
    problems += hub_problems(hub)
    # A local STS dir often holds only STS-B (../shared does): the suggestion evaluates what it can find.
    sts_fixed = any(fix == FIXES["eval.sts_dir"] for _, fix in problems) and cfg.eval.test_tasks != ("stsb",)
    tasks_fix = "--set eval.test_tasks=[stsb]" if sts_fixed else None
    resolved = replace(cfg, **{section: replace(getattr(cfg, section), **values) for section, values in out.items()})
    if cfg.data.train == PAPER_DATA:
        problems += [p for p in [_paper_data_problem(resolved)] if p]
    if problems:
        raise_problems(problems, [tasks_fix] if tasks_fix else [])
    if cfg.eval.sts_dir is None:  # fetched (pinned) and counted now, not after training
        problem = _sts_problem(None, cfg.eval.test_tasks)
        if problem:
            raise UserError(f"config key 'eval.sts_dir' (None: the pinned Hub sources): {problem[0]}")
    check_lengths(resolved)
    return mark_resolved(resolved)


def raise_problems(problems: list[tuple[str, str]], extra_fixes: list[str]) -> None:
    """:class:`InputProblems` with every fix, in order (one problem reads as its one line)."""
    raise InputProblems([message for message, _ in problems], [fix for _, fix in problems] + extra_fixes)


INPUT_SECTIONS = ("model", "data", "eval", "distill")  # every value resolve_inputs reads is in these
_MARK = "_sct_inputs_key"


def inputs_key(cfg: SCTConfig) -> str:
    """A digest of the config sections :func:`resolve_inputs` reads (:data:`INPUT_SECTIONS`)."""
    sections = {name: asdict(getattr(cfg, name)) for name in INPUT_SECTIONS}
    return hashlib.sha256(json.dumps(sections, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def mark_resolved(cfg: SCTConfig) -> SCTConfig:
    """Mark ``cfg`` as resolved and checked: only for the output of :func:`resolve_inputs`, or a config whose
    input sections equal such an output's."""
    object.__setattr__(cfg, _MARK, inputs_key(cfg))  # frozen: an attribute outside the dataclass fields
    return cfg


def ensure_resolved(cfg: SCTConfig) -> SCTConfig:
    """``cfg`` itself when its inputs were resolved (see the module docstring), else :func:`resolve_inputs`."""
    return cfg if getattr(cfg, _MARK, None) == inputs_key(cfg) else resolve_inputs(cfg)


def _paper_data_problem(cfg: SCTConfig) -> tuple[str, str] | None:
    """``data.train=paper-nli`` needs its cached views, or the Hub to make them (datasets and pivot models)."""
    from sct.data.paper_data import DEFAULT_PIVOTS, NLI_INPUTS, training_source

    views = training_source(cfg)
    if Path(views).is_file():
        return None
    ids: list[tuple[str, Kind]] = [(name, "dataset") for name, _, _ in NLI_INPUTS]
    ids += [(name, "model") for p in DEFAULT_PIVOTS for name in (p.forward, p.back)]
    if not unavailable({name: (name, kind) for name, kind in ids if not Path(name).exists()}):
        return None
    message = (
        f"config key 'data.train' = {PAPER_DATA!r} (the paper's SNLI+MNLI sentences with two back-translations) is "
        f"not made yet ({views}) and the Hugging Face Hub is unreachable to make it: offline, pass --train-data FILE "
        "(BSL's back_translated_nli.txt, a file made by python -m sct.data backtranslate, or plain sentences)"
    )
    return message, FIXES["data.train"]
