"""A local Ray for the tests, in a fresh temp dir of its own, whose processes never outlive the test session.

In-process: :func:`local_ray_session`. As a driver process of its own (:func:`start_driver`, SIGKILLed by the
hygiene tests to leave a killed driver's leftovers): ``python -m tests.tune.local_ray TEMP_DIR OUT [ADDRESS]``
starts (or, given ADDRESS, joins) a Ray, writes to OUT what :func:`sct.tune.run.ray_hygiene.claim_session` claimed
before and :func:`~sct.tune.run.ray_hygiene.record_session` recorded after ``ray.init`` (None for nothing), and
sleeps until it is stopped.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.process_guard import Guarded, guard_dir

REPO = Path(__file__).resolve().parents[2]


def short_temp(prefix: str = "sct-test-ray-") -> Path:
    """A fresh directory under /tmp: Ray's unix sockets need short paths (~107 characters)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@contextmanager
def local_ray_session(num_cpus: int = 2) -> Iterator[Path]:
    """``ray.init`` in this process with a fresh temp dir, guarded on that dir: a pytest run killed in the middle
    leaves none of this Ray's processes (the raylet's agents outlive it otherwise). Yields the temp dir."""
    import ray

    assert not ray.is_initialized(), "an earlier test left an in-process Ray running (lifecycles stop theirs)"
    temp = short_temp()
    with guard_dir(temp, grace_s=2.0):  # removes the temp dir too; orphaned agents ignore SIGTERM anyway
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
        try:
            yield temp
        finally:
            ray.shutdown()


def start_driver(temp: Path, out: Path, token: str, address: str | None = None) -> Guarded:
    """A driver process that starts (or joins ``address``) a Ray in ``temp``; its record lands in ``out``.
    Ray >= 2.5x authenticates with a token: drivers that join a Ray need the token it was started with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")} | {"PYTHONPATH": str(REPO)}
    env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "tests.tune.local_ray", str(temp), str(out), *([address] if address else [])]
    with open(temp / "driver.log", "ab") as log:
        return Guarded(cmd, temp, env=env, stdout=log, stderr=log)


def main(temp: str, out: str, address: str | None = None) -> None:
    import ray

    from sct.tune.run.ray_hygiene import SESSION_KEY, claim_session, record_session

    state: dict = {}
    if address:
        ray.init(address=address)
    else:
        claim_session(state, temp)  # as a sweep driver does: claimed before its Ray starts
        ray.init(address="local", num_cpus=1, include_dashboard=False, _temp_dir=temp)
    claim = state.get(SESSION_KEY)  # what a driver killed inside ray.init leaves
    record_session(state)
    gcs = ray.get_runtime_context().gcs_address
    found = {"claim": claim, "record": state.get(SESSION_KEY), "gcs": gcs}
    Path(out).write_text(json.dumps(found), encoding="utf-8")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
