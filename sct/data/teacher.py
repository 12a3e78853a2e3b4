"""Teacher vectors for distillation (paper §3.4), computed once per (teacher, dataset) and cached on disk.

The teacher is frozen: its vectors for both views of every training sentence are encoded once (eval mode,
L2-normalised, truncated at ``max_length`` tokens: by default the student's training length, so the target
describes the text the student reads) and stored as two ``(N, d_t)`` float tensors. Every
later run — and every trial of a sweep — on the same teacher and tokenised dataset loads them instead of
running the teacher again, so distillation costs one embedding lookup per step and no gradient can ever
reach the teacher.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from sct.data.sources import model_files_fingerprint
from sct.storage import write_file

log = logging.getLogger(__name__)


def teacher_vectors(
    teacher: str,
    texts1: list[str],
    texts2: list[str],
    dataset_fingerprint: str,
    *,
    max_length: int,
    batch_size: int = 256,
    device: torch.device | str | None = None,
    cache_root: Path,
    show_progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised teacher vectors of view 1 and view 2, each ``(N, d_t)`` float32 on CPU.

    Read from ``cache_root/teacher/<key>.pt`` when present, else encoded once and written there atomically.
    The key covers the teacher's files, the dataset and ``max_length`` (the teacher's truncation length).
    """
    from sct.encoder import SentenceEncoder
    from sct.evaluate.embedding import encode_sentences

    files = model_files_fingerprint(teacher)
    identity = teacher if files is None else f"{Path(teacher).expanduser().resolve()}\n{files}"
    key = hashlib.sha256(f"{identity}\n{dataset_fingerprint}\nmax_length={max_length}".encode()).hexdigest()[:32]
    path = Path(cache_root) / "teacher" / f"{key}.pt"
    if path.is_file():
        cached = torch.load(path, map_location="cpu")
        return cached["view1"], cached["view2"]

    what = f"{len(texts1)} sentence pairs with the teacher {teacher} at {max_length} tokens"
    log.info("encoding %s (cached at %s)", what, path)
    encoder, tokenizer = SentenceEncoder.from_pretrained(teacher, max_seq_length=max_length)
    encoder.requires_grad_(False)
    encode = dict(batch_size=batch_size, device=device, show_progress=show_progress)
    same = texts2 == texts1
    views = []
    for number, texts in enumerate((texts1,) if same else (texts1, texts2), 1):
        passes = "view 1 = view 2" if same else f"view {number}/2"
        log.info("teacher pass %s: %d sentences (%d distinct)", passes, len(texts), len(set(texts)))
        views.append(encode_sentences(encoder, tokenizer, texts, desc=f"teacher {passes}", **encode).float().cpu())
    view1, view2 = views[0], views[-1]  # (N, d_t) each
    saved = {"teacher": teacher, "max_length": max_length, "view1": view1, "view2": view2}
    write_file(path, lambda tmp: torch.save(saved, tmp))
    return view1, view2
