"""Batched sentence encoding for evaluation: unique sentences, length-sorted batches, original order back.

STS sets repeat many sentences (each appears in several pairs and across tasks), so every distinct string is
encoded once. Sorting by token length keeps padding per batch minimal, which is most of the speed-up over a
naive loop on CPU. Rows come back L2-normalised, so a dot product is the cosine similarity (§4).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from sct.encoder import SentenceEncoder


@contextlib.contextmanager
def _precision(device: torch.device, amp: bool) -> Iterator[None]:
    """fp32 means fp32 on CUDA too: TF32 matmuls (10-bit mantissa, ~1e-3 relative; on wherever a process
    set ``allow_tf32`` / ``set_float32_matmul_precision("high")``, e.g. for training) are switched off while
    encoding and restored afterwards. With ``amp`` this is a no-op (bf16 autocast states its precision)."""
    if amp or device.type != "cuda":
        yield
        return
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def _autocast(device: torch.device, amp: bool) -> torch.autocast:
    """bf16 autocast on CUDA (where supported) when ``amp``; disabled elsewhere: fp32 on CPU stays exact."""
    enabled = amp and device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def encode_sentences(
    encoder: SentenceEncoder,
    tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[str],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    show_progress: bool = False,
    amp: bool = False,
    desc: str = "encoding",
) -> torch.Tensor:
    """Encode ``sentences`` -> (n, d) float32 L2-normalised rows on the CPU, in the order given.

    Each distinct sentence is encoded once (duplicates share its row); ``desc`` labels the progress bar.

    The encoder runs in eval mode under ``inference_mode`` (its training mode is restored afterwards) on
    ``device``: default where its parameters are; a different device moves the encoder there (and it
    stays). Inputs are truncated at ``encoder.max_seq_length``. ``amp=True`` enables bf16 autocast on CUDA
    (faster, ~1e-3 off); the default is fp32 on every device (TF32 off while encoding on CUDA), which matches
    sentence-transformers to 1e-5.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(sentences, str):
        raise ValueError("sentences must be a sequence of strings, not one string")
    n = len(sentences)
    if n == 0:
        return torch.empty(0, encoder.dim, dtype=torch.float32)
    unique: dict[str, int] = {}
    positions = [unique.setdefault(s, len(unique)) for s in sentences]  # n ids into the unique list
    texts = list(unique)
    ids = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=encoder.max_seq_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]), reverse=True)  # longest first
    current = next(encoder.parameters()).device
    target = torch.device(device) if device is not None else current
    if target != current:
        encoder.to(target)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = torch.empty(len(texts), encoder.dim, dtype=torch.float32)  # (u, d)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode(), _precision(target, amp), _autocast(target, amp):
            starts = range(0, len(order), batch_size)
            for start in tqdm(starts, desc=desc, disable=not show_progress, leave=False):
                chunk = order[start : start + batch_size]
                width = len(ids[chunk[0]])  # longest of the chunk: rows are sorted by length
                input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)  # (b, L)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)  # (b, L)
                for row, i in enumerate(chunk):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                # .forward, not __call__: a training run may have compiled the module (optim.compile) for its
                # static bucketed shapes; evaluation batches take every width, which would recompile each.
                vectors = encoder.forward(input_ids.to(target), mask.to(target)).float()  # (b, d)
                out[torch.tensor(chunk)] = F.normalize(vectors, dim=-1).cpu()
    finally:
        encoder.train(was_training)
    return out[torch.tensor(positions)]  # (n, d)
