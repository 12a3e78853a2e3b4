"""MLM views (Table 4, "MLM 15%"): refill 15% of each sentence's word pieces with a masked LM's argmax.

Plain fill, not BERT's 80/10/10 rule: every chosen position is replaced by ``[MASK]`` and the masked LM's
most likely non-special token is written there; all positions of a sentence are filled in one forward pass.
Per sentence, ``max(1, round(p * n))`` of its ``n`` non-special word pieces are chosen uniformly (special
tokens — [CLS], [SEP], [PAD], [UNK], [MASK] — are never chosen and never predicted). The fill model is the
student's own checkpoint loaded with ``AutoModelForMaskedLM`` unless ``data.mlm_model`` names another. The
views are made once per dataset under ``torch.no_grad`` and cached with the tokenised data
(:mod:`sct.data.tokenized`), never per step. Random choices come from one generator seeded with the seed and
consumed in sentence order, so a view depends on the seed and the sentence only (not on batching).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from sct.hub import has_weights

_HINT = "set data.mlm_model to a checkpoint with a masked-LM head (e.g. bert-base-uncased or a local dir)"


def load_masked_lm(name: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The masked LM and its tokenizer; a config-only dir or a model without trained MLM head is an error."""
    path = Path(name).expanduser()
    if path.is_dir() and not has_weights(path):
        raise ValueError(f"MLM views: {name} has no model weights (a config-only directory); {_HINT}")
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(name, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"MLM views: cannot load a masked LM from {name!r} ({err}); {_HINT}") from err
    missing = list(info.get("missing_keys", []))
    if missing:
        shown = ", ".join(sorted(missing)[:3])
        raise ValueError(f"MLM views: {name!r} has no trained masked-LM head (missing weights: {shown}, ...); {_HINT}")
    if tokenizer.mask_token_id is None:
        raise ValueError(f"MLM views: the tokenizer of {name!r} has no mask token; {_HINT}")
    return model, tokenizer


def _token_batches(lengths: list[int], batch_size: int, max_tokens: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` ranges with at most ``batch_size`` rows and ``rows * longest`` tokens."""
    ranges, start, longest = [], 0, 0
    for i, length in enumerate(lengths):
        grown = max(longest, length)
        if i > start and ((i - start + 1) * grown > max_tokens or i - start == batch_size):
            ranges.append((start, i))
            start, grown = i, length
        longest = grown
    if start < len(lengths):
        ranges.append((start, len(lengths)))
    return ranges


@torch.no_grad()
def fill_masks(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    *,
    probability: float = 0.15,
    seed: int = 0,
    batch_size: int = 64,
    max_tokens: int = 4096,
    device: str | torch.device | None = None,
    show_progress: bool = False,
) -> list[str]:
    """Second views of ``texts``: chosen word pieces masked and refilled with the model's argmax."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"mlm probability must be in (0, 1), got {probability}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(device).eval()
    limit = min(int(tokenizer.model_max_length), int(getattr(model.config, "max_position_embeddings", 512)))
    special = sorted(set(tokenizer.all_special_ids))
    enc = tokenizer(
        texts,
        truncation=True,
        max_length=limit,
        return_special_tokens_mask=True,
        return_offsets_mapping=tokenizer.is_fast,
    )
    all_ids: list[list[int]] = enc["input_ids"]
    rng = np.random.default_rng(seed)
    out: list[str] = []
    ranges = _token_batches([len(ids) for ids in all_ids], batch_size, max_tokens)
    for start, end in tqdm(ranges, desc="MLM views", disable=not show_progress):
        rows = all_ids[start:end]
        width = max(len(ids) for ids in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id or 0, dtype=torch.long)  # (B, L)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = torch.tensor(row)
        attention = (torch.arange(width) < torch.tensor([len(row) for row in rows])[:, None]).long()  # (B, L)
        candidate = attention.bool() & ~torch.isin(ids, torch.tensor(special))  # (B, L)
        chosen = torch.zeros_like(candidate)  # (B, L)
        for r in range(len(rows)):
            positions = candidate[r].nonzero().squeeze(1)  # (n,)
            if positions.numel() == 0:
                continue
            count = max(1, round(probability * positions.numel()))
            order = np.argsort(rng.random(positions.numel()), kind="stable")[:count]
            chosen[r, positions[torch.from_numpy(order)]] = True
        masked = ids.masked_fill(chosen, tokenizer.mask_token_id)  # (B, L)
        logits = model(input_ids=masked.to(device), attention_mask=attention.to(device)).logits  # (B, L, V)
        logits[..., special] = float("-inf")
        filled = torch.where(chosen, logits.argmax(-1).cpu(), ids)  # (B, L)
        for r, row in enumerate(rows):
            if not chosen[r].any():  # nothing to replace (e.g. only [UNK] pieces): keep the sentence
                out.append(texts[start + r])
                continue
            added = enc["special_tokens_mask"][start + r]  # [CLS]/[SEP] only: [UNK] pieces stay in the text
            kept = [token for token, mask in zip(filled[r, : len(row)].tolist(), added, strict=True) if not mask]
            text = tokenizer.decode(kept, clean_up_tokenization_spaces=True).strip()
            out.append(text + _untouched_tail(texts[start + r], enc, start + r))
    return out


def _untouched_tail(text: str, enc: object, index: int) -> str:
    """Text past the masked LM's length limit (truncated before masking), appended back unchanged."""
    offsets = enc.get("offset_mapping") if hasattr(enc, "get") else None
    if not offsets:
        return ""
    ends = [stop for begin, stop in offsets[index] if stop > begin]
    tail = text[max(ends) :].strip() if ends else ""
    return " " + tail if tail else ""


def mlm_views(
    texts: list[str],
    model_name: str,
    *,
    probability: float = 0.15,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    show_progress: bool = False,
) -> list[str]:
    """Load the masked LM ``model_name`` (hub id or local dir) and make the MLM view of every sentence."""
    model, tokenizer = load_masked_lm(model_name)
    return fill_masks(
        model,
        tokenizer,
        texts,
        probability=probability,
        seed=seed,
        batch_size=batch_size,
        device=device,
        show_progress=show_progress,
    )
