"""load_texts: TSV pairs, one-sentence-a-line text, datasets sources, malformed input and fingerprints."""

from __future__ import annotations

import os
from pathlib import Path

import datasets
import pytest

from sct.data.sources import TextPairs, load_texts
from tests.conftest import FIXTURES

PAIRS = FIXTURES / "data" / "pairs.tsv"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_tsv_fixture_gives_two_columns_in_order_without_blank_lines() -> None:
    pairs = load_texts(str(PAIRS))
    assert isinstance(pairs, TextPairs)
    assert pairs.num_columns == 2
    assert len(pairs.texts1) == len(pairs.texts2) == 5
    assert pairs.texts1[0] == "a man plays the guitar ."
    assert pairs.texts2[0] == "a man is playing a guitar ."
    assert pairs.texts1[2] == "a child reads a book ."  # the blank line 3 is dropped, order kept
    assert pairs.source == str(PAIRS)


def test_text_file_is_one_column_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "  first sentence  \n\n\t\nsecond\twith a tab\nthird\n")
    pairs = load_texts(str(path))
    assert pairs.texts2 is None and pairs.num_columns == 1
    assert pairs.texts1 == ["first sentence", "second\twith a tab", "third"]


def test_any_file_whose_lines_all_have_one_tab_is_two_columns(tmp_path: Path) -> None:
    pairs = load_texts(str(write(tmp_path / "pairs.txt", "a\tb\n\nc d\t e f \n")))
    assert pairs.texts1 == ["a", "c d"] and pairs.texts2 == ["b", "e f"]


def test_tsv_line_with_three_columns_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.tsv", "a\tb\n\nc\td\te\n")
    with pytest.raises(ValueError, match=r"bad\.tsv, line 3: expected 2 tab-separated columns .* found 3"):
        load_texts(str(path))


def test_tsv_line_with_one_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"one\.tsv, line 2: expected 2 .* found 1"):
        load_texts(str(write(tmp_path / "one.tsv", "a\tb\nno tab here\n")))


def test_tsv_empty_view_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"e\.tsv, line 1: column 2 is empty"):
        load_texts(str(write(tmp_path / "e.tsv", "a\t  \n")))


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_empty_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(ValueError, match=r"empty\.txt: no sentences"):
        load_texts(str(path))


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"training data file not found: .*nope\.txt"):
        load_texts(str(tmp_path / "nope.txt"))


def test_undecodable_bytes_name_file_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"good line\ncaf\xe9 au lait\n")
    with pytest.raises(ValueError, match=r"latin1\.txt: undecodable bytes at byte offset 13 \(line 2\)"):
        load_texts(str(path))


def test_max_examples_truncates_and_enters_the_fingerprint(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "one\ntwo\nthree\n")
    full, cut = load_texts(str(path)), load_texts(str(path), max_examples=2)
    assert cut.texts1 == ["one", "two"]
    assert full.fingerprint != cut.fingerprint
    assert load_texts(str(path)).fingerprint == full.fingerprint
    with pytest.raises(ValueError, match="max_examples must be >= 1, got 0"):
        load_texts(str(path), max_examples=0)


def test_fingerprint_changes_when_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "one\ntwo\n")
    before = load_texts(str(path)).fingerprint
    write(path, "one\ntwo\nthree\n")
    os.utime(path, ns=(1, 1))
    assert load_texts(str(path)).fingerprint != before


@pytest.fixture()
def saved_dataset(tmp_path: Path) -> Path:
    ds = datasets.Dataset.from_dict(
        {"id": [1, 2, 3, 4], "premise": ["a b", " ", "e f", "g"], "hypothesis": ["x", "y", "z", "w"]}
    )
    ds.save_to_disk(str(tmp_path / "ds"))
    return tmp_path / "ds"


def test_dataset_dir_default_columns_are_the_first_two_string_columns(saved_dataset: Path) -> None:
    pairs = load_texts(str(saved_dataset))
    assert pairs.texts1 == ["a b", "e f", "g"]  # the row with an empty premise is dropped
    assert pairs.texts2 == ["x", "z", "w"]
    assert load_texts(str(saved_dataset), max_examples=2).texts1 == ["a b", "e f"]


def test_dataset_text_columns_pick_one_column(saved_dataset: Path) -> None:
    pairs = load_texts(str(saved_dataset), text_columns=("hypothesis",))
    assert pairs.texts1 == ["x", "y", "z", "w"] and pairs.texts2 is None
    assert pairs.fingerprint != load_texts(str(saved_dataset)).fingerprint


def test_dataset_unknown_column_is_an_error(saved_dataset: Path) -> None:
    with pytest.raises(ValueError, match=r"text column 'sentence' not found among string columns"):
        load_texts(str(saved_dataset), text_columns=("sentence",))
    with pytest.raises(ValueError, match=r"text column 'id' not found"):
        load_texts(str(saved_dataset), text_columns=("id",))


def test_jsonl_file_and_missing_split(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"sentence": "hello there", "n": 1}\n{"sentence": "bye", "n": 2}\n')
    assert load_texts(str(path)).texts1 == ["hello there", "bye"]
    dsd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"]})})
    dsd.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(ValueError, match=r"has no split 'validation': available \['train'\]"):
        load_texts(str(tmp_path / "dd"), split="validation")


@pytest.mark.shared
def test_shared_wiki_head_is_one_column(shared_dir: Path) -> None:
    pairs = load_texts(str(shared_dir / "data" / "unlabeled" / "wiki1m_head.txt"))
    assert pairs.num_columns == 1
    assert 11_000 < len(pairs.texts1) <= 11_914
    assert all(text == text.strip() and text for text in pairs.texts1)
