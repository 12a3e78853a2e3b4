"""Data at paper scale: first tokenisation of ~1M sentences into the cache, cached reload, peak RSS.

Generates ``--lines`` sentences (default 1M) by recombining real sentences from ../shared (SNLI + wiki head;
random word sequences from a fixed vocabulary when ../shared is absent), then in fresh subprocesses:

- ``first``: ``prepare_pairs`` on an empty cache (read, word-deletion view, tokenise both views, write);
- ``reload``: ``prepare_pairs`` again (the source is re-read for its fingerprint; the cache is memory-mapped)
  plus one pass of 128-row batches over 1% of the data, touching the mapped ids.

Each prints seconds, sentences/s and its peak RSS (VmHWM). Targets on 2 cores: first >= 10k sentences/s,
reload <= 3 s, peak RSS <= 1.5 GB. Usage::

    python benchmarks/data.py [--lines 1000000] [--workdir /tmp/sct-data-bench] [--max-length 32]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOKENIZER = SHARED / "models" / "bert-mini-config"


def source_sentences() -> list[str]:
    files = [SHARED / "data" / "unlabeled" / name for name in ("snli_senteval/s1.dev", "wiki1m_head.txt")]
    lines = [line.strip() for f in files if f.is_file() for line in f.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    if lines:
        return lines
    rng = random.Random(0)
    words = "a the man woman dog cat plays runs in on park guitar red blue small big old young happy".split()
    return [" ".join(rng.choices(words, k=rng.randint(4, 20))) for _ in range(5000)]


def generate(path: Path, lines: int) -> None:
    """``lines`` sentences: halves of two random real sentences glued together (distinct, realistic lengths)."""
    base = source_sentences()
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(lines):
            a, b = rng.choice(base).split(), rng.choice(base).split()
            out.write(" ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2 :])[:400] + "\n")


def rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def phase(name: str, args: argparse.Namespace) -> dict:
    """One phase in this process (called in a fresh subprocess by :func:`main`)."""
    import torch
    from transformers import AutoTokenizer, BertTokenizerFast

    from sct.config import DataConfig, ModelConfig, SCTConfig
    from sct.data.tokenized import prepare_pairs

    if TOKENIZER.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER))
    else:
        vocab = Path(args.workdir) / "vocab.txt"
        words = "[PAD] [UNK] [CLS] [SEP] [MASK] " + " ".join(source_sentences()[0:1]) + " a the man dog"
        vocab.write_text("\n".join(dict.fromkeys(words.split())) + "\n", encoding="utf-8")
        tokenizer = BertTokenizerFast(vocab=str(vocab))
    cfg = SCTConfig(
        model=ModelConfig(max_length=args.max_length),
        data=DataConfig(train=str(Path(args.workdir) / "train.txt"), cache_dir=str(Path(args.workdir) / "cache")),
    )
    start = time.perf_counter()
    ds = prepare_pairs(cfg, tokenizer, show_progress=False)
    seconds = time.perf_counter() - start
    result = {"phase": name, "seconds": seconds, "sentences_per_s": len(ds) / seconds, "pairs": len(ds)}
    if name == "reload":
        order = torch.randperm(len(ds))[: max(128, len(ds) // 100)]
        start = time.perf_counter()
        for b in range(0, len(order), 128):
            ds.batch(order[b : b + 128], tokenizer.pad_token_id)
        result["batch_ms"] = 1000 * (time.perf_counter() - start) / max(1, len(order) // 128)
    result["peak_rss_mb"] = rss_peak_mb()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="/tmp/sct-data-bench")
    parser.add_argument("--max-length", type=int, default=32)
    parser.add_argument("--phase", choices=("first", "reload"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args)))
        return
    work = Path(args.workdir)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    start = time.perf_counter()
    generate(work / "train.txt", args.lines)
    print(f"generated {args.lines} lines in {time.perf_counter() - start:.1f} s", flush=True)
    for name in ("first", "reload"):
        cmd = [sys.executable, __file__, "--phase", name, "--lines", str(args.lines), "--workdir", str(work)]
        cmd += ["--max-length", str(args.max_length)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=_env())
        r = json.loads(out.stdout.strip().splitlines()[-1])
        extra = f" batch(128)={r['batch_ms']:.2f} ms" if "batch_ms" in r else ""
        print(
            f"{name:<7} {r['pairs']} pairs: {r['seconds']:.2f} s, {r['sentences_per_s']:.0f} sentences/s, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB{extra}",
            flush=True,
        )


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


if __name__ == "__main__":
    main()
