"""Synonym views: a tiny WordNet-format dict written in tmp, the real Debian WordNet when present, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.config import DataConfig, OptimConfig, SCTConfig
from sct.data import synonym_views as sv
from sct.data.augment import augmentation_params, make_views
from sct.data.sources import TextPairs

# pos -> synsets (each a list of lemmas); a tiny WordNet 3.0 in its dict-file format, without `lexnames`
# (like Debian's wordnet-base), so the reader's lexnames fallback is exercised too.
LEXICON = {
    "noun": [["dog", "domestic_dog"], ["car", "automobile", "auto"]],
    "verb": [["run", "sprint"]],
    "adj": [["happy", "glad"]],
    "adv": [["quickly", "rapidly"]],
}
_POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
_LEXFILE = {"noun": 5, "verb": 38, "adj": 0, "adv": 2}
HEADER = (
    "  1 This is a test lexicon in WordNet's dict format.\n  2 WordNet 3.0 Copyright 2006 by Princeton University.\n"
)


def write_wordnet(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for pos, synsets in LEXICON.items():
        data, index = HEADER, {}
        for lemmas in synsets:
            offset = len(data.encode("utf-8"))
            words = " ".join(f"{lemma} 0" for lemma in lemmas)
            data += f"{offset:08d} {_LEXFILE[pos]:02d} {_POS[pos]} {len(lemmas):02x} {words} 000 | test gloss  \n"
            for lemma in lemmas:
                index.setdefault(lemma.lower(), []).append(offset)
        (root / f"data.{pos}").write_text(data, encoding="utf-8")
        lines = [
            f"{lemma} {_POS[pos]} {len(o)} 0 {len(o)} 0 {' '.join(f'{x:08d}' for x in o)}  \n"
            for lemma, o in sorted(index.items())
        ]
        (root / f"index.{pos}").write_text(HEADER + "".join(lines), encoding="utf-8")
        (root / f"{pos}.exc").write_text("dogs dog\n" if pos == "noun" else "", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def wordnet_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_wordnet(tmp_path_factory.mktemp("wordnet")))


def test_fixture_dict_loads_without_lexnames(wordnet_dir: str) -> None:
    assert not (Path(wordnet_dir) / "lexnames").exists()
    wordnet = sv.open_wordnet(sv.find_wordnet_dir(wordnet_dir))
    assert sorted(wordnet.synsets("car")[0].lemma_names()) == ["auto", "automobile", "car"]
    assert wordnet.synsets("dog")[0].lexname() == "noun.animal"  # index 05 of the built-in list


def test_exactly_one_word_is_replaced_by_a_synonym(wordnet_dir: str) -> None:
    texts = ["The dog is happy .", "a car goes quickly", "we run"]
    out = sv.synonym_views(texts, wordnet_dir=wordnet_dir, seed=0)
    allowed = {"dog": {"domestic dog"}, "happy": {"glad"}, "car": {"auto", "automobile"}, "quickly": {"rapidly"}}
    allowed["run"] = {"sprint"}
    for before, after in zip(texts, out, strict=True):
        assert before != after
        replaced = [w for w in allowed if f" {w} " in f" {before} " and f" {w} " not in f" {after} "]
        assert len(replaced) == 1
        assert any(f" {s} " in f" {after} " for s in allowed[replaced[0]])
        assert after.replace(next(s for s in allowed[replaced[0]] if s in after), replaced[0], 1) == before


def test_deterministic_under_the_seed_and_every_candidate_reachable(wordnet_dir: str) -> None:
    texts = ["the dog is happy"] * 40
    out = sv.synonym_views(texts, wordnet_dir=wordnet_dir, seed=3)
    assert out == sv.synonym_views(texts, wordnet_dir=wordnet_dir, seed=3)
    assert out != sv.synonym_views(texts, wordnet_dir=wordnet_dir, seed=4)
    assert set(out) == {"the domestic dog is happy", "the dog is glad"}


def test_no_candidate_keeps_the_sentence_and_case_is_kept(wordnet_dir: str) -> None:
    out = sv.synonym_views(["of the and , .", "Happy!", "DOGS bark", "a"], wordnet_dir=wordnet_dir, seed=0)
    assert out[0] == "of the and , ." and out[3] == "a"
    assert out[1] == "Glad!"
    assert out[2] == "DOMESTIC DOG bark"  # plural found through the exception list, base form excluded


def test_synonym_through_make_views_and_cache_params(wordnet_dir: str) -> None:
    cfg = SCTConfig(data=DataConfig(augmentation="synonym", wordnet_dir=wordnet_dir), optim=OptimConfig(seed=2))
    pairs = TextPairs(["the dog is happy", "the car"], None, "fp")
    texts1, texts2 = make_views("synonym", pairs, cfg)
    assert texts1 == pairs.texts1
    assert texts2 == sv.synonym_views(pairs.texts1, wordnet_dir=wordnet_dir, seed=2)
    assert augmentation_params("synonym", cfg) == {"seed": 2, "wordnet_dir": str(Path(wordnet_dir).resolve())}


def test_wordnet_dir_without_dict_files_says_how_to_get_wordnet(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError,
        match=r"wordnet_dir=.* is not a WordNet dict dir.*apt-get install wordnet-base.*nltk\.downloader wordnet",
    ):
        sv.find_wordnet_dir(str(tmp_path))


def test_missing_wordnet_everywhere_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    def not_found(resource: str) -> None:
        raise LookupError(resource)

    monkeypatch.setattr(sv, "DEBIAN_WORDNET", str(tmp_path / "none"))
    monkeypatch.setattr(nltk.data, "find", not_found)
    with pytest.raises(FileNotFoundError, match=r"WordNet not found .*apt-get install wordnet-base.*data\.wordnet_dir"):
        sv.find_wordnet_dir(None)


@pytest.mark.skipif(not Path(sv.DEBIAN_WORDNET, "index.noun").exists(), reason="Debian wordnet-base not installed")
def test_real_debian_wordnet() -> None:
    assert sv.find_wordnet_dir(None) == sv.DEBIAN_WORDNET
    texts = ["A happy child plays with the dog.", "of the and"]
    out = sv.synonym_views(texts, seed=0)
    assert out[1] == "of the and"
    assert out[0] != texts[0] and out[0].endswith(".") and out[0][0].isupper()
    assert out == sv.synonym_views(texts, seed=0)
