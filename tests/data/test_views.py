"""Table 4's view rows on every source layout: the paper's pair per row, no two rows alike, refusals.

Sources: the three-column fixture ``x<TAB>T(x)<TAB>T′(x)`` (what ``python -m sct.data backtranslate`` writes),
BSL's two-column ``T(x)<TAB>T′(x)``, one-column text ``x`` and a ``datasets`` source with three text columns.
MLM views come from a tiny random BertForMaskedLM, synonym views from a tiny WordNet in dict format.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import datasets
import pytest

from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.data.augment import delete_one_word, make_views, resolve_augmentation, view_signature
from sct.data.mlm_views import mlm_views
from sct.data.sources import TextPairs, load_texts
from sct.data.synonym_views import synonym_views
from sct.data.tokenized import prepare_pairs
from sct.tune.plan.grids import load_grid
from tests.conftest import FIXTURES
from tests.data.test_synonym_views import write_wordnet

VIEWS = FIXTURES / "data" / "views.tsv"
COLUMNS = [line.split("\t") for line in VIEWS.read_text(encoding="utf-8").splitlines() if line]
X, T, T_PRIME = ([row[i] for row in COLUMNS] for i in range(3))
FIX = (
    r"use a three-column source x<TAB>T\(x\)<TAB>T′\(x\), made from your sentences by "
    r"`python -m sct\.data backtranslate"
)


@pytest.fixture(scope="module")
def wordnet_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_wordnet(tmp_path_factory.mktemp("wordnet")))


def config(augmentation: str, mlm_dir: Path, wordnet_dir: str, **more: object) -> SCTConfig:
    overrides = {"data.augmentation": augmentation, "data.mlm_model": str(mlm_dir), "data.wordnet_dir": wordnet_dir}
    return apply_overrides(SCTConfig(), overrides | more, "test")


def table4_view_rows() -> dict[str, str]:
    """{row: data.augmentation} for the baseline and every view row of the shipped Table 4 grid."""
    grid = load_grid("table4")
    rows = {row.name: row.overrides.get("data.augmentation") for row in grid.rows}
    return {name: aug or "auto" for name, aug in rows.items() if aug or name == grid.baseline}


def expected(row_augmentation: str, seed: int, mlm_dir: Path, wordnet_dir: str) -> tuple[list[str], list[str]]:
    """The paper's pair for each row (§3.1, §5.3.3), built from the columns directly."""
    return {
        "auto": (T, T_PRIME),  # the baseline: two back-translations
        "same": (T, T),  # "using the same back-translation (T = T′)"
        "dropout": (X, X),  # the sentence itself, two dropout masks
        "mlm": (X, mlm_views(X, str(mlm_dir), seed=seed, device="cpu")),
        "synonym": (X, synonym_views(X, wordnet_dir=wordnet_dir, seed=seed)),
    }[row_augmentation]


def test_table4_has_the_paper_view_rows() -> None:
    assert table4_view_rows() == {
        "sct": "auto",
        "aug_mlm": "mlm",
        "aug_synonym": "synonym",
        "aug_dropout": "dropout",
        "aug_same": "same",
    }


def test_every_table4_view_row_gives_the_papers_pair_and_no_two_rows_the_same(mlm_dir, wordnet_dir) -> None:
    pairs = load_texts(str(VIEWS))
    assert (pairs.original, pairs.translations) == (X, (T, T_PRIME))
    views = {}
    for row, augmentation in table4_view_rows().items():
        cfg = config(augmentation, mlm_dir, wordnet_dir)
        name = resolve_augmentation(augmentation, pairs)
        views[row] = make_views(name, pairs, cfg, device="cpu")
        assert views[row] == expected(augmentation, cfg.optim.seed, mlm_dir, wordnet_dir), row
    for (a, va), (b, vb) in itertools.combinations(views.items(), 2):
        assert va != vb, f"rows {a} and {b} train on identical views"
    assert views["aug_mlm"][1] != X and views["aug_synonym"][1] != X  # the made views edit something


@pytest.mark.parametrize("augmentation", ["back_translation", "same", "dropout", "word_deletion"])
def test_the_tokenised_cache_holds_the_same_views(augmentation, tmp_path, tiny_model_dir) -> None:
    cfg = apply_overrides(
        SCTConfig(),
        {"data.train": str(VIEWS), "data.augmentation": augmentation, "data.cache_dir": str(tmp_path),
         "model.name": str(tiny_model_dir)},
        "test",
    )  # fmt: skip
    from transformers import AutoTokenizer

    dataset = prepare_pairs(cfg, AutoTokenizer.from_pretrained(tiny_model_dir), show_progress=False)
    want = {"back_translation": (T, T_PRIME), "same": (T, T), "dropout": (X, X)}.get(
        augmentation, (X, delete_one_word(X, cfg.optim.seed))
    )
    assert (list(dataset.texts1), list(dataset.texts2)) == want
    assert (dataset.texts1 is dataset.texts2) == (want[0] is want[1])  # same/dropout share one tokenised view


