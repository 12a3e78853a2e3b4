"""Tokenised view pairs, made once and cached on disk; dynamic padding per batch.

:func:`prepare_pairs` loads the sentences (:mod:`sct.data.sources`), makes the two views
(:mod:`sct.data.augment`, incl. MLM/synonym views, so those are generated once per dataset and not per
step), tokenises both (truncation at ``cfg.model.max_length``, no padding) and stores the result under
``<root>/tokenized/<key>``, root = ``cache_dir`` or ``cfg.data.cache_dir`` or ``$SCT_CACHE_DIR`` or
``~/.cache/sct``. The key hashes everything the token ids depend on: the source fingerprint, the resolved
augmentation and its parameters (seed, MLM model and probability, WordNet dir), the tokenizer (name, class,
vocabulary) and the max length. A cache is written into a temporary directory and renamed into place with
``os.replace``, so concurrent trials or a crash never expose half a cache; a later call with the same key
loads it without augmenting or tokenising again.

Storage (format 2, for ~1M sentences): one ``pairs.pt`` holding only tensors -- per view the token ids
flattened into one int32 tensor plus int64 offsets, and the texts as flat UTF-8 bytes plus offsets
(:mod:`sct.data.columns`) -- loaded memory-mapped (``torch.load(mmap=True, weights_only=True)``), so a
cached reload costs milliseconds and no per-example Python objects; ``meta.json`` for humans. Training
batches come from :meth:`PairDataset.batch` (vectorised gather), not per-example items + ``collate_pairs``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from sct.config import SCTConfig
from sct.data.augment import augmentation_params, make_views, resolve_augmentation
from sct.data.columns import TextColumn, encode_texts, gather_padded, tokenize_texts
from sct.data.columns import collate_pairs as collate_pairs  # re-exported: part of sct.data's public API
from sct.data.paper_data import training_source
from sct.data.source_index import alias_path, read_alias, write_alias
from sct.data.sources import load_texts
from sct.storage import cache_root, write_dir

CACHE_FORMAT = 2


class PairDataset(Dataset):
    """Two tokenised views per sentence. ``ids*``: flat int32 token ids; ``offsets*``: (n + 1,) int64.

    ``__getitem__(i)`` → ``{"index": i, "ids1": [...], "ids2": [...]}`` (with special tokens, unpadded).
    When both views are the same text (``same``/``dropout``), view 2 shares view 1's storage.
    """

    def __init__(
        self,
        texts1: Sequence[str],
        texts2: Sequence[str],
        ids1: torch.Tensor,
        offsets1: torch.Tensor,
        ids2: torch.Tensor,
        offsets2: torch.Tensor,
        *,
        fingerprint: str,
        augmentation: str,
        cache_dir: Path | None = None,
    ) -> None:
        if not len(texts1) == len(texts2) == offsets1.numel() - 1 == offsets2.numel() - 1:
            raise ValueError(
                f"PairDataset: {len(texts1)} / {len(texts2)} texts but {offsets1.numel() - 1} / "
                f"{offsets2.numel() - 1} tokenised rows"
            )
        self.texts1, self.texts2 = texts1, texts2
        self.ids1, self.offsets1, self.ids2, self.offsets2 = ids1, offsets1, ids2, offsets2
        self.fingerprint, self.augmentation, self.cache_dir = fingerprint, augmentation, cache_dir

    def __len__(self) -> int:
        return len(self.texts1)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"PairDataset index {i} out of range for {len(self)} pairs")
        i = i % len(self)
        a1, b1 = int(self.offsets1[i]), int(self.offsets1[i + 1])
        a2, b2 = int(self.offsets2[i]), int(self.offsets2[i + 1])
        return {"index": i, "ids1": self.ids1[a1:b1].tolist(), "ids2": self.ids2[a2:b2].tolist()}

    def batch(self, index: torch.Tensor, pad_token_id: int, *, bucket: int | None = None) -> dict[str, torch.Tensor]:
        """The rows ``index`` (B,) as ``collate_pairs`` would build them, gathered with tensor ops.

        Returns ``index`` (B,), ``input_ids_v``/``attention_mask_v`` (B, L_v) int64, each view padded to its
        own longest row; with ``bucket`` both views are padded to the longest row of the two rounded up to a
        multiple of ``bucket`` (few static shapes for a compiled step).
        """
        index = torch.as_tensor(index, dtype=torch.long)  # (B,)
        if index.numel() == 0:
            raise ValueError("PairDataset.batch got an empty index")
        index = index % len(self)
        views = ((self.ids1, self.offsets1), (self.ids2, self.offsets2))
        width = None
        if bucket is not None:
            lengths = [offsets.index_select(0, index + 1) - offsets.index_select(0, index) for _, offsets in views]
            longest = max(int(length.max()) for length in lengths)
            width = -(-longest // bucket) * bucket
        out = {"index": index}
        for view, (flat, offsets) in enumerate(views, 1):
            ids, mask = gather_padded(flat, offsets, index, pad_token_id, width=width)  # (B, L_v) each
            out[f"input_ids_{view}"], out[f"attention_mask_{view}"] = ids, mask
        return out


def tokenizer_identity(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """What makes two tokenizers produce the same ids: name, class, lower-casing and the vocabulary itself."""
    vocab = sorted(tokenizer.get_vocab().items())
    return {
        "name_or_path": str(getattr(tokenizer, "name_or_path", "")),
        "class": type(tokenizer).__name__,
        "vocab_size": len(tokenizer),
        "do_lower_case": tokenizer.init_kwargs.get("do_lower_case"),
        "vocab_sha256": hashlib.sha256(json.dumps(vocab).encode("utf-8")).hexdigest(),
    }


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


def _write_cache(final: Path, payload: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write into a sibling temp dir, then rename it into place; a concurrent winner's cache is kept."""

    def fill(tmp: Path) -> None:
        torch.save(payload, tmp / "pairs.pt")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")

    write_dir(final, fill, keep_existing=True)


