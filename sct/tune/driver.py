"""What ``sct.sweep`` and ``sct.ablate`` share before Ray starts: options, the experiment directory, checks.

Every bad input — unknown size or file, bad YAML, a missing data/STS/teacher path, an unreachable
``--address`` or tracking server, unwritable storage, an experiment that exists without ``--resume``, a resume
whose space/config changed, an experiment another driver holds — raises :class:`~sct.errors.UserError` here,
which the CLI boundary turns into exit code 2 and one line. The experiment directory is locked for the
driver's lifetime, so two drivers on one experiment give one clean refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct import cli
from sct.config import SCTConfig
from sct.config_io import changed_keys, flatten
from sct.errors import UserError
from sct.storage import DirLock, read_json, write_json
from sct.tune.keep import KEEP_MODELS
from sct.tune.smoke import SMOKE_OVERRIDES, SMOKE_TRIAL_CPUS

FINGERPRINT_FILE = "sct_experiment.json"
TRIALS_DIR = "trials"
DEFAULT_TRAIN_FN = "sct.trainer:train"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``sct.sweep`` and ``sct.ablate`` (config flags come from :mod:`sct.cli`)."""
    cli.add_config_args(parser, max_steps=False)
    add = parser.add_argument
    add("--storage", default="./sct_runs", help="experiment root, shared by all nodes (default ./sct_runs)")
    add("--tracking-uri", help="MLflow tracking URI (default sqlite:///<storage>/mlflow.db)")
    add("--experiment", help="experiment name (Ray experiment dir and MLflow experiment)")
    add("--address", default=os.environ.get("RAY_ADDRESS"), help="running Ray cluster (default $RAY_ADDRESS)")
    add("--max-concurrent", type=int, help="trials running at once")
    add("--cpus-per-trial", type=float, help="CPUs per trial (default from the YAML file)")
    add("--gpus-per-trial", type=float, help="GPU fraction per trial (default from the YAML file)")
    add(
        "--resources-per-trial",
        type=_custom_resources,
        metavar="JSON",
        help="custom Ray resources per trial, e.g. '{\"worker_node\": 0.5}': trials run only on nodes started "
        "with ray start --resources",
    )
    add("--seed", type=int, help="training seed (and the Optuna sampler's seed)")
    add("--resume", action="store_true", help="continue an interrupted experiment")
    add("--dry-run", action="store_true", help="print the plan and exit without starting Ray")
    add("--smoke", action="store_true", help="a few steps and trials: checks the set-up in minutes on a CPU")
    add("--dashboard", action="store_true", help="start Ray's dashboard with a local Ray (off by default)")
    add("--verbose", action="store_true", help="Ray's own progress table and the libraries' warnings too")
    add("--register", metavar="NAME", help="also register the best model in MLflow's model registry as NAME")
    add(
        "--keep-models",
        choices=KEEP_MODELS,
        help="trial models kept when the experiment ends: every finished trial's (all, the default) or the best "
        "trial's of the sweep / of each ablation row (best, the default with --smoke); metrics and MLflow runs "
        "are always kept",
    )
    add("--trainer", default=DEFAULT_TRAIN_FN, help="MODULE:FUNCTION with sct.trainer.train's signature")
    cli.add_debug_arg(parser)


def spec_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ExperimentSpec fields that come straight from the common flags."""
    return {
        "dashboard": args.dashboard,
        "verbose": args.verbose,
        "register": args.register,
        "keep_models": keep_models(args),
    }


def keep_models(args: argparse.Namespace) -> str:
    """``--keep-models`` as given, else ``best`` for a ``--smoke`` run (a set-up check: its models are not
    results worth the disk) and ``all`` otherwise."""
    return args.keep_models or ("best" if args.smoke else "all")


def describe_keep(keep: str) -> str:
    """The dry run's line about the trial models an experiment keeps."""
    which = "the best trial's of the sweep / of each row" if keep == "best" else "every finished trial's"
    return f"trial models kept at the end: {which} (--keep-models {keep}; default all, best with --smoke)"


def base_overrides(args: argparse.Namespace, storage: Path) -> dict[str, Any]:
    """Smoke settings < config flags and ``--set`` < ``--seed``; the data cache under the storage root."""
    out = (SMOKE_OVERRIDES if args.smoke else {}) | cli.config_overrides(args)
    if args.seed is not None:
        out["optim.seed"] = args.seed
    out.setdefault("data.cache_dir", str(storage / "cache"))
    return out


def trial_resources(resources: dict[str, float], args: argparse.Namespace) -> dict[str, float]:
    """Per-trial resources from the YAML file, 1 CPU for smoke runs, overridden by the resource flags."""
    out = {"cpu": float(resources.get("cpu", 1.0)), "gpu": float(resources.get("gpu", 0.0))}
    if args.smoke:
        out["cpu"] = SMOKE_TRIAL_CPUS
    if args.cpus_per_trial is not None:
        out["cpu"] = args.cpus_per_trial
    if args.gpus_per_trial is not None:
        out["gpu"] = args.gpus_per_trial
    return out | (getattr(args, "resources_per_trial", None) or {})


