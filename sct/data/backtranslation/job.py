"""A back-translation job on disk: de-duplicated inputs in shards, resumable after a kill, assembled in order.

The input sentences (in order, duplicates included) are de-duplicated first: each distinct sentence is
translated once. The distinct sentences are cut into shards of ``shard_size``; a finished shard is one file
``OUT.parts/shard-NNNNN.tsv`` (one line of back-translations per sentence, written to a temp file and
renamed, so a kill never leaves half a shard). ``OUT.parts/job.json`` records what the shards were made
from (a hash of the distinct inputs, the pivots, the generation settings, the shard size); a re-run with the
same job skips finished shards, one with other inputs or settings is refused, so shards of two jobs are
never mixed. When every shard is there, ``OUT`` is written (temp file, rename) with exactly one line
``x<TAB>T(x)<TAB>T′(x)`` per input sentence in input order, and ``OUT.parts`` is deleted.

Executors (in-process, or Ray Data) only translate: they yield ``(ids, translations)`` batches of distinct
sentence ids, in any order; :func:`run_job` files them into shards, shows progress and assembles the output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sct.config_io import changed_keys
from sct.data.backtranslation.settings import Generation, Pivot
from sct.data.backtranslation.translator import clean
from sct.errors import UserError
from sct.storage import DirLock

JOB_FORMAT = 1
Batches = Iterator[tuple[Sequence[int], list[list[str]]]]  # distinct-sentence ids, one list per pivot
Executor = Callable[["Job", list[int]], Batches]


def dedupe(sentences: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(distinct sentences in first-occurrence order, (n,) int64 position of each input in that list)."""
    first: dict[str, int] = {}
    index = np.fromiter((first.setdefault(s, len(first)) for s in sentences), dtype=np.int64, count=len(sentences))
    return list(first), index