def load_pairs(path: str | os.PathLike[str]) -> PairDataset:
    """Load a cache directory written by :func:`prepare_pairs`."""
    path = Path(path)
    file = path / "pairs.pt"
    if not file.is_file():
        raise FileNotFoundError(f"no tokenised pairs cache at {path} (missing {file.name})")
    try:
        data = torch.load(file, weights_only=True, mmap=True)
    except Exception as err:  # truncated/corrupt file: say which and how to recover
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"corrupt tokenised pairs cache {file} ({first_line}); delete {path} to rebuild it") from err
    if data.get("format") != CACHE_FORMAT:
        raise ValueError(f"{file}: cache format {data.get('format')!r}, expected {CACHE_FORMAT}; delete {path}")
    same = bool(data["same_views"])
    texts1 = TextColumn(data["text1"], data["text_offsets1"])
    return PairDataset(
        texts1,
        texts1 if same else TextColumn(data["text2"], data["text_offsets2"]),
        data["ids1"],
        data["offsets1"],
        data["ids1"] if same else data["ids2"],
        data["offsets1"] if same else data["offsets2"],
        fingerprint=data["key"],
        augmentation=data["augmentation"],
        cache_dir=path,
    )


def prepare_pairs(
    cfg: SCTConfig,
    tokenizer: PreTrainedTokenizerBase,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
    device: str | None = None,
) -> PairDataset:
    """Load ``cfg.data.train``, make the views, tokenise them, and cache (or load the cached) result.

    The source is read on every call (its fingerprint and column count decide the key) unless it is a local
    file already indexed (:mod:`sct.data.source_index`); augmentation and tokenisation only run on a miss.
    ``device`` only matters for MLM views (the fill model's device; default CUDA when available). The
    returned dataset's ``fingerprint`` is the cache key.
    """
    source = training_source(cfg)
    if source != cfg.data.train:  # the paper's data: its cached views file
        if not Path(source).is_file():
            raise FileNotFoundError(f"data.train={cfg.data.train}: its views are not made yet ({source})")
        cfg = replace(cfg, data=replace(cfg.data, train=source))
    data = cfg.data
    identity = tokenizer_identity(tokenizer)
    alias = alias_path(cfg, cache_root(cfg, cache_dir), identity, CACHE_FORMAT)
    known = read_alias(alias)  # a local file seen before: its cache loads without reading the file
    if known is not None and (cache_root(cfg, cache_dir) / "tokenized" / known / "pairs.pt").is_file():
        return load_pairs(cache_root(cfg, cache_dir) / "tokenized" / known)
    pairs = load_texts(data.train, text_columns=data.text_columns, split=data.split, max_examples=data.max_examples)
    augmentation = resolve_augmentation(data.augmentation, pairs)
    parts = {
        "format": CACHE_FORMAT,
        "texts": pairs.fingerprint,
        "augmentation": augmentation,
        "params": augmentation_params(augmentation, cfg),
        "tokenizer": identity,
        "max_length": cfg.model.max_length,
    }
    key = cache_key(parts)
    final = cache_root(cfg, cache_dir) / "tokenized" / key
    if (final / "pairs.pt").is_file():
        write_alias(alias, key)
        return load_pairs(final)
    texts1, texts2 = make_views(augmentation, pairs, cfg, show_progress=show_progress, device=device)
    same = texts2 is texts1 or texts2 == texts1
    ids1, offsets1 = tokenize_texts(tokenizer, texts1, cfg.model.max_length, show_progress=show_progress)
    ids2, offsets2 = (
        (ids1, offsets1)
        if same
        else tokenize_texts(tokenizer, texts2, cfg.model.max_length, show_progress=show_progress)
    )
    text1, text_offsets1 = encode_texts(texts1)
    text2, text_offsets2 = (None, None) if same else encode_texts(texts2)
    payload = {
        "format": CACHE_FORMAT,
        "key": key,
        "augmentation": augmentation,
        "same_views": same,
        "text1": text1,
        "text_offsets1": text_offsets1,
        "text2": text2,
        "text_offsets2": text_offsets2,
        "ids1": ids1,
        "offsets1": offsets1,
        "ids2": None if same else ids2,
        "offsets2": None if same else offsets2,
    }
    meta = {**parts, "key": key, "source": pairs.source, "pairs": len(texts1), "same_views": same}
    _write_cache(final, payload, meta)
    write_alias(alias, key)
    return PairDataset(
        texts1, texts2, ids1, offsets1, ids2, offsets2, fingerprint=key, augmentation=augmentation, cache_dir=final
    )
