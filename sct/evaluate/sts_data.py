"""The seven STS evaluation sets (paper §4): STS12-16 (SentEval 'all' setting), STS-B, SICK-R.

Two sources give the same pairs: a SentEval-layout directory or pinned copies on the Hugging Face Hub
(``sts_dir=None``; :mod:`sct.evaluate.hub_sources`, each checked against SentEval's pair count). In the 'all'
setting the subsets of one STS year are concatenated and scored with one Spearman correlation. A directory may
be laid out flat (``STS12-en-test/``, ``STSBenchmark/``, ``SICK/`` side by side, as SimCSE ships it; see
``../shared/README.md``) or as SentEval's own download leaves it (``data/downstream/STS/STS12-en-test``,
``data/downstream/STS/STSBenchmark``, ``data/downstream/SICK``): ``sts_dir`` may then be the SentEval checkout,
its ``data/downstream`` or its ``data/downstream/STS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sct.config import STS_TASKS
from sct.evaluate import hub_sources

# Subset names per year exactly as SentEval has them (STS.input.<subset>.txt / STS.gs.<subset>.txt).
SENTEVAL_SUBSETS: dict[str, tuple[str, ...]] = {
    "sts12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "sts13": ("FNWN", "headlines", "OnWN"),
    "sts14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "sts15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "sts16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
# Each task's folder, relative to a folder holding the task folders.
TASK_FOLDERS: dict[str, str] = {
    **{f"sts1{y}": f"STS1{y}-en-test" for y in "23456"},
    "stsb": "STSBenchmark",
    "sickr": "SICK",
}
SICK_TEST = "SICK_test_annotated.txt"


def _bases(root: Path, name: str) -> list[Path]:
    """Folders that may hold ``name``'s folder: flat ``root``, then SentEval's ``[data/]downstream[/STS]``."""
    group = "" if name == "sickr" else "STS"  # SentEval keeps SICK beside STS/, not inside it
    bases = [root, root / "downstream" / group, root / "data" / "downstream" / group]
    if name == "sickr" and root.name == "STS":
        bases.append(root.parent)  # sts_dir = data/downstream/STS: SICK is its sibling
    if name != "sickr":
        bases.append(root / "STS")
    return bases


def task_path(name: str, sts_dir: str | Path) -> Path:
    """The folder of task ``name`` under ``sts_dir`` in either layout; the flat path when neither exists."""
    root = Path(sts_dir)
    folder = TASK_FOLDERS[name]
    for base in _bases(root, name):
        if (base / folder).is_dir():
            return base / folder
    return root / folder


def task_available(name: str, sts_dir: str | Path, split: str = "test") -> bool:
    """True when the files of task ``name`` (``split``) are under ``sts_dir``: a cheap check, no parsing."""
    if split == "dev" and name != "stsb":
        return False
    folder = task_path(name, sts_dir)
    if name == "stsb":
        return (folder / f"sts-{split}.csv").is_file()
    if name == "sickr":
        return (folder / SICK_TEST).is_file()
    return any((folder / f"STS.input.{subset}.txt").is_file() for subset in SENTEVAL_SUBSETS[name])


def available_tasks(sts_dir: str | Path, split: str = "test") -> tuple[list[str], list[str]]:
    """(present, missing) among the seven tasks under ``sts_dir``, both in :data:`STS_TASKS` order."""
    present = [name for name in STS_TASKS if task_available(name, sts_dir, split)]
    return present, [name for name in STS_TASKS if name not in present]


@dataclass(frozen=True)
class STSPairs:
    """One STS task: n sentence pairs with gold similarity scores (any scale; only ranks matter)."""

    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]

    def __len__(self) -> int:
        return len(self.scores)


def load_task(name: str, *, sts_dir: str | Path | None, split: str = "test", warn: bool = True) -> STSPairs:
    """Load task ``name`` (one of sct.config.STS_TASKS); ``split='dev'`` exists for stsb only. ``warn``: log when a
    directory's set is not SentEval's size (off while inputs are only checked: a run warns when it scores, and a
    refused command stays one line)."""
    if name not in STS_TASKS:
        raise ValueError(f"unknown STS task {name!r}: allowed {list(STS_TASKS)}")
    if split not in ("test", "dev") or (split == "dev" and name != "stsb"):
        raise ValueError(f"split {split!r} is not available for task {name!r}: 'test' (and 'dev' for stsb only)")
    if sts_dir is None:
        return _load_hf(name, split)
    root = Path(sts_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"STS directory {root} does not exist (expected a SentEval-layout directory)")
    folder = task_path(name, root)
    if name == "stsb":
        task = _load_stsb(name, folder / f"sts-{split}.csv")
    elif name == "sickr":
        path = folder / SICK_TEST
        task = _parse_sick(name, _read_lines(path, "the SICK test file with a header and tab-separated columns"), path)
    else:
        task = _load_senteval_year(name, folder)
    if warn:
        hub_sources.warn_count(name, split, len(task), folder)
    return task


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"STS file {path} not found (expected {what})")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not valid UTF-8: {err}") from err


def _score(text: str, path: Path, line_no: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path} line {line_no}: score {text!r} is not a number") from None


def _load_senteval_year(name: str, directory: Path) -> STSPairs:
    """All subsets of one year that exist in ``directory``, concatenated (SentEval 'all' setting)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"STS directory {directory} not found (expected STS.input.<subset>.txt files)")
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    found = 0
    for subset in SENTEVAL_SUBSETS[name]:
        inputs, gold = directory / f"STS.input.{subset}.txt", directory / f"STS.gs.{subset}.txt"
        if not inputs.exists():
            continue
        found += 1
        pairs = _read_lines(inputs, "two tab-separated sentences a line")
        golds = _read_lines(gold, f"one gold score a line for {inputs.name}")
        if len(pairs) != len(golds):
            raise ValueError(f"{inputs} has {len(pairs)} lines but {gold} has {len(golds)}")
        for line_no, (pair, score) in enumerate(zip(pairs, golds, strict=True), start=1):
            if not score.strip():
                continue  # an unscored pair: SentEval skips it
            parts = pair.split("\t")
            if len(parts) < 2:
                raise ValueError(f"{inputs} line {line_no}: expected two tab-separated sentences")
            s1.append(parts[0])
            s2.append(parts[1])
            scores.append(_score(score.strip(), gold, line_no))
    if not found:
        expected = ", ".join(f"STS.input.{s}.txt" for s in SENTEVAL_SUBSETS[name])
        raise FileNotFoundError(f"no STS subset files in {directory} (expected some of: {expected})")
    return STSPairs(name, s1, s2, scores)


