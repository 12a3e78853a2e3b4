"""One experiment under ``--storage``: its directory, lock and fingerprint, and the checks of where it lives.

Unwritable storage, an unreachable ``--address`` or tracking server, an experiment that exists without
``--resume``, a resume whose space/config changed, an experiment another driver holds: each raises
:class:`~sct.errors.UserError` here, which the CLI boundary turns into exit code 2 and one line. The experiment
directory is locked for the driver's lifetime, so two drivers on one experiment give one clean refusal. The
experiment's state (``sct_experiment.json``) holds its instance id, its MLflow ids and the local Ray it started;
:class:`Experiment` is its one reader and writer.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import changed_keys, flatten
from sct.errors import UserError
from sct.storage import DirLock, read_json, write_json
from sct.tune import tracking

FINGERPRINT_FILE = "sct_experiment.json"
TRIALS_DIR = "trials"
ENDED = "ended"  # state key: FINISHED / FAILED once a driver ran the experiment to its end and summary


def saved_state(path: Path) -> dict[str, Any]:
    """The state an experiment at ``path`` saved (empty when there is none), read without taking its lock."""
    file = path / FINGERPRINT_FILE
    return read_json(file).get("state", {}) if file.is_file() else {}


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


def locate(storage: str, address: str | None, tracking_uri: str | None) -> tuple[Path, str]:
    """(storage root, tracking URI) of a new driver, checked before anything expensive: the root writable, the
    Ray address and the tracking server reachable (the URI defaults to a sqlite store under the root)."""
    root = check_storage(Path(storage))
    check_address(address)
    uri = tracking_uri or tracking.default_tracking_uri(root)
    check_tracking_uri(uri)
    return root, uri


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
    def experiment_id(self) -> str:
        """The MLflow experiment's id (set when the parent run is opened)."""
        return self.state["experiment_id"]

    @property
    def parent_run_id(self) -> str:
        """The MLflow parent run's id (set when it is opened)."""
        return self.state["parent_run_id"]

    @property
    def mlflow(self) -> Any:
        """The MLflow client of this experiment's store."""
        return tracking.client(self.tracking_uri)

    @property
    def artifacts(self) -> Path:
        """The MLflow artifact root of a new experiment on a local store: its runs' files and logged models,
        apart from other experiments' (so its footprint can be measured)."""
        return self.storage / "mlartifacts" / self.name

    @property
    def finished(self) -> bool:
        """Whether a driver ran it to its end, every trial ended and summarised (none crashed)."""
        return self.state.get(ENDED) == "FINISHED"

    def open(self, resume: bool) -> None:
        """Lock the directory, then refuse to overwrite an existing experiment or resume a changed one. A new
        experiment's fingerprint is written at once, with the id that tags its MLflow parent run."""
        if resume and not self.path.is_dir():  # nothing was started here (a directory without a fingerprint resumes)
            raise UserError(f"--resume: no experiment {self.name!r} under {self.storage}")
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
