"""Benchmark: sct's evaluation encoding vs ``SentenceTransformer.encode`` on the same model and sentences.

Workload shaped like the seven STS test sets (18,850 pairs; sentences recur across pairs and tasks): STS-B
sentences from ../shared, ``--n-sentences`` slots of which ``--unique-fraction`` are distinct, shuffled.
``--unique-fraction 1`` removes the de-duplication advantage and compares raw encoding throughput.
Both encoders run side by side in one process, interleaved, ``--repeats`` times; medians are reported with
the throughput ratio (sentence slots per second, target >= 1.0x) and the max abs difference of the
L2-normalised embeddings (target <= 1e-5) at the same max_seq_length and batch size.

    python benchmarks/evaluate.py [--limit 2000] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sct.encoder import SentenceEncoder  # noqa: E402
from sct.evaluate import encode_sentences  # noqa: E402

SHARED = REPO.parent / "shared"


def build_workload(sts_dir: Path, n_sentences: int, unique_fraction: float, seed: int) -> list[str]:
    """``n_sentences`` STS-B sentences, ``unique_fraction`` of them distinct, the rest repeats, shuffled."""
    pool: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        for line in (sts_dir / "STSBenchmark" / f"sts-{split}.csv").read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            if len(cols) >= 7:
                pool.update(dict.fromkeys(cols[5:7]))
    rng = random.Random(seed)
    distinct = list(pool)
    rng.shuffle(distinct)
    n_unique = min(len(distinct), max(1, round(n_sentences * unique_fraction)))
    unique = distinct[:n_unique]
    workload = unique + [rng.choice(unique) for _ in range(n_sentences - n_unique)]
    rng.shuffle(workload)
    return workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHARED / "models" / "all-MiniLM-L6-v2"))
    parser.add_argument("--sts-dir", default=str(SHARED / "data" / "sts"))
    parser.add_argument("--n-sentences", type=int, default=20_000, help="sentence slots of the workload")
    parser.add_argument("--unique-fraction", type=float, default=0.75, help="distinct share of the slots")
    parser.add_argument("--limit", type=int, default=None, help="N slots, same unique share (quick runs)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true", help="sct side in bf16 autocast (CUDA); default fp32")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n_slots = args.n_sentences if args.limit is None else min(args.limit, args.n_sentences)
    sentences = build_workload(Path(args.sts_dir), n_slots, args.unique_fraction, args.seed)
    encoder, tokenizer = SentenceEncoder.from_pretrained(args.model, max_seq_length=args.max_seq_length)
    encoder.to(args.device)
    st_model = SentenceTransformer(args.model, device=args.device)
    st_model.max_seq_length = args.max_seq_length
    print(
        f"device={args.device} threads={torch.get_num_threads()} sentences={len(sentences)} "
        f"unique={len(set(sentences))} batch={args.batch_size} max_seq_length={args.max_seq_length} "
        f"sct precision={'bf16' if args.amp else 'fp32'} (matmul tf32 flag {torch.backends.cuda.matmul.allow_tf32}, "
        f"float32_matmul_precision {torch.get_float32_matmul_precision()})"
    )

    def run_sct() -> torch.Tensor:
        return encode_sentences(
            encoder, tokenizer, sentences, batch_size=args.batch_size, device=args.device, amp=args.amp
        )

    def run_st() -> torch.Tensor:
        out = st_model.encode(sentences, batch_size=args.batch_size, convert_to_tensor=True, normalize_embeddings=True)
        return out.float().cpu()

    def timed(fn) -> tuple[float, float, torch.Tensor]:
        """(wall s, process CPU s, output): CPU time is steadier than wall time on a shared machine."""
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = fn()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start, time.process_time() - cpu_start, result

    warm = sentences[:256]  # warm-up (allocators, kernels, tokenizer caches) on a slice
    encode_sentences(encoder, tokenizer, warm, batch_size=args.batch_size, device=args.device)
    st_model.encode(warm, batch_size=args.batch_size)
    times: dict[str, list[float]] = {"sct": [], "st": []}
    cpu_times: dict[str, list[float]] = {"sct": [], "st": []}
    outputs: dict[str, torch.Tensor] = {}
    for repeat in range(args.repeats):
        for name, fn in (("sct", run_sct), ("st", run_st)) if repeat % 2 == 0 else (("st", run_st), ("sct", run_sct)):
            seconds, cpu_seconds, outputs[name] = timed(fn)
            times[name].append(seconds)
            cpu_times[name].append(cpu_seconds)
    med = {name: statistics.median(values) for name, values in times.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpu_times.items()}
    for name, label in (("sct", "sct.evaluate.encode_sentences"), ("st", "SentenceTransformer.encode")):
        runs = " ".join(f"{t:.2f}" for t in times[name])
        print(
            f"{label:<30} median {med[name]:7.2f} s wall ({cpu_med[name]:7.2f} s CPU)  "
            f"{len(sentences) / med[name]:8.1f} sent/s  runs [{runs}]"
        )
    max_diff = (outputs["sct"] - outputs["st"]).abs().max().item()
    print(
        f"throughput ratio sct/st = {med['st'] / med['sct']:.2f}x wall, {cpu_med['st'] / cpu_med['sct']:.2f}x CPU"
        " time (target >= 1.0x)"
    )
    print(f"max |emb_sct - emb_st| = {max_diff:.2e} (target <= 1e-5)")


if __name__ == "__main__":
    main()
