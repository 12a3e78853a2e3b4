"""Augmentation switch: resolution (auto, refusals), word deletion, parameters. Table 4's view pairs on every
source layout: tests/data/test_views.py."""

from __future__ import annotations

import pytest

from sct.config import DataConfig, OptimConfig, SCTConfig
from sct.data.augment import augmentation_params, delete_one_word, make_views, resolve_augmentation
from sct.data.sources import TextPairs

ONE = TextPairs(["a man plays the guitar", "hello", "the dog runs"], None, "fp1", source="wiki.txt")
TWO = TextPairs(["a man plays", "a dog runs"], ["a man is playing", "a dog is running"], "fp2", source="bt.tsv")


def cfg(augmentation: str = "auto", seed: int = 42, **data: object) -> SCTConfig:
    return SCTConfig(data=DataConfig(augmentation=augmentation, **data), optim=OptimConfig(seed=seed))  # type: ignore[arg-type]


def test_auto_is_back_translation_for_two_columns_and_word_deletion_for_one() -> None:
    assert resolve_augmentation("auto", TWO) == "back_translation"
    assert resolve_augmentation("auto", ONE) == "word_deletion"
    for name in ("dropout", "word_deletion", "mlm", "synonym"):
        assert resolve_augmentation(name, ONE) == name


def test_back_translation_on_one_column_names_the_source_and_the_fix() -> None:
    with pytest.raises(
        ValueError,
        match=r"data\.augmentation=back_translation trains on \(T\(x\), T′\(x\)\) and needs the back-translations "
        r"T\(x\) and T′\(x\), but wiki\.txt has 1 column \(x\): use a three-column source x<TAB>T\(x\)<TAB>T′\(x\), "
        r"made from your sentences by `python -m sct\.data backtranslate SENTENCES OUT\.tsv`",
    ):
        resolve_augmentation("back_translation", ONE)


def test_unknown_augmentation_lists_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"data\.augmentation has invalid value 'rotate': allowed \["):
        resolve_augmentation("rotate", ONE)


def test_back_translation_views_are_the_two_columns() -> None:
    assert make_views("back_translation", TWO, cfg()) == (TWO.texts1, TWO.texts2)


def test_word_deletion_drops_exactly_one_word_and_keeps_one_word_sentences() -> None:
    texts = ["a man plays the guitar", "hello", "  spaced   out  words ", "two words"]
    out = delete_one_word(texts, seed=0)
    assert out[1] == "hello"
    for before, after in zip(texts, out, strict=True):
        words, kept = before.split(), after.split()
        if len(words) > 1:
            assert len(kept) == len(words) - 1
            assert any(words[:i] + words[i + 1 :] == kept for i in range(len(words)))


def test_word_deletion_is_deterministic_under_the_seed_and_varies_with_it() -> None:
    texts = [f"w{i} x{i} y{i} z{i} v{i}" for i in range(50)]
    assert delete_one_word(texts, seed=3) == delete_one_word(texts, seed=3)
    assert delete_one_word(texts, seed=3) != delete_one_word(texts, seed=4)
    # the view of sentence i does not depend on the sentences after it
    assert delete_one_word(texts[:10], seed=3) == delete_one_word(texts, seed=3)[:10]
    views = delete_one_word(texts, 3)
    dropped = {set(t.split()).difference(o.split()).pop()[0] for t, o in zip(texts, views, strict=True)}
    assert dropped == {"w", "x", "y", "z", "v"}  # every position gets dropped somewhere


def test_word_deletion_edits_the_original_sentence() -> None:
    texts1, texts2 = make_views("word_deletion", ONE, cfg("word_deletion", seed=1))
    assert texts1 == ONE.texts1
    assert texts2 == delete_one_word(ONE.texts1, seed=1)


def test_augmentation_params_carry_what_changes_the_views() -> None:
    assert augmentation_params("back_translation", cfg()) == {}
    assert augmentation_params("word_deletion", cfg(seed=7)) == {"seed": 7}
    config = SCTConfig(data=DataConfig(mlm_probability=0.2), optim=OptimConfig(seed=1))
    assert augmentation_params("mlm", config) == {
        "seed": 1,
        "mlm_model": config.model.name,
        "mlm_model_files": None,
        "probability": 0.2,
    }
    config = SCTConfig(data=DataConfig(mlm_model="my/mlm"))
    assert augmentation_params("mlm", config)["mlm_model"] == "my/mlm"


def test_make_views_refuses_an_unresolved_name() -> None:
    with pytest.raises(ValueError, match="augmentation 'auto' is not resolved"):
        make_views("auto", ONE, cfg())
