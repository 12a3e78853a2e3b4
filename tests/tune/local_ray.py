"""A local Ray for the tests, in a fresh temp dir of its own, whose processes never outlive the test session."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.process_guard import guard_dir


def short_temp(prefix: str = "sct-test-ray-") -> Path:
    """A fresh directory under /tmp: Ray's unix sockets need short paths (~107 characters)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@contextmanager
def local_ray_session(num_cpus: int = 2) -> Iterator[Path]:
    """``ray.init`` in this process with a fresh temp dir, guarded on that dir: a pytest run killed in the middle
    leaves none of this Ray's processes (the raylet's agents outlive it otherwise). Yields the temp dir."""
    import ray

    temp = short_temp()
    with guard_dir(temp, grace_s=2.0):  # removes the temp dir too; orphaned agents ignore SIGTERM anyway
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
        try:
            yield temp
        finally:
            ray.shutdown()
