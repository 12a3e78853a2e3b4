"""The pinned Hub sources: revisions passed through, SICK-R read from SentEval's tar, pair counts checked.

No Hub access here: ``datasets.load_dataset`` and the tar download are replaced by local fixtures built in the
test (a ``datasets.Dataset`` of the expected columns, a tar laid out as SimCSE's ``senteval.tar``).
"""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path

import pytest

from sct.config import STS_TASKS
from sct.evaluate import hub_sources
from sct.evaluate.hub_sources import HUB_SOURCES, SENTEVAL_PAIRS
from sct.evaluate.sts_data import load_task

STS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sts"


def test_every_task_and_split_has_a_pinned_source_and_a_senteval_count() -> None:
    wanted = {(task, "test") for task in STS_TASKS} | {("stsb", "dev")}
    assert set(HUB_SOURCES) == wanted == set(SENTEVAL_PAIRS)
    for source in HUB_SOURCES.values():
        assert len(source.revision) == 40 and int(source.revision, 16) >= 0  # a commit, not a branch
    assert HUB_SOURCES[("sickr", "test")].repo != "mteb/sickr-sts"  # that one holds all 9,927 SICK pairs


def fake_load_dataset(rows: int, calls: list[dict]):  # type: ignore[no-untyped-def]
    from datasets import Dataset

    def load(path, split=None, revision=None, **kwargs):  # type: ignore[no-untyped-def]
        calls.append({"path": path, "split": split, "revision": revision})
        data = {"sentence1": [f"a {i}" for i in range(rows)], "sentence2": ["b"] * rows, "score": [1.0] * rows}
        return Dataset.from_dict(data)

    return load


def test_a_datasets_source_is_loaded_at_its_revision_and_split(monkeypatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset(1500, calls))
    task = load_task("stsb", sts_dir=None, split="dev")
    source = HUB_SOURCES[("stsb", "dev")]
    assert calls == [{"path": "mteb/stsbenchmark-sts", "split": "validation", "revision": source.revision}]
    assert len(task) == 1500 and task.sentences1[3] == "a 3" and task.scores[0] == 1.0


@pytest.mark.parametrize(("task", "rows"), [("sts12", 3107), ("sts16", 9927)])
def test_a_source_with_another_pair_count_is_an_error_naming_it_and_both_counts(monkeypatch, task, rows) -> None:
    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset(rows, []))
    expected = SENTEVAL_PAIRS[(task, "test")]
    repo = HUB_SOURCES[(task, "test")].repo
    with pytest.raises(ValueError, match=rf"{repo}@\w{{7}} split 'test' has {rows:,} {task} test pairs, "
                       rf"SentEval's has {expected:,}"):  # fmt: skip
        load_task(task, sts_dir=None)


def senteval_tar(tmp_path: Path, sick_file: Path, prefix: str = "") -> Path:
    """A tar laid out as SimCSE's senteval.tar (SICK/ beside STS/), with a decoy of the same name elsewhere."""
    tar_path = tmp_path / "senteval.tar"
    decoy = tmp_path / "decoy.txt"
    decoy.write_text("not SICK\n", encoding="utf-8")
    with tarfile.open(tar_path, "w") as tar:
        tar.add(decoy, arcname=f"{prefix}SICK_old/SICK_test_annotated.txt")
        tar.add(sick_file, arcname=f"{prefix}SICK/SICK_test_annotated.txt")
        tar.add(STS_FIXTURE / "STSBenchmark" / "sts-test.csv", arcname=f"{prefix}STS/STSBenchmark/sts-test.csv")
    return tar_path


@pytest.mark.parametrize("prefix", ["", "./", "downstream/"])
def test_sickr_comes_from_senteval_tar_and_is_counted(monkeypatch, tmp_path, prefix) -> None:
    sick = STS_FIXTURE / "SICK" / "SICK_test_annotated.txt"
    tar_path = senteval_tar(tmp_path, sick, prefix)
    asked: list[hub_sources.HubSource] = []
    monkeypatch.setattr(hub_sources, "download", lambda source: asked.append(source) or tar_path)
    with pytest.raises(ValueError, match=r"princeton-nlp/datasets-for-simcse@e145e8b senteval.tar:SICK/"
                       r"SICK_test_annotated.txt has 9 sickr test pairs, SentEval's has 4,927"):  # fmt: skip
        load_task("sickr", sts_dir=None)
    assert asked == [HUB_SOURCES[("sickr", "test")]]

    monkeypatch.setitem(SENTEVAL_PAIRS, ("sickr", "test"), 9)  # the fixture's count: now it loads
    from_tar = load_task("sickr", sts_dir=None)
    from_dir = load_task("sickr", sts_dir=STS_FIXTURE)
    assert (from_tar.sentences1, from_tar.sentences2, from_tar.scores) == (
        from_dir.sentences1,
        from_dir.sentences2,
        from_dir.scores,
    )


def test_a_tar_without_the_member_names_it(tmp_path) -> None:
    tar_path = tmp_path / "empty.tar"
    with tarfile.open(tar_path, "w"):
        pass
    with pytest.raises(FileNotFoundError, match=r"empty.tar has no member SICK/SICK_test_annotated.txt"):
        hub_sources.tar_member_lines(tar_path, "SICK/SICK_test_annotated.txt")


def test_a_directory_with_other_counts_loads_with_a_warning(caplog, shared_dir) -> None:
    with caplog.at_level(logging.WARNING, logger="sct.evaluate.hub_sources"):
        load_task("sts12", sts_dir=STS_FIXTURE)
    assert "sts12 test in" in caplog.text and "pairs, SentEval's has 3108" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sct.evaluate.hub_sources"):
        load_task("sts12", sts_dir=STS_FIXTURE, warn=False)  # input checking: a refused command stays one line
    assert "SentEval's has" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="sct.evaluate.hub_sources"):
        for split in ("dev", "test"):  # ../shared holds SentEval's STS-B: its counts match
            load_task("stsb", sts_dir=shared_dir / "data" / "sts", split=split)
    assert caplog.text == ""


def test_the_evaluate_cli_exits_2_with_one_line_on_a_count_mismatch(monkeypatch, tmp_path, tiny_model_dir, capsys):
    from sct.evaluate.__main__ import main

    tar_path = senteval_tar(tmp_path, STS_FIXTURE / "SICK" / "SICK_test_annotated.txt")
    monkeypatch.setattr(hub_sources, "download", lambda source: tar_path)
    code = main([str(tiny_model_dir), "--hf", "--tasks", "sickr", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "has 9 sickr test pairs, SentEval's has 4,927" in err and "Traceback" not in err


def test_a_training_run_on_hub_sources_checks_the_counts_before_it_starts(monkeypatch, tiny_model_dir) -> None:
    from sct.config import SCTConfig
    from sct.config_io import apply_overrides
    from sct.errors import UserError
    from sct.inputs import resolve_inputs
    from tests.conftest import FIXTURES

    monkeypatch.setattr("sct.inputs.reachable", lambda: True)
    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset(1499, []))
    cfg = apply_overrides(
        SCTConfig(), {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt")}
    )
    message = (
        r"'eval.sts_dir' \(None: the pinned Hub sources\): cannot load stsb dev: "
        r"mteb/stsbenchmark-sts@b0fddb5 split 'validation' has 1,499 stsb dev pairs, SentEval's has 1,500"
    )
    with pytest.raises(UserError, match=message):
        resolve_inputs(cfg)