@dataclass
class Job:
    """Inputs (already cleaned, non-empty) and settings of one back-translation into ``out``."""

    out: Path
    inputs: list[str]
    pivots: tuple[Pivot, ...]
    generation: Generation
    shard_size: int = 2048

    def __post_init__(self) -> None:
        if not self.inputs:
            raise UserError("backtranslate: the input has no sentences")
        if self.shard_size < 1:
            raise UserError(f"--shard-size {self.shard_size}: allowed >= 1")
        self.unique, self.index = dedupe(self.inputs)

    @property
    def parts(self) -> Path:
        return self.out.with_name(self.out.name + ".parts")

    @property
    def num_shards(self) -> int:
        return -(-len(self.unique) // self.shard_size)

    def bounds(self, shard: int) -> tuple[int, int]:
        return shard * self.shard_size, min((shard + 1) * self.shard_size, len(self.unique))

    def shard_file(self, shard: int) -> Path:
        return self.parts / f"shard-{shard:05d}.tsv"

    def identity(self) -> dict[str, Any]:
        digest = hashlib.sha256("\n".join(self.unique).encode("utf-8")).hexdigest()
        return {
            "format": JOB_FORMAT,
            "inputs_sha256": digest,
            "inputs": len(self.inputs),
            "distinct": len(self.unique),
            "shard_size": self.shard_size,
            "pivots": [p.identity() for p in self.pivots],
            "generation": self.generation.identity(),
        }

    def open(self) -> None:
        """Create ``OUT.parts`` with the job's identity, or check that an existing one is this job."""
        file = self.parts / "job.json"
        identity = json.loads(json.dumps(self.identity()))
        if file.is_file():
            saved = json.loads(file.read_text(encoding="utf-8"))
            changed = changed_keys(saved, identity)
            if changed:
                raise UserError(
                    f"{self.parts} holds shards of another job ({'; '.join(changed)}): rerun with the same inputs "
                    f"and settings to continue it, or delete {self.parts} to start over"
                )
            return
        self.parts.mkdir(parents=True, exist_ok=True)
        _write_atomic(file, json.dumps(identity, indent=2) + "\n")

    def read_shard(self, shard: int) -> list[list[str]] | None:
        """The shard's rows (one list of translations per sentence), or None when absent or incomplete."""
        file = self.shard_file(shard)
        if not file.is_file():
            return None
        start, stop = self.bounds(shard)
        rows = [line.split("\t") for line in file.read_text(encoding="utf-8").split("\n")[:-1]]
        if len(rows) != stop - start or any(len(row) != len(self.pivots) for row in rows):
            return None
        return rows

    def pending(self) -> list[int]:
        return [s for s in range(self.num_shards) if self.read_shard(s) is None]

    def write_shard(self, shard: int, rows: list[list[str]]) -> int:
        """Write one finished shard; an empty translation becomes the sentence itself. Returns how many did."""
        start, _ = self.bounds(shard)
        empty = 0
        lines = []
        for offset, row in enumerate(rows):
            cells = [clean(text) for text in row]
            empty += sum(not cell for cell in cells)
            lines.append("\t".join(cell or self.unique[start + offset] for cell in cells))
        _write_atomic(self.shard_file(shard), "".join(line + "\n" for line in lines))
        return empty

    def assemble(self) -> None:
        """Write ``out``: one ``x<TAB>T(x)<TAB>T′(x)`` line per input, in input order; then drop the shards."""
        translations: list[str] = []
        for shard in range(self.num_shards):
            rows = self.read_shard(shard)
            if rows is None:
                raise RuntimeError(f"shard {shard} of {self.parts} is missing or incomplete at assembly")
            translations += ["\t".join(row) for row in rows]
        lines = (f"{text}\t{translations[u]}\n" for text, u in zip(self.inputs, self.index.tolist(), strict=True))
        _write_atomic(self.out, "".join(lines))
        shutil.rmtree(self.parts)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Progress:
    """``backtranslate: 1,024/10,000 sentences (10.2%), 35.1 sentences/s, ETA 0:04:16`` at most every
    ``every_s`` seconds and once at the end; the rate counts this run's sentences only."""

    def __init__(self, total: int, done: int, *, every_s: float = 10.0, stream: TextIO | None = None) -> None:
        self.total, self.done, self.every_s = total, done, every_s
        self.stream = stream or sys.stderr
        self.start = self.last = time.monotonic()
        self.start_done = done

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        left = self.total - self.done
        eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "unknown"
        share = 100.0 * self.done / self.total
        done = f"{self.done:,}/{self.total:,} sentences ({share:.1f}%)"
        return f"backtranslate: {done}, {rate:.1f} sentences/s, ETA {eta}"

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done == self.total:
            self.last = now
            print(self.line(), file=self.stream, flush=True)


@dataclass
class Outcome:
    """What one run of a job did (for the summary line and the benchmark)."""

    translated: int
    skipped_shards: int
    empty_replaced: int
    seconds: float


def run_job(job: Job, executor: Executor, *, every_s: float = 10.0, stream: TextIO | None = None) -> Outcome:
    """Translate the job's unfinished shards with ``executor``, then assemble ``job.out``; a second process on
    the same output is refused while this one runs."""
    stream = stream or sys.stderr
    job.open()
    lock = DirLock(job.parts, "backtranslate output").acquire()
    try:
        return _run(job, executor, every_s, stream)
    finally:
        lock.release()


def _run(job: Job, executor: Executor, every_s: float, stream: TextIO) -> Outcome:
    pending = job.pending()
    skipped = job.num_shards - len(pending)
    if skipped:
        print(f"backtranslate: {skipped} of {job.num_shards} shards already done in {job.parts}: skipped", file=stream)
    todo = sum(stop - start for start, stop in map(job.bounds, pending))
    progress = Progress(len(job.unique), len(job.unique) - todo, every_s=every_s, stream=stream)
    buffers: dict[int, dict[int, list[str]]] = {shard: {} for shard in pending}
    empty, started = 0, time.monotonic()
    for ids, columns in executor(job, pending) if pending else ():
        for position, u in enumerate(ids):
            shard = int(u) // job.shard_size
            if shard not in buffers:  # a retried task's repeat of a shard already written
                continue
            buffers[shard][int(u)] = [column[position] for column in columns]
            start, stop = job.bounds(shard)
            if len(buffers[shard]) == stop - start:
                rows = buffers.pop(shard)
                empty += job.write_shard(shard, [rows[i] for i in range(start, stop)])
        progress.add(len(ids))
    if buffers:
        raise RuntimeError(f"backtranslate: the executor returned no translations for shards {sorted(buffers)}")
    job.assemble()
    return Outcome(todo, skipped, empty, time.monotonic() - started)