def test_bsl_two_column_file_keeps_working_for_back_translation_and_same(tmp_path: Path) -> None:
    path = tmp_path / "back_translated_nli.txt"
    path.write_text("".join(f"{a}\t{b}\n" for a, b in zip(T, T_PRIME, strict=True)), encoding="utf-8")
    pairs = load_texts(str(path))
    assert pairs.num_columns == 2 and pairs.original is None and pairs.translations == (T, T_PRIME)
    assert resolve_augmentation("auto", pairs) == "back_translation"
    assert make_views("back_translation", pairs, SCTConfig()) == (T, T_PRIME)
    assert make_views("same", pairs, SCTConfig()) == (T, T)


@pytest.mark.parametrize("augmentation", ["dropout", "word_deletion", "mlm", "synonym"])
def test_rows_that_need_x_are_refused_on_bsl_two_columns(augmentation: str) -> None:
    pairs = TextPairs(T, T_PRIME, "fp", source="back_translated_nli.txt")
    message = (
        rf"data\.augmentation={augmentation} trains on \(x, .*\) and needs the original sentence x, but "
        rf"back_translated_nli\.txt has 2 columns \(T\(x\)<TAB>T′\(x\), BSL's layout\): {FIX}"
    )
    with pytest.raises(ValueError, match=message):
        resolve_augmentation(augmentation, pairs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):  # make_views refuses too: no path around the check
        make_views(augmentation, pairs, SCTConfig())  # type: ignore[arg-type]


@pytest.mark.parametrize("augmentation", ["back_translation", "same"])
def test_rows_that_need_back_translations_are_refused_on_one_column(augmentation: str) -> None:
    pairs = TextPairs(X, None, "fp", source="wiki.txt")
    with pytest.raises(ValueError, match=rf"needs the back-translations .* wiki\.txt has 1 column \(x\): {FIX}"):
        resolve_augmentation(augmentation, pairs)  # type: ignore[arg-type]


def test_one_column_rows_that_start_from_x() -> None:
    pairs = TextPairs(X, None, "fp", source="wiki.txt")
    assert resolve_augmentation("auto", pairs) == "word_deletion"
    assert make_views("dropout", pairs, SCTConfig()) == (X, X)
    assert make_views("word_deletion", pairs, SCTConfig()) == (X, delete_one_word(X, 42))


def test_a_dataset_with_three_text_columns_reads_as_x_t_t_prime(tmp_path: Path) -> None:
    datasets.Dataset.from_dict({"id": ["1"] * len(X), "en": X, "de": T, "fr": T_PRIME}).save_to_disk(tmp_path / "d")
    pairs = load_texts(str(tmp_path / "d"), text_columns=("en", "de", "fr"))
    assert (pairs.original, pairs.translations) == (X, (T, T_PRIME))
    assert make_views("dropout", pairs, SCTConfig()) == (X, X)
    assert make_views("same", pairs, SCTConfig()) == (T, T)
    with pytest.raises(ValueError, match=r"give one to three column names"):
        load_texts(str(tmp_path / "d"), text_columns=("id", "en", "de", "fr"))


def test_view_signatures_tell_rows_apart_and_merge_equal_columns(mlm_dir, wordnet_dir) -> None:
    pairs = load_texts(str(VIEWS))
    signatures = {a: view_signature(a, pairs, config(a, mlm_dir, wordnet_dir)) for a in ("back_translation", "same",
                  "dropout", "word_deletion", "mlm", "synonym")}  # fmt: skip
    assert len(set(signatures.values())) == 6
    assert signatures["same"] == ("T(x)", "T(x)") and signatures["dropout"] == ("x", "x")
    repeated = TextPairs(X, T, "fp", texts3=list(T))  # T′ column equal to T: back_translation is same
    cfg = SCTConfig()
    assert view_signature("back_translation", repeated, cfg) == view_signature("same", repeated, cfg)
    assert view_signature("word_deletion", pairs, cfg) != view_signature("word_deletion", pairs, config(
        "word_deletion", mlm_dir, wordnet_dir, **{"optim.seed": 7}))  # fmt: skip