def describe_resources(resources: dict[str, float]) -> str:
    """``cpu 1, gpu 0.25, worker_node 1`` for the plan printed by ``--dry-run``."""
    return ", ".join(f"{name} {amount:g}" for name, amount in resources.items())


def _custom_resources(text: str) -> dict[str, float]:
    """``--resources-per-trial``: a JSON object of custom resource names to amounts (not CPU/GPU)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in value.values()):
        raise argparse.ArgumentTypeError('expected a JSON object of positive amounts, e.g. {"worker_node": 0.5}')
    reserved = sorted(k for k in value if k.lower() in ("cpu", "gpu", "memory"))
    if reserved:
        raise argparse.ArgumentTypeError(f"{reserved[0]!r}: use --cpus-per-trial / --gpus-per-trial")
    return {str(k): float(v) for k, v in value.items()}


def check_storage(storage: Path) -> Path:
    """Create the experiment root and prove it is writable."""
    storage = storage.expanduser().resolve()
    try:
        storage.mkdir(parents=True, exist_ok=True)
        probe = storage / ".sct_write_test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        raise UserError(f"--storage {storage} is not writable: {err.strerror or err}") from None
    return storage


def _check_tcp(flag: str, value: str, hostport: str, what: str) -> None:
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"{flag} {value!r}: expected HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=3):
            pass
    except OSError as err:
        raise UserError(f"{flag} {value}: {what} unreachable ({err.strerror or err})") from None


def check_address(address: str | None) -> None:
    """A ``host:port`` (or ``ray://host:port``) address must accept a TCP connection within 3 s."""
    if address and address not in ("auto", "local"):
        _check_tcp("--address", address, address.split("://", 1)[-1], "Ray cluster")


def check_tracking_uri(uri: str) -> None:
    """An ``http(s)://`` tracking server must accept a TCP connection within 3 s."""
    if uri.startswith(("http://", "https://")):
        hostport = uri.split("://", 1)[1].split("/", 1)[0]
        if ":" not in hostport:
            hostport += ":443" if uri.startswith("https") else ":80"
        _check_tcp("--tracking-uri", uri, hostport, "MLflow tracking server")


def fingerprint_config(cfg: SCTConfig) -> dict[str, Any]:
    """The flattened config with JSON-safe values (what a resume must match)."""
    return json.loads(json.dumps(flatten(cfg), default=str))


@dataclass
class Experiment:
    """Where an experiment lives and what identifies it (the fingerprint guards ``--resume``)."""

    name: str
    storage: Path
    tracking_uri: str
    fingerprint: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    lock: DirLock | None = None
    created: bool = False  # open() wrote its fingerprint (a new experiment, not a resumed one)

    @property
    def path(self) -> Path:
        return self.storage / self.name

    @property
    def trials_root(self) -> Path:
        return self.path / TRIALS_DIR

    @property
    def artifacts(self) -> Path:
        """The MLflow artifact root of a new experiment on a local store: its runs' files and logged models,
        apart from other experiments' (so its footprint can be measured)."""
        return self.storage / "mlartifacts" / self.name

    def open(self, resume: bool) -> None:
        """Lock the directory, then refuse to overwrite an existing experiment or resume a changed one. A new
        experiment's fingerprint is written at once, with the id that tags its MLflow parent run."""
        if resume and not self.path.is_dir():  # nothing was started here (a directory without a fingerprint
            raise UserError(f"--resume: no experiment {self.name!r} under {self.storage}")  # was: it resumes)
        self.created = not (self.path / FINGERPRINT_FILE).exists()
        self.lock = DirLock(self.path, f"experiment {self.name!r}").acquire()
        try:
            self._check(resume)
        except UserError:
            self.close()
            raise
        if "instance" not in self.state:
            self.state["instance"] = uuid.uuid4().hex
            self.save()

    def _check(self, resume: bool) -> None:
        file = self.path / FINGERPRINT_FILE
        if not file.is_file():  # new, or killed before its fingerprint was written: started as new
            return
        if not resume:
            raise UserError(
                f"experiment {self.name!r} already exists in {self.path}: pass --resume or a new --experiment"
            )
        saved = read_json(file)
        changed = changed_keys(saved["fingerprint"], json.loads(json.dumps(self.fingerprint, default=str)))
        if changed:
            raise UserError(f"refusing to resume {self.name!r}: the space/config changed: " + "; ".join(changed))
        self.state = saved.get("state", {})

    def forget_if_unstarted(self) -> None:
        """A new experiment refused (bad input) before its MLflow parent run existed was never started: its
        fingerprint goes, so the lock leaves no directory behind and the same command, fixed, starts it anew."""
        if self.created and "parent_run_id" not in self.state:
            (self.path / FINGERPRINT_FILE).unlink(missing_ok=True)

    def close(self) -> None:
        """Release the experiment lock (it is also released when the process dies)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def save(self) -> None:
        write_json(self.path / FINGERPRINT_FILE, {"fingerprint": self.fingerprint, "state": self.state})
