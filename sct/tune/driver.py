"""What ``sct.sweep`` and ``sct.ablate`` share before Ray starts: options, path resolution, pre-flight checks.

Every bad input — unknown size or file, bad YAML, a missing data/STS/teacher path, an unreachable
``--address``, unwritable storage, an existing experiment without ``--resume`` or a resume whose space/config
changed — raises :class:`PreflightError` here, which the CLIs turn into exit code 2 and one line on stderr
(issue 3, §6). All paths are made absolute so that every trial, on any node, reads the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import apply_overrides, flatten, parse_set_args
from sct.tune.trainable import DEFAULT_TRAIN_FN

FINGERPRINT_FILE = "sct_experiment.json"
SMOKE_OVERRIDES: dict[str, Any] = {
    "optim.max_steps": 6,
    "optim.batch_size": 16,
    "eval.every_steps": 2,
    "data.max_examples": 256,
    "method.queue_size": 128,
}
_DATA_SUFFIXES = (".txt", ".tsv", ".csv", ".json", ".jsonl", ".parquet")


class PreflightError(Exception):
    """A bad input found before Ray starts: exit code 2, one line."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``sct.sweep`` and ``sct.ablate``."""
    add = parser.add_argument
    add("--set", action="append", default=[], metavar="KEY=VALUE", help="override a base config key")
    add("--train-data", help="training sentences: a file or a datasets id (data.train)")
    add("--sts-dir", help="SentEval-layout STS directory (eval.sts_dir)")
    add("--teacher", help="distillation teacher: hub id or local dir")
    add("--storage", default="./sct_runs", help="experiment root, shared by all nodes (default ./sct_runs)")
    add("--tracking-uri", help="MLflow tracking URI (default sqlite:///<storage>/mlflow.db)")
    add("--experiment", help="experiment name (Ray experiment dir and MLflow experiment)")
    add("--address", default=os.environ.get("RAY_ADDRESS"), help="running Ray cluster (default $RAY_ADDRESS)")
    add("--max-concurrent", type=int, help="trials running at once")
    add("--cpus-per-trial", type=float, help="CPUs per trial (default from the YAML file)")
    add("--gpus-per-trial", type=float, help="GPU fraction per trial (default from the YAML file)")
    add("--seed", type=int, help="training seed (and the Optuna sampler's seed)")
    add("--resume", action="store_true", help="continue an interrupted experiment")
    add("--dry-run", action="store_true", help="print the plan and exit without starting Ray")
    add("--smoke", action="store_true", help="a few steps and trials: checks the set-up in minutes on a CPU")
    add("--trainer", default=DEFAULT_TRAIN_FN, help="MODULE:FUNCTION with sct.trainer.train's signature")


def _abs_data(value: str) -> str:
    path = Path(value).expanduser()
    if path.exists():
        return str(path.resolve())
    if value.startswith(("/", "./", "../", "~")) or path.suffix in _DATA_SUFFIXES:
        raise PreflightError(f"config key 'data.train': training data {value!r} does not exist")
    return value  # a datasets id


def path_overrides(args: argparse.Namespace, storage: Path) -> dict[str, Any]:
    """``--train-data/--sts-dir/--set`` as overrides, applied last (``--teacher`` is handled per command)."""
    out: dict[str, Any] = {}
    if args.train_data:
        out["data.train"] = args.train_data
    if args.sts_dir:
        out["eval.sts_dir"] = args.sts_dir
    if args.seed is not None:
        out["optim.seed"] = args.seed
    try:
        out |= parse_set_args(args.set)
    except ValueError as err:
        raise PreflightError(str(err)) from None
    out.setdefault("data.cache_dir", str(storage / "cache"))
    return out


def absolute_model(value: str, key: str) -> str:
    """A model id or local dir, made absolute when local (a missing path-like value is a PreflightError)."""
    from sct.run_data import model_source

    try:
        source = model_source(value)
    except FileNotFoundError as err:
        raise PreflightError(f"{key}: {err}") from None
    return source if Path(value).expanduser().exists() else value


