"""load_task on the SentEval-layout fixtures (tests/fixtures/sts) and on ../shared, with its error messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sct.config import STS_TASKS
from sct.evaluate import load_task

STS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sts"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", STS_TASKS)
def test_every_task_loads_from_the_fixture(name: str) -> None:
    task = load_task(name, sts_dir=STS_FIXTURE)
    assert task.name == name and len(task) >= 8
    assert len(task.sentences1) == len(task.sentences2) == len(task.scores)
    assert all(0.0 <= s <= 5.0 for s in task.scores)


def test_senteval_year_concatenates_subsets_in_order_and_skips_unscored_pairs() -> None:
    directory = STS_FIXTURE / "STS12-en-test"
    task = load_task("sts12", sts_dir=STS_FIXTURE)
    expected = []
    for subset in ("MSRpar", "MSRvid"):  # SentEval's order; the other STS12 subsets are absent here
        pairs = _lines(directory / f"STS.input.{subset}.txt")
        golds = _lines(directory / f"STS.gs.{subset}.txt")
        expected += [(*p.split("\t"), float(g)) for p, g in zip(pairs, golds, strict=True) if g.strip()]
    assert "" in _lines(directory / "STS.gs.MSRpar.txt")  # the fixture has an unscored pair
    assert list(zip(task.sentences1, task.sentences2, task.scores, strict=True)) == expected


def test_stsb_reads_score_and_sentences_from_columns_4_5_6_despite_extra_columns() -> None:
    lines = _lines(STS_FIXTURE / "STSBenchmark" / "sts-test.csv")
    task = load_task("stsb", sts_dir=STS_FIXTURE)
    assert len(task) == len(lines) and len(lines[1].split("\t")) == 9
    cols = lines[1].split("\t")
    assert (task.scores[1], task.sentences1[1], task.sentences2[1]) == (float(cols[4]), cols[5], cols[6])
    assert len(load_task("stsb", sts_dir=STS_FIXTURE, split="dev")) == 10


def test_sick_skips_the_header() -> None:
    task = load_task("sickr", sts_dir=STS_FIXTURE)
    first = _lines(STS_FIXTURE / "SICK" / "SICK_test_annotated.txt")[1].split("\t")
    assert len(task) == 9 and (task.sentences1[0], task.scores[0]) == (first[1], float(first[3]))


def test_bad_task_split_and_missing_paths_raise() -> None:
    with pytest.raises(ValueError, match="unknown STS task 'sts17'"):
        load_task("sts17", sts_dir=STS_FIXTURE)
    with pytest.raises(ValueError, match="split 'dev' is not available for task 'sts12'"):
        load_task("sts12", sts_dir=STS_FIXTURE, split="dev")
    with pytest.raises(FileNotFoundError, match="STS directory /no/such/dir does not exist"):
        load_task("stsb", sts_dir="/no/such/dir")


def test_missing_files_name_the_path_and_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "STS13-en-test").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no STS subset files in .*STS13-en-test .*STS.input.FNWN.txt"):
        load_task("sts13", sts_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"STS directory .*STS14-en-test not found"):
        load_task("sts14", sts_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"STS file .*STSBenchmark/sts-test.csv not found"):
        load_task("stsb", sts_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"SICK/SICK_test_annotated.txt not found"):
        load_task("sickr", sts_dir=tmp_path)


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    shutil.copytree(STS_FIXTURE, tmp_path, dirs_exist_ok=True)
    stsb = tmp_path / "STSBenchmark" / "sts-test.csv"
    lines = _lines(stsb)
    stsb.write_text("\n".join([*lines[:2], "genre\tfile\t2012\t1\t3.0\tonly one sentence", *lines[3:]]))
    with pytest.raises(ValueError, match=r"sts-test.csv line 3: expected 7 tab-separated columns, found 6"):
        load_task("stsb", sts_dir=tmp_path)
    gold = tmp_path / "STS15-en-test" / "STS.gs.belief.txt"
    golds = _lines(gold)
    gold.write_text("\n".join([*golds[:3], "high", *golds[4:]]) + "\n")
    with pytest.raises(ValueError, match=r"STS.gs.belief.txt line 4: score 'high' is not a number"):
        load_task("sts15", sts_dir=tmp_path)
    gold.write_text("\n".join(golds[:-1]) + "\n")
    with pytest.raises(ValueError, match=r"STS.input.belief.txt has 8 lines but .*STS.gs.belief.txt has 7"):
        load_task("sts15", sts_dir=tmp_path)
    inputs = tmp_path / "STS16-en-test" / "STS.input.plagiarism.txt"
    inputs.write_text("no tab here\n" + "\n".join(_lines(inputs)[1:]) + "\n")
    with pytest.raises(ValueError, match=r"STS.input.plagiarism.txt line 1: expected two tab-separated"):
        load_task("sts16", sts_dir=tmp_path)


@pytest.mark.shared
def test_real_stsb_splits(shared_dir: Path) -> None:
    sts_dir = shared_dir / "data" / "sts"
    dev, test = (load_task("stsb", sts_dir=sts_dir, split=s) for s in ("dev", "test"))
    assert (len(dev), len(test)) == (1500, 1379)
    assert min(test.scores) == 0.0 and max(test.scores) == 5.0