def _load_stsb(name: str, path: Path) -> STSPairs:
    """STS-B in SentEval layout: genre, file, year, id, score, s1, s2 (extra trailing columns ignored)."""
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for line_no, line in enumerate(_read_lines(path, "tab-separated STS-B lines of 7 columns"), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 7:
            raise ValueError(f"{path} line {line_no}: expected 7 tab-separated columns, found {len(cols)}")
        scores.append(_score(cols[4], path, line_no))
        s1.append(cols[5])
        s2.append(cols[6])
    if not scores:
        raise ValueError(f"{path} contains no sentence pairs")
    return STSPairs(name, s1, s2, scores)


def _parse_sick(name: str, lines: list[str], path: Path | str) -> STSPairs:
    """SICK test: header line, then pair_ID, sentence_A, sentence_B, relatedness_score, ... a line."""
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 4:
            raise ValueError(f"{path} line {line_no}: expected at least 4 tab-separated columns, found {len(cols)}")
        s1.append(cols[1])
        s2.append(cols[2])
        scores.append(_score(cols[3], path, line_no))
    if not scores:
        raise ValueError(f"{path} contains no sentence pairs")
    return STSPairs(name, s1, s2, scores)


def _load_hf(name: str, split: str) -> STSPairs:
    """The pinned Hub copy of ``name``/``split`` (:data:`hub_sources.HUB_SOURCES`), its pair count checked."""
    source = hub_sources.HUB_SOURCES[(name, split)]
    if source.member is not None:
        tar = hub_sources.download(source)
        task = _parse_sick(name, hub_sources.tar_member_lines(tar, source.member), f"{tar}:{source.member}")
    else:
        task = STSPairs(name, *hub_sources.load_rows(source))
    hub_sources.check_count(name, split, len(task), source)
    return task
