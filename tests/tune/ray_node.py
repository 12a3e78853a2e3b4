"""A Ray worker node on 127.0.0.1 for the cluster tests: ``python -m tests.tune.ray_node GCS_ADDRESS TEMP_DIR JSON``.

What ``ray start --address=GCS --block --num-cpus=1 --resources=JSON --temp-dir=TEMP_DIR`` does, minus one
thing: on Linux ``ray start`` rewrites a 127.0.0.1 address to the machine's network IP and refuses a worker
node when told to stay on loopback (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), so a loopback-only test cluster
cannot add its second node with the CLI. This starts the same ``ray._private.node.Node`` the CLI (and
``ray.cluster_utils.Cluster.add_node``) starts, with its own temp dir, writes ``TEMP_DIR/ready`` and blocks
until SIGTERM/SIGKILL; run it with ``start_new_session=True`` so the whole node is one process group.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path


def main(gcs_address: str, temp_dir: str, resources: str) -> None:
    import ray._private.node
    from ray._private.parameter import RayParams

    params = RayParams(
        gcs_address=gcs_address,
        node_ip_address="127.0.0.1",
        num_cpus=1,
        num_gpus=0,
        resources=json.loads(resources),
        temp_dir=temp_dir,
        object_store_memory=100 * 1024 * 1024,
        include_log_monitor=False,
    )
    node = ray._private.node.Node(params, head=False, shutdown_at_exit=True, spawn_reaper=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # runs the shutdown hook: the node's processes end
    Path(temp_dir, "ready").write_text(node.unique_id, encoding="utf-8")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
