"""The Ray Data executor: the pending shards as one dataset, ``map_batches`` over a pool of model replicas.

One replica (a :class:`~sct.data.backtranslation.translator.RoundTrip` holding every pivot's two models) per
actor of a fixed pool: one actor per GPU of the cluster, or, without GPUs, one per ``cpus_per_worker`` CPUs
(torch then uses that many threads). Each pending shard is one block (a small job's are cut finer, so that
every replica has work) whose rows are sorted by length (less padding per ``generate`` batch); results stream
back to the driver in any order, tagged with their sentence ids, and the driver files them into shards
(:func:`sct.data.backtranslation.job.run_job`), so nothing but the driver writes: no shared filesystem is
needed for the output. Ray's own progress bars are off; the driver prints sentences/s and the ETA.

This is the only module of :mod:`sct.data` that imports Ray; it is imported only where work runs on Ray
(``python -m sct.data backtranslate`` and the sweep/ablation driver), never by the training code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import ray

from sct.data.backtranslation.job import Batches, Executor, Job
from sct.data.backtranslation.settings import Generation, Pivot
from sct.data.backtranslation.translator import RoundTrip


class _Replica:
    """One model replica inside a Ray actor: ``{"id", "text"}`` → ``{"id", "t0", "t1", ...}``."""

    def __init__(self, pivots: Sequence[Pivot], generation: Generation, threads: int | None) -> None:
        self.round_trip = RoundTrip(pivots, generation, threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        columns = self.round_trip([str(text) for text in batch["text"]])
        return {"id": batch["id"], **{f"t{i}": np.array(c, dtype=object) for i, c in enumerate(columns)}}


def replica_plan(workers: int | None, cpus_per_worker: int) -> tuple[int, float, float]:
    """(replicas, CPUs per replica, GPUs per replica) for the connected cluster."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return workers or gpus, 1.0, 1.0
    cpus = int(resources.get("CPU", 1))
    return workers or max(1, cpus // cpus_per_worker), float(cpus_per_worker), 0.0


def shard_tables(job: Job, pending: list[int], replicas: int) -> list[pa.Table]:
    """The pending shards as tables (Ray Data blocks), rows sorted by sentence length within a shard.

    An actor works on one block at a time, so a small job is cut finer: blocks of at most
    ``ceil(rows / (2 * replicas))`` rows (never below one generate batch) keep every replica busy."""
    rows = sum(stop - start for start, stop in map(job.bounds, pending))
    piece = max(job.generation.batch_size, -(-rows // (2 * replicas)))
    tables = []
    for shard in pending:
        start, stop = job.bounds(shard)
        ids = sorted(range(start, stop), key=lambda i: len(job.unique[i]))
        for first in range(0, len(ids), piece):
            chunk = ids[first : first + piece]
            tables.append(pa.table({"id": np.array(chunk, dtype=np.int64), "text": [job.unique[i] for i in chunk]}))
    return tables


def ray_executor(
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: int = 1,
    stream: TextIO | None = None,
    start: Callable[[], None] | None = None,
) -> Executor:
    """An executor running on Ray Data. Unless Ray is up, ``start()`` starts it (a sweep driver's own
    ``ray.init``), else it connects to ``address`` or starts a local Ray."""

    def run(job: Job, pending: list[int]) -> Batches:
        if not ray.is_initialized():
            if start is not None:
                start()
            else:
                ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
        context: Any = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        replicas, num_cpus, num_gpus = replica_plan(workers, cpus_per_worker)
        each = "1 GPU" if num_gpus else f"{num_cpus:g} CPU"
        print(f"backtranslate: Ray Data, {replicas} model replica(s), {each} each", file=stream or sys.stderr)
        dataset = ray.data.from_arrow(shard_tables(job, pending, replicas)).map_batches(
            _Replica,
            fn_constructor_kwargs={
                "pivots": job.pivots,
                "generation": job.generation,
                "threads": None if num_gpus else int(num_cpus),
            },
            batch_size=job.generation.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=replicas),
            num_cpus=num_cpus,
            num_gpus=num_gpus,
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            yield batch["id"].tolist(), [batch[f"t{i}"].tolist() for i in range(len(job.pivots))]

    return run
