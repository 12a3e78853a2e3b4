"""The in-process executor: one :class:`~sct.data.backtranslation.translator.RoundTrip` in this process.

Used by ``python -m sct.data backtranslate --runner local`` and by a single training run (``sct.train``)
that has to make the paper's views first; sweeps and the default ``backtranslate`` use Ray Data
(:mod:`sct.data.backtranslation.ray_runner`). Each shard is translated in chunks of ``8 × batch_size``
sentences: long enough to sort by length within a chunk, short enough for a lively progress line.
"""

from __future__ import annotations

from sct.data.backtranslation.job import Batches, Executor, Job
from sct.data.backtranslation.translator import RoundTrip


def local_executor(*, device: str | None = None, threads: int | None = None) -> Executor:
    """An executor translating every pending shard in this process (models loaded on first use)."""

    def run(job: Job, pending: list[int]) -> Batches:
        round_trip = RoundTrip(job.pivots, job.generation, device=device, threads=threads)
        chunk = 8 * job.generation.batch_size
        for shard in pending:
            start, stop = job.bounds(shard)
            for first in range(start, stop, chunk):
                last = min(first + chunk, stop)
                yield range(first, last), round_trip(job.unique[first:last])

    return run
