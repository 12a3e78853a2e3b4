"""The STS sets on the Hugging Face Hub, each pinned by id, split and revision and checked against SentEval.

SentEval (which SimCSE and the paper use) scores a fixed number of pairs per set; a Hub copy that holds more or
fewer pairs gives a score that looks right and is not comparable. So every Hub source is pinned to a revision
and its pair count must equal SentEval's (:data:`SENTEVAL_PAIRS`): a mismatch raises, naming the source and both
counts. The revisions of the ``mteb/*`` sets are the ones MTEB pins in its own task definitions.

SICK-R is the exception: ``mteb/sickr-sts`` 'test' holds all 9,927 SICK pairs of SemEval-2014 (train, trial and
test), not SentEval's 4,927-pair test split, and the full SICK release on the Hub (``sick``, with a
``SemEval_set`` column) has 4,906 test pairs, not 4,927. SICK-R therefore comes from SentEval's own data as
SimCSE publishes it: ``SICK/SICK_test_annotated.txt`` inside ``senteval.tar`` of
``princeton-nlp/datasets-for-simcse``, read from the tar without unpacking it.

A SentEval-layout directory (``--sts-dir``) is checked against the same counts, with a warning only: tests and
users may score on subsets on purpose.
"""

from __future__ import annotations

import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Pairs per set in SentEval's 'all' setting (unscored STS pairs skipped); STS-B dev 1,500 as in its release.
SENTEVAL_PAIRS: dict[tuple[str, str], int] = {
    ("sts12", "test"): 3108,
    ("sts13", "test"): 1500,
    ("sts14", "test"): 3750,
    ("sts15", "test"): 3000,
    ("sts16", "test"): 1186,
    ("stsb", "test"): 1379,
    ("stsb", "dev"): 1500,
    ("sickr", "test"): 4927,
}


@dataclass(frozen=True)
class HubSource:
    """One STS split on the Hub: a ``datasets`` split (columns sentence1, sentence2, score) or, with
    ``member``, one SentEval file inside the tar ``filename`` of a dataset repository."""

    repo: str
    revision: str
    split: str = "test"
    filename: str | None = None
    member: str | None = None

    def __str__(self) -> str:
        where = f"{self.filename}:{self.member}" if self.member else f"split '{self.split}'"
        return f"{self.repo}@{self.revision[:7]} {where}"


def _mteb(name: str, revision: str, split: str = "test") -> HubSource:
    return HubSource(f"mteb/{name}", revision, split)


SENTEVAL_TAR = ("princeton-nlp/datasets-for-simcse", "e145e8bb659b2aa2669f32ef79cb4cdef6c58fef", "senteval.tar")
HUB_SOURCES: dict[tuple[str, str], HubSource] = {
    ("sts12", "test"): _mteb("sts12-sts", "a0d554a64d88156834ff5ae9920b964011b16384"),
    ("sts13", "test"): _mteb("sts13-sts", "7e90230a92c190f1bf69ae9002b8cea547a64cca"),
    ("sts14", "test"): _mteb("sts14-sts", "6031580fec1f6af667f0bd2da0a551cf4f0b2375"),
    ("sts15", "test"): _mteb("sts15-sts", "ae752c7c21bf194d8b67fd573edf7ae58183cbe3"),
    ("sts16", "test"): _mteb("sts16-sts", "4d8694f8f0e0100860b497b999b3dbed754a0513"),
    ("stsb", "test"): _mteb("stsbenchmark-sts", "b0fddb56ed78048fa8b90373c8a3cfc37b684831"),
    ("stsb", "dev"): _mteb("stsbenchmark-sts", "b0fddb56ed78048fa8b90373c8a3cfc37b684831", "validation"),
    ("sickr", "test"): HubSource(
        SENTEVAL_TAR[0], SENTEVAL_TAR[1], filename=SENTEVAL_TAR[2], member="SICK/SICK_test_annotated.txt"
    ),
}


def check_count(name: str, split: str, found: int, source: object) -> None:
    """Raise ValueError unless ``found`` pairs is SentEval's count for ``name``/``split``."""
    expected = SENTEVAL_PAIRS[(name, split)]
    if found != expected:
        raise ValueError(
            f"{source} has {found:,} {name} {split} pairs, SentEval's has {expected:,}: its score would not be "
            "comparable with the paper's; use --sts-dir with SentEval's data"
        )


def warn_count(name: str, split: str, found: int, where: Path) -> None:
    """A logged warning when a directory's set differs from SentEval's count (subsets are allowed)."""
    expected = SENTEVAL_PAIRS[(name, split)]
    if found != expected:
        message = "%s %s in %s: %d pairs, SentEval's has %d (scores are not comparable)"
        log.warning(message, name, split, where, found, expected)


def tar_member_lines(tar_path: Path, member: str) -> list[str]:
    """The lines of the tar member whose path ends with ``member`` (any leading folder), decoded as UTF-8."""
    with tarfile.open(tar_path) as tar:
        found = [info for info in tar.getmembers() if info.isfile() and f"/{info.name}".endswith(f"/{member}")]
        if not found:
            raise FileNotFoundError(f"{tar_path} has no member {member}")
        data = tar.extractfile(found[0])
        assert data is not None  # a regular file
        return data.read().decode("utf-8").splitlines()


def download(source: HubSource) -> Path:
    """The pinned file of ``source`` from the Hub cache (downloaded once)."""
    from huggingface_hub import hf_hub_download

    assert source.filename is not None
    return Path(hf_hub_download(source.repo, source.filename, repo_type="dataset", revision=source.revision))


def load_rows(source: HubSource) -> tuple[list[str], list[str], list[float]]:
    """(sentences1, sentences2, scores) of a ``datasets`` source at its pinned revision."""
    from datasets import load_dataset

    dataset = load_dataset(source.repo, split=source.split, revision=source.revision)
    return (
        [str(s) for s in dataset["sentence1"]],
        [str(s) for s in dataset["sentence2"]],
        [float(s) for s in dataset["score"]],
    )