def absolute_paths(cfg: SCTConfig) -> SCTConfig:
    """Every local path in ``cfg`` made absolute (a missing path-like value is a PreflightError)."""
    out: dict[str, Any] = {"data.train": _abs_data(cfg.data.train)}
    for key, value in (
        ("model.name", cfg.model.name),
        ("distill.teacher", cfg.distill.teacher),
        ("data.mlm_model", cfg.data.mlm_model),
    ):
        if value is not None:
            out[key] = absolute_model(value, f"config key '{key}'")
    for key, value in (
        ("eval.sts_dir", cfg.eval.sts_dir),
        ("data.wordnet_dir", cfg.data.wordnet_dir),
        ("data.cache_dir", cfg.data.cache_dir),
    ):
        if value is not None:
            out[key] = str(Path(value).expanduser().resolve())
    if cfg.eval.sts_dir is not None and not Path(out["eval.sts_dir"]).is_dir():
        raise PreflightError(f"config key 'eval.sts_dir': STS directory {cfg.eval.sts_dir!r} does not exist")
    if cfg.data.wordnet_dir is not None and not Path(out["data.wordnet_dir"]).is_dir():
        raise PreflightError(f"config key 'data.wordnet_dir': {cfg.data.wordnet_dir!r} does not exist")
    return apply_overrides(cfg, out, "absolute paths")


def trial_meta(
    kind: str, size: str | None, tracking_uri: str, args: argparse.Namespace, resources: dict[str, float]
) -> dict[str, Any]:
    """The ``sct_meta`` every trial of a sweep or an ablation reads (kind-specific keys are added by the caller)."""
    from sct.tune import tracking

    return {
        "kind": kind,
        "size": size,
        "tracking_uri": tracking_uri,
        "train_fn": args.trainer,
        "cpus_per_trial": resources["cpu"],
        "git_commit": tracking.git_commit(),
    }


def trial_resources(resources: dict[str, float], args: argparse.Namespace) -> dict[str, float]:
    """Per-trial resources from the YAML file, overridden by --cpus-per-trial / --gpus-per-trial."""
    out = dict(resources)
    if args.cpus_per_trial is not None:
        out["cpu"] = args.cpus_per_trial
    if args.gpus_per_trial is not None:
        out["gpu"] = args.gpus_per_trial
    return out


def check_sts(cfg: SCTConfig) -> None:
    """With a local STS directory, every test task and STS-B dev must load (cheap: small text files)."""
    if cfg.eval.sts_dir is None:
        return
    from sct.evaluate import load_task

    for task, split in [("stsb", "dev"), *((t, "test") for t in cfg.eval.test_tasks)]:
        try:
            load_task(task, sts_dir=cfg.eval.sts_dir, split=split)
        except (OSError, ValueError) as err:
            raise PreflightError(f"eval.sts_dir {cfg.eval.sts_dir}: cannot load {task} {split}: {err}") from None


def check_storage(storage: Path) -> Path:
    """Create the experiment root and prove it is writable."""
    storage = storage.expanduser().resolve()
    try:
        storage.mkdir(parents=True, exist_ok=True)
        probe = storage / ".sct_write_test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        raise PreflightError(f"--storage {storage} is not writable: {err.strerror or err}") from None
    return storage


def check_address(address: str | None) -> None:
    """A ``host:port`` (or ``ray://host:port``) address must accept a TCP connection within 3 s."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise PreflightError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            pass
    except OSError as err:
        raise PreflightError(f"--address {address}: Ray cluster unreachable ({err.strerror or err})") from None


def resolve_config_or_fail(build: Any, *args: Any) -> Any:
    """Run a config-building callable, turning ValueError/FileNotFoundError into PreflightError."""
    try:
        return build(*args)
    except (ValueError, FileNotFoundError) as err:
        raise PreflightError(str(err)) from None


@dataclass
class Experiment:
    """Where an experiment lives and what identifies it (the fingerprint guards ``--resume``)."""

    name: str
    storage: Path
    tracking_uri: str
    fingerprint: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.storage / self.name

    def open(self, resume: bool) -> None:
        """Refuse to overwrite an existing experiment, or to resume one whose space/config differs."""
        file = self.path / FINGERPRINT_FILE
        if not file.is_file():
            if resume:
                raise PreflightError(f"--resume: no experiment {self.name!r} under {self.storage}")
            return
        saved = json.loads(file.read_text(encoding="utf-8"))
        if not resume:
            raise PreflightError(
                f"experiment {self.name!r} already exists in {self.path}: pass --resume or a new --experiment"
            )
        old, new = saved["fingerprint"], json.loads(json.dumps(self.fingerprint))
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            raise PreflightError(f"refusing to resume {self.name!r}: the space/config changed ({', '.join(changed)})")
        self.state = saved.get("state", {})

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        data = {"fingerprint": self.fingerprint, "state": self.state}
        (self.path / FINGERPRINT_FILE).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def fingerprint_config(cfg: SCTConfig) -> dict[str, Any]:
    """The flattened config with JSON-safe values (what a resume must match)."""
    return json.loads(json.dumps(flatten(cfg), default=str))
