"""One model replica of the back-translation: every pivot's two seq2seq models, loaded once, on one device.

:class:`RoundTrip` maps English sentences to their back-translations through each pivot (x → pivot → x). It
is plain transformers and torch: the local runner calls it in-process, the Ray Data runner holds one per
actor (one per GPU, or per CPU worker). Within a call, sentences are translated in length order (less
padding per ``generate`` batch) and returned in the caller's order. Outputs are whitespace-normalised (a
tab or newline in a translation would break the TSV); an empty output stays empty here and is replaced by
the sentence itself where the shards are written (:mod:`sct.data.backtranslation.job`), which counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sct.data.backtranslation.settings import Generation, Pivot


def clean(text: str) -> str:
    """One line of text: whitespace runs (tabs, newlines included) become one space, ends stripped."""
    return " ".join(text.split())


def pick_device(device: str | None = None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def pick_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on a CUDA device that supports it, else fp32 (fp16 only when asked for)."""
    if precision == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


class _Model:
    """A seq2seq model and its tokenizer, ready to translate a list of sentences."""

    def __init__(self, name: str, generation: Generation, device: torch.device, dtype: torch.dtype) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from sct.hub import model_source

        source = model_source(name)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(source).to(device=device, dtype=dtype).eval()
        self.generation, self.device = generation, device

    @torch.inference_mode()
    def translate(self, texts: Sequence[str]) -> list[str]:
        settings = self.generation
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[str] = [""] * len(texts)
        for start in range(0, len(order), settings.batch_size):
            rows = order[start : start + settings.batch_size]
            batch = self.tokenizer(
                [texts[i] for i in rows],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=settings.max_length,
            ).to(self.device)
            generated = self.model.generate(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                num_beams=settings.num_beams,
                max_length=settings.max_length,
                do_sample=False,
            )
            decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            for i, text in zip(rows, decoded, strict=True):
                out[i] = clean(text)
        return out


class RoundTrip:
    """``round_trip(texts)`` → one list of back-translations per pivot, aligned with ``texts``."""

    def __init__(
        self,
        pivots: Sequence[Pivot],
        generation: Generation,
        *,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.device = pick_device(device)
        if threads is not None and self.device.type == "cpu":
            torch.set_num_threads(max(1, threads))
        dtype = pick_dtype(generation.precision, self.device)
        self.pivots = tuple(pivots)
        self.models = [
            (_Model(p.forward, generation, self.device, dtype), _Model(p.back, generation, self.device, dtype))
            for p in self.pivots
        ]

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        return [back.translate(forward.translate(texts)) for forward, back in self.models]
