"""Back-translation throughput: distinct sentences/s of the paper's round trip (2 pivots, 4 model passes).

No Hub here, so the four opus-mt models are replaced by random MarianMT models of their exact shape
(Helsinki-NLP/opus-mt-en-de's config: 6+6 layers, d_model 512, 8 heads, FFN 2048, vocabulary 58,101, shared
embeddings) with a tokenizer of that vocabulary size (BERT's uncased word pieces from ../shared padded with
unused entries). Random weights never emit end-of-sentence, so every ``generate`` call is held to the number
of steps a real translation takes — the batch's longest source + 2 tokens (``min_length = max_length``),
which is where a trained model's batch ends too (translations of NLI sentences are about as long as their
source). The sentences are real SNLI sentences from ../shared (random word sequences without it).

It runs the real code: :class:`~sct.data.backtranslation.job.Job` and :func:`run_job` with the in-process
executor (one replica, ``--threads`` torch threads) and, with ``--ray``, the Ray Data executor on a local Ray
(``--workers`` replicas of one CPU each), side by side on the same sentences. Prints one JSON line per run.
Usage::

    python benchmarks/backtranslate.py [--sentences 64] [--num-beams 4] [--batch-size 32] [--threads 1] [--ray]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch
from transformers import BertTokenizerFast, MarianConfig, MarianMTModel

from sct.data.backtranslation import translator
from sct.data.backtranslation.job import Job, run_job
from sct.data.backtranslation.local import local_executor
from sct.data.backtranslation.settings import Generation, Pivot

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OPUS_MT_EN_DE = {"vocab_size": 58101, "d_model": 512, "encoder_layers": 6, "decoder_layers": 6,
                 "encoder_attention_heads": 8, "decoder_attention_heads": 8, "encoder_ffn_dim": 2048,
                 "decoder_ffn_dim": 2048, "max_position_embeddings": 512, "activation_function": "swish",
                 "scale_embedding": True, "static_position_embeddings": True}  # fmt: skip


def sentences(count: int) -> list[str]:
    path = SHARED / "data" / "unlabeled" / "snli_senteval" / "s1.dev"
    if path.is_file():
        lines = list(dict.fromkeys(line.strip() for line in path.read_text(encoding="utf-8").splitlines()))
        return [line for line in lines if line][:count]
    rng = random.Random(0)
    words = "a the man woman dog cat plays runs in on park guitar red blue small big old young happy".split()
    return [" ".join(rng.choices(words, k=rng.randint(6, 18))) for _ in range(count)]


def opus_shaped_model(directory: Path, seed: int) -> Path:
    """A random MarianMT model with opus-mt-en-de's shape and a tokenizer of its vocabulary size."""
    vocab_file = SHARED / "models" / "bert-mini-config" / "vocab.txt"
    words = vocab_file.read_text(encoding="utf-8").splitlines() if vocab_file.is_file() else []
    words = words or ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz"]
    words += [f"[unused_{i}]" for i in range(OPUS_MT_EN_DE["vocab_size"] - len(words))]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(str(directory), do_lower_case=True)
    tokenizer.save_pretrained(str(directory))
    ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.sep_token_id,
           "decoder_start_token_id": tokenizer.pad_token_id}  # fmt: skip
    torch.manual_seed(seed)
    MarianMTModel(MarianConfig(**OPUS_MT_EN_DE, **ids)).save_pretrained(directory)
    return directory


def hold_to_source_length() -> None:
    """Make every generate call take the steps a trained model's would: longest source in the batch + 2."""
    original = translator._Model.__init__

    def init(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        original(self, *args, **kwargs)
        generate = self.model.generate

        def held(*, input_ids, attention_mask, **settings):  # noqa: ANN001, ANN003, ANN202
            steps = int(input_ids.shape[1]) + 2
            settings.update(max_length=steps, min_length=steps)
            return generate(input_ids=input_ids, attention_mask=attention_mask, **settings)

        self.model.generate = held

    translator._Model.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ray", action="store_true", help="also the Ray Data executor on a local Ray")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    hold_to_source_length()
    texts = sentences(args.sentences)
    generation = Generation(num_beams=args.num_beams, max_length=128, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        m0, m1 = (str(opus_shaped_model(root / f"m{i}", i)) for i in (0, 1))
        pivots = (Pivot("de", m0, m1), Pivot("fr", m1, m0))
        runs = [("local", local_executor(threads=args.threads))]
        if args.ray:
            import ray

            from sct.data.backtranslation.ray_runner import ray_executor

            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
            runs.append(("ray", ray_executor(workers=args.workers, cpus_per_worker=1)))
        for name, executor in runs:
            job = Job(root / f"{name}.tsv", texts, pivots, generation, shard_size=args.batch_size)
            started = time.perf_counter()
            outcome = run_job(job, executor, every_s=60.0)
            seconds = time.perf_counter() - started  # model loading included, as in a real run
            print(json.dumps({
                "executor": name, "replicas": 1 if name == "local" else args.workers, "threads": args.threads,
                "sentences": len(texts), "num_beams": args.num_beams, "batch_size": args.batch_size,
                "seconds": round(seconds, 1), "sentences_per_s": round(outcome.translated / seconds, 3),
                "load_average": round(__import__("os").getloadavg()[0], 1),
            }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
