"""The paper's training data by default: the NLI sentences with two back-translations, made once and cached.

§4.1: "we use unlabeled texts from two NLI datasets, such as SNLI and MultiNLI [...] we use English-German-
English T and English-French-English T′ back-translations from Zhang et al. (2021)" (BSL's file). BSL's file
is not on the Hub, so ``data.train = paper-nli`` (the default) makes the same kind of data: the distinct
``premise`` and ``hypothesis`` sentences of the train splits of ``stanfordnlp/snli`` (550,152 pairs) and
``nyu-mll/multi_nli`` (392,702 pairs), in order of first occurrence, one line each (a premise, which has about
three hypotheses, trains once), with its EN→DE→EN and EN→FR→EN back-translation
(:data:`~sct.data.backtranslation.settings.DEFAULT_PIVOTS`, default generation settings). Of at most 1,885,708
sentences roughly 1.1M are distinct; the exact count is printed when the data is first read and kept in the
cache's ``meta.json``.

The three-column file is written once to ``<cache root>/backtranslated/paper-nli-<key>/views.tsv``; the key
hashes the inputs, the pivot models and the generation settings. The cache root is ``data.cache_dir`` (a
sweep or ablation sets it to ``<storage>/cache``: one copy for every trial, experiment and node that shares
the storage), else ``$SCT_CACHE_DIR``, else ``~/.cache/sct``. A single run makes it in-process; a sweep's
driver makes it on Ray Data before any trial starts. ``--train-data FILE`` (BSL's file, or any file of your
own) skips all of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sct.config import SCTConfig
from sct.data.backtranslation.settings import DEFAULT_PIVOTS, Generation, check_pivots
from sct.storage import cache_root

if TYPE_CHECKING:
    from sct.data.backtranslation.job import Executor

__all__ = ["PAPER_DATA", "make_paper_views", "paper_views_file", "training_source"]
PAPER_DATA = "paper-nli"  # the data.train value that names the paper's training data, made and cached here
NLI_INPUTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("stanfordnlp/snli", "train", ("premise", "hypothesis")),
    ("nyu-mll/multi_nli", "train", ("premise", "hypothesis")),
)
NLI_PAIRS = 550_152 + 392_702  # train pairs of the two datasets (their dataset cards)
DISTINCT_ESTIMATE = 1_100_000  # premises repeat about 3x; the real count is printed when read
PAPER_GENERATION = Generation()
PAPER_FORMAT = 1  # how the inputs become lines (distinct sentences, first-occurrence order); part of the key
# Distinct sentences/s (both pivots) of one model replica at the paper's settings, measured with opus-mt-shaped
# models on a loaded 2-core CPU (benchmarks/backtranslate.py, docs/performance.md): the dry run's estimate.
REPLICA_RATES = {"CPU core": 0.11}


def paper_key() -> str:
    """What the views file is made from: the inputs (and how they are read), the pivot models, the settings."""
    parts = {
        "format": PAPER_FORMAT,
        "inputs": NLI_INPUTS,
        "pivots": [p.identity() for p in DEFAULT_PIVOTS],
        "generation": PAPER_GENERATION.identity(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def paper_views_file(root: Path) -> Path:
    return Path(root) / "backtranslated" / f"{PAPER_DATA}-{paper_key()}" / "views.tsv"


def training_source(cfg: SCTConfig) -> str:
    """``data.train`` as a loadable source: the paper's data is its cached views file (made or not)."""
    return str(paper_views_file(cache_root(cfg))) if cfg.data.train == PAPER_DATA else cfg.data.train


def paper_sentences() -> list[str]:
    """Every premise and hypothesis of the NLI train splits, in order (downloads them once via datasets)."""
    from sct.data.backtranslation.inputs import read_sentences

    return [s for source, split, columns in NLI_INPUTS for s in read_sentences(source, columns, split)]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def estimate(sentences: int, replicas: int = 1) -> str:
    """``2777.8 h on 1 CPU core`` for ``sentences`` distinct sentences (both pivots), per measured replica rate."""
    return ", ".join(
        f"{_hours(sentences / (rate * replicas))} on {replicas} {name}{'s' if replicas > 1 else ''}"
        for name, rate in REPLICA_RATES.items()
    )


def describe(cfg: SCTConfig) -> str:
    """One line for dry runs: where the paper's views are cached, whether they exist, what making them costs."""
    path = paper_views_file(cache_root(cfg))
    if path.is_file():
        meta = path.with_name("meta.json")
        lines = json.loads(meta.read_text(encoding="utf-8")).get("lines") if meta.is_file() else "?"
        return f"{PAPER_DATA}: cached at {path} ({lines} lines x<TAB>T(x)<TAB>T′(x))"
    cores = max(os.cpu_count() or 1, 1)
    return (
        f"{PAPER_DATA}: not made yet ({path}): ~{DISTINCT_ESTIMATE:,} distinct SNLI+MNLI sentences (from "
        f"{NLI_PAIRS:,} train pairs) x 2 pivots, back-translated once before training on Ray Data, est. "
        f"{estimate(DISTINCT_ESTIMATE)} ({estimate(DISTINCT_ESTIMATE, cores)} here), divided by the replicas "
        "Ray Data gets (one per GPU or CPU worker); --train-data FILE skips it"
    )


def make_paper_views(root: Path, executor: Executor | None = None, *, stream: TextIO | None = None) -> Path:
    """The paper's views file under cache ``root``, made now if missing (``executor``: default in-process).
    One maker at a time: a second process waits for the first and then finds the file."""
    from sct.data.backtranslation.job import Job, run_job
    from sct.data.backtranslation.local import local_executor
    from sct.storage import DirLock, write_json

    stream = stream or sys.stderr
    out = paper_views_file(root)
    if out.is_file():
        return out
    with DirLock(out.parent, "paper data cache", blocking=True):
        if out.is_file():
            return out
        check_pivots(DEFAULT_PIVOTS)
        print(f"{PAPER_DATA}: reading {', '.join(s for s, _, _ in NLI_INPUTS)} (train) ...", file=stream)
        read = paper_sentences()
        job = Job(out, list(dict.fromkeys(read)), DEFAULT_PIVOTS, PAPER_GENERATION)  # one line per distinct one
        print(
            f"{PAPER_DATA}: {len(read):,} sentences read, {len(job.unique):,} distinct, to back-translate via "
            f"{', '.join(p.describe() for p in DEFAULT_PIVOTS)} into {out}; est. {estimate(len(job.unique))}",
            file=stream,
        )
        started = time.monotonic()
        try:
            outcome = run_job(job, executor or local_executor(), stream=stream)
        except KeyboardInterrupt:
            from sct.signals import Interrupted

            raise Interrupted(f"{PAPER_DATA}: finished shards are kept in {job.parts}; run again to continue") from None
        write_json(
            out.with_name("meta.json"),
            {"inputs": NLI_INPUTS, "read": len(read), "lines": len(job.inputs), "key": paper_key(),
             "pivots": [p.identity() for p in DEFAULT_PIVOTS], "generation": PAPER_GENERATION.identity(),
             "empty_replaced": outcome.empty_replaced, "seconds": round(time.monotonic() - started, 1)},
        )  # fmt: skip
    return out
