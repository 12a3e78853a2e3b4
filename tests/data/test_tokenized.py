"""prepare_pairs: views + tokenisation + on-disk cache (keying, hits without recomputation, atomic writes);
PairDataset items and collate_pairs' per-view dynamic padding."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, BertTokenizerFast

from sct.config import DataConfig, ModelConfig, OptimConfig, SCTConfig
from sct.data import tokenized
from sct.data.augment import delete_one_word
from sct.data.columns import TextColumn
from sct.data.tokenized import PairDataset, collate_pairs, load_pairs, prepare_pairs
from tests.conftest import FIXTURES
from tests.data import word_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BertTokenizerFast:
    return word_tokenizer(tmp_path_factory.mktemp("tok"))


def cfg(
    train: Path | str, augmentation: str = "auto", max_length: int = 32, seed: int = 42, **data: object
) -> SCTConfig:
    return SCTConfig(
        model=ModelConfig(max_length=max_length),
        data=DataConfig(train=str(train), augmentation=augmentation, **data),  # type: ignore[arg-type]
        optim=OptimConfig(seed=seed),
    )


def test_word_deletion_pairs_are_tokenised_and_truncated(tmp_path: Path, tokenizer: BertTokenizerFast) -> None:
    train = FIXTURES / "sentences.txt"
    ds = prepare_pairs(cfg(train, max_length=6), tokenizer, cache_dir=tmp_path, show_progress=False)
    texts = [line.strip() for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert isinstance(ds, PairDataset) and len(ds) == len(texts)
    assert ds.augmentation == "word_deletion"
    assert ds.texts1 == texts and ds.texts2 == delete_one_word(texts, seed=42)
    item = ds[3]
    assert item["index"] == 3
    assert item["ids1"] == tokenizer(texts[3], truncation=True, max_length=6)["input_ids"]
    assert item["ids2"] == tokenizer(ds.texts2[3], truncation=True, max_length=6)["input_ids"]
    assert all(len(ds[i]["ids1"]) <= 6 and ds[i]["ids1"][0] == tokenizer.cls_token_id for i in range(len(ds)))
    assert ds.cache_dir == tmp_path / "tokenized" / ds.fingerprint
    assert ds[-1]["index"] == len(ds) - 1
    with pytest.raises(IndexError, match=f"index {len(ds)} out of range for {len(ds)} pairs"):
        ds[len(ds)]


def test_second_call_loads_the_cache_without_augmenting_or_tokenising(
    tmp_path: Path, tokenizer: BertTokenizerFast, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = cfg(FIXTURES / "sentences.txt")
    calls = {"views": 0, "tokenize": 0}

    def counting(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(tokenized, "make_views", counting("views", tokenized.make_views))
    monkeypatch.setattr(tokenized, "tokenize_texts", counting("tokenize", tokenized.tokenize_texts))
    first = prepare_pairs(config, tokenizer, cache_dir=tmp_path, show_progress=False)
    assert calls == {"views": 1, "tokenize": 2}
    second = prepare_pairs(config, tokenizer, cache_dir=tmp_path, show_progress=False)
    assert calls == {"views": 1, "tokenize": 2}
    assert second.fingerprint == first.fingerprint and second.texts2 == first.texts2
    assert all(second[i] == first[i] for i in range(len(first)))
    assert [p.name for p in (tmp_path / "tokenized").iterdir()] == [first.fingerprint]  # no temp dir left


def test_cache_key_follows_everything_the_ids_depend_on(tmp_path: Path, tokenizer: BertTokenizerFast) -> None:
    train = tmp_path / "s.txt"
    train.write_text("a man plays the guitar\nthe dog runs in the park\n", encoding="utf-8")

    def key(config: SCTConfig, tok: BertTokenizerFast = tokenizer) -> str:
        return prepare_pairs(config, tok, cache_dir=tmp_path / "c", show_progress=False).fingerprint

    base = key(cfg(train))
    assert key(cfg(train)) == base
    variants = [
        key(cfg(train, max_length=4)),
        key(cfg(train, seed=1)),
        key(cfg(train, augmentation="dropout")),
        key(cfg(train, max_examples=1)),
        key(cfg(train), AutoTokenizer.from_pretrained(str(tokenizer.name_or_path), do_lower_case=False)),
    ]
    assert len({base, *variants}) == 6
    train.write_text("a man plays the guitar\n", encoding="utf-8")
    assert key(cfg(train)) != base


@pytest.mark.parametrize(("source", "augmentation"), [("data/views.tsv", "same"), ("sentences.txt", "dropout")])
def test_same_view_shares_the_ids_of_view_one(tmp_path, tokenizer, source: str, augmentation: str) -> None:
    ds = prepare_pairs(cfg(FIXTURES / source, augmentation), tokenizer, cache_dir=tmp_path, show_progress=False)
    cached = load_pairs(ds.cache_dir)
    for dataset in (ds, cached):
        assert dataset.texts1 == dataset.texts2 and dataset.augmentation == augmentation
        assert all(dataset[i]["ids1"] == dataset[i]["ids2"] for i in range(len(dataset)))


def test_tsv_pairs_default_to_back_translation(tmp_path: Path, tokenizer: BertTokenizerFast) -> None:
    ds = prepare_pairs(cfg(FIXTURES / "data" / "pairs.tsv"), tokenizer, cache_dir=tmp_path, show_progress=False)
    assert ds.augmentation == "back_translation" and len(ds) == 5
    assert ds.texts2[0] == "a man is playing a guitar ."
    assert tokenizer.decode(ds[0]["ids2"], skip_special_tokens=True) == "a man is playing a guitar."


def test_cache_root_precedence(tmp_path: Path, tokenizer: BertTokenizerFast, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCT_CACHE_DIR", str(tmp_path / "env"))
    train = FIXTURES / "sentences.txt"
    ds = prepare_pairs(cfg(train), tokenizer, show_progress=False)
    assert ds.cache_dir.parent == tmp_path / "env" / "tokenized"
    ds = prepare_pairs(cfg(train, cache_dir=str(tmp_path / "cfg")), tokenizer, show_progress=False)
    assert ds.cache_dir.parent == tmp_path / "cfg" / "tokenized"
    monkeypatch.delenv("SCT_CACHE_DIR")
    assert tokenized.cache_root(cfg(train)) == Path.home() / ".cache" / "sct"


def test_concurrent_writer_keeps_the_first_complete_cache(tmp_path: Path) -> None:
    final = tmp_path / "tokenized" / "key"
    tokenized._write_cache(final, {"format": 1, "who": "first"}, {})
    tokenized._write_cache(final, {"format": 1, "who": "second"}, {})  # loses the race: no error, no litter
    assert torch.load(final / "pairs.pt", weights_only=True)["who"] == "first"
    assert sorted(p.name for p in final.parent.iterdir()) == ["key"]


def test_corrupt_or_missing_cache_errors_name_the_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no tokenised pairs cache at .*missing pairs\.pt"):
        load_pairs(tmp_path)
    (tmp_path / "pairs.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"corrupt tokenised pairs cache .*pairs\.pt.*delete .* to rebuild it"):
        load_pairs(tmp_path)


def test_collate_pads_each_view_to_its_own_longest_row() -> None:
    batch = [{"index": 7, "ids1": [2, 10, 3], "ids2": [2, 3]}, {"index": 1, "ids1": [2, 3], "ids2": [2, 11, 12, 13, 3]}]
    out = collate_pairs(batch, pad_token_id=0)
    assert out["index"].tolist() == [7, 1]
    assert out["input_ids_1"].tolist() == [[2, 10, 3], [2, 3, 0]]
    assert out["attention_mask_1"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert out["input_ids_2"].tolist() == [[2, 3, 0, 0, 0], [2, 11, 12, 13, 3]]
    assert out["attention_mask_2"].tolist() == [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]
    assert all(t.dtype == torch.long for t in out.values())
    assert collate_pairs(batch, pad_token_id=99)["input_ids_1"][1, 2] == 99
    with pytest.raises(ValueError, match="empty batch"):
        collate_pairs([], pad_token_id=0)


def test_dataloader_over_pairs(tmp_path: Path, tokenizer: BertTokenizerFast) -> None:
    ds = prepare_pairs(cfg(FIXTURES / "sentences.txt"), tokenizer, cache_dir=tmp_path, show_progress=False)
    loader = DataLoader(ds, batch_size=16, shuffle=False, collate_fn=functools.partial(collate_pairs, pad_token_id=0))
    batches = list(loader)
    assert sum(len(b["index"]) for b in batches) == len(ds)
    assert batches[0]["index"].tolist() == list(range(16))
    for b in batches:
        lengths = b["attention_mask_1"].sum(1)
        assert b["input_ids_1"].shape[1] == int(lengths.max())


@pytest.mark.shared
def test_shared_wiki_head_with_the_real_bert_tokenizer(tmp_path: Path, shared_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(str(shared_dir / "models" / "bert-mini-config"))
    config = cfg(shared_dir / "data" / "unlabeled" / "wiki1m_head.txt", max_examples=2000)
    ds = prepare_pairs(config, tok, cache_dir=tmp_path, show_progress=False)
    assert len(ds) == 2000 and ds.augmentation == "word_deletion"
    for i in range(0, 2000, 97):
        item = ds[i]
        assert (
            2 <= len(item["ids1"]) <= 32
            and item["ids1"][0] == tok.cls_token_id
            and item["ids1"][-1] == tok.sep_token_id
        )
        assert item["ids1"] == tok(ds.texts1[i], truncation=True, max_length=32)["input_ids"]
    assert prepare_pairs(config, tok, cache_dir=tmp_path, show_progress=False).fingerprint == ds.fingerprint


@pytest.mark.parametrize("augmentation", ["word_deletion", "dropout"])
def test_batch_equals_collate_of_items_for_a_permutation(
    tmp_path: Path, tokenizer: BertTokenizerFast, augmentation: str
) -> None:
    config = cfg(FIXTURES / "sentences.txt", augmentation)
    fresh = prepare_pairs(config, tokenizer, cache_dir=tmp_path, show_progress=False)
    cached = prepare_pairs(config, tokenizer, cache_dir=tmp_path, show_progress=False)  # memory-mapped
    order = torch.randperm(len(fresh), generator=torch.Generator().manual_seed(3))
    for ds in (fresh, cached):
        for start in range(0, len(ds), 7):
            index = order[start : start + 7]
            want = collate_pairs([ds[int(i)] for i in index], pad_token_id=0)
            got = ds.batch(index, pad_token_id=0)
            assert got.keys() == want.keys()
            for key in want:
                assert got[key].dtype == torch.long and torch.equal(got[key], want[key]), key
    wide = cached.batch(order[:5], pad_token_id=9, bucket=40)
    assert wide["input_ids_1"].shape == wide["input_ids_2"].shape == (5, 40)
    assert wide["input_ids_1"][:, -1].tolist() == [9] * 5
    narrow = collate_pairs([cached[int(i)] for i in order[:5]], pad_token_id=9)
    width = narrow["input_ids_1"].shape[1]
    assert torch.equal(wide["input_ids_1"][:, :width], narrow["input_ids_1"])
    assert int(wide["attention_mask_1"][:, width:].sum()) == 0
    assert cached.batch(order[:5], pad_token_id=9, bucket=1)["input_ids_1"].shape[1] == max(
        narrow["input_ids_1"].shape[1], narrow["input_ids_2"].shape[1]
    )


def test_cached_texts_are_a_lazy_column_equal_to_the_lists(tmp_path: Path, tokenizer: BertTokenizerFast) -> None:
    texts = ["a man plays the guitar", "le café est chaud", "the dog runs"]
    train = tmp_path / "s.txt"
    train.write_text("\n".join(texts) + "\n", encoding="utf-8")
    ds = prepare_pairs(cfg(train, "dropout"), tokenizer, cache_dir=tmp_path / "c", show_progress=False)
    cached = load_pairs(ds.cache_dir)
    assert isinstance(cached.texts1, TextColumn) and cached.texts1 == texts and list(cached.texts1) == texts
    assert cached.texts1[1] == "le café est chaud" and cached.texts1[-1] == "the dog runs"
    assert cached.texts1[:2] == texts[:2] and cached.texts1 != texts[:2]
    with pytest.raises(IndexError):
        cached.texts1[3]
