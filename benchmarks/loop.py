"""Loop overhead: ``sct.trainer.train()`` per steady-state step vs the bare SCT step of the same shape.

A random BERT-Tiny-shaped student (2 layers, 128 hidden, 2 heads, 512 intermediate; the real uncased
tokenizer from ``bert-mini-config`` in ``.gpu_inputs/`` or ../shared, else a generated word vocabulary) trains
on real sentences (``.gpu_inputs/sentences.txt`` or ../shared SNLI + wiki head, else generated text) with
the default evaluation cadence (STS-B dev every ``eval.every_steps`` = 64 steps; a generated STS-B when none
is found) and the default ``run.checkpoint_every_s``. Measured in one process:

- ``loop``: seconds between consecutive ``report`` calls, minus the time spent scoring STS-B dev in between,
  per step: batching, transfers, the step, logging, checkpoints -- everything but the scoring. Steady state
  only: with ``--compile`` an interval in which torch.compile built a graph (a batch shape seen for the
  first time, e.g. the other width bucket) is left out, and the count is printed;
- ``loop+eval``: the same with the scoring (what the default cadence costs in all);
On CPU the times are process CPU time (a shared CPU's load inflates wall time unevenly); on CUDA wall time.

- ``bare``: the SCT step alone (forward, backward, clip, AdamW, queue update) on batches of the same data,
  same model, precision and compile setting, timed over ``--bare-steps`` with one sync at the end.

The last line is ``loop_over_step=<loop / bare>`` (target <= 1.15). Usage::

    python benchmarks/loop.py [--device cpu|cuda] [--steps 192] [--queue-size 16384] [--out /tmp/sct-loop]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import get_args

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from sct.config import CompileMode, SCTConfig  # noqa: E402  (after the path: runs from a checkout)

INPUTS, SHARED = ROOT / ".gpu_inputs", ROOT.parent / "shared"


def first(paths: list[Path], test) -> Path | None:  # type: ignore[no-untyped-def]
    return next((p for p in paths if test(p)), None)


def inputs(work: Path) -> tuple[Path, Path, Path]:
    """(model dir with a random BERT-Tiny + tokenizer, training sentences file, STS dir in SentEval layout)."""
    from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

    config_dir = first([INPUTS / "bert-mini-config", SHARED / "models" / "bert-mini-config"], Path.is_dir)
    snli = SHARED / "data" / "unlabeled" / "snli_senteval" / "s1.dev"
    sentences = first([INPUTS / "sentences.txt", snli], Path.is_file)
    sts = first([INPUTS / "sts", SHARED / "data" / "sts"], lambda p: (p / "STSBenchmark").is_dir())
    rng = random.Random(0)
    words = "a the man woman dog cat plays runs in on park guitar red blue small big old young happy sad".split()
    if sentences is None:
        sentences = work / "sentences.txt"
        sentences.write_text("\n".join(" ".join(rng.choices(words, k=rng.randint(5, 24))) for _ in range(20000)))
    if sts is None:
        sts = work / "sts"
        (sts / "STSBenchmark").mkdir(parents=True)
        for split in ("dev", "test"):
            rows = [f"g\tf\t2012\t{i}\t{rng.uniform(0, 5):.2f}\t{' '.join(rng.choices(words, k=8))}\t"
                    f"{' '.join(rng.choices(words, k=8))}" for i in range(1500)]  # fmt: skip
            (sts / "STSBenchmark" / f"sts-{split}.csv").write_text("\n".join(rows) + "\n")
    if config_dir is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(config_dir))
        config = BertConfig.from_pretrained(str(config_dir))
    else:
        vocab = work / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words))]) + "\n")
        tokenizer, config = BertTokenizerFast(vocab=str(vocab)), BertConfig(vocab_size=len(words) + 5)
    config.update({"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512})
    config.vocab_size = len(tokenizer)
    model_dir = work / "bert-tiny-random"
    torch.manual_seed(0)
    BertModel(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    return model_dir, sentences, sts


def bare_step_ms(cfg, steps: int, clock=time.perf_counter) -> float:  # type: ignore[no-untyped-def]
    """Median-free mean of ``steps`` bare SCT steps (after 5 warm-up) on batches of the run's own data."""
    from sct.data.tokenized import prepare_pairs
    from sct.encoder import SentenceEncoder
    from sct.objective import SCTObjective
    from sct.optim import build_optimizer, resolve_device, resolve_precision
    from sct.step import BUCKET, compile_step

    device = resolve_device(cfg.run.device)
    amp = resolve_precision(cfg.optim.precision, device)
    encoder, tokenizer = SentenceEncoder.from_pretrained(cfg.model.name, max_seq_length=cfg.model.max_length)
    encoder.to(device).train()
    objective = SCTObjective(cfg, encoder, seed=0).to(device).train()
    compiled = cfg.optim.compile
    if compiled:
        compile_step(encoder, objective, cfg.optim.compile_mode)
    optimizer = build_optimizer([encoder, objective], cfg.optim)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    data = prepare_pairs(cfg, tokenizer, show_progress=False)
    order, size = torch.randperm(len(data)), cfg.optim.batch_size
    bucket = BUCKET if compiled else None
    batches = [
        {
            key: value.to(device)
            for key, value in data.batch(
                order[i * size : (i + 1) * size], tokenizer.pad_token_id, bucket=bucket
            ).items()
        }
        for i in range(min(16, len(data) // size))
    ]

    def step(batch: dict[str, torch.Tensor]) -> None:
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            if compiled:
                torch.compiler.cudagraph_mark_step_begin()
            out = objective(encoder, batch)
        optimizer.zero_grad(set_to_none=True)
        out.loss.float().backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        optimizer.step()
        objective.update(out, encoder)

    for i in range(3 * len(batches) if compiled else 5):  # compiled: every batch shape built and recorded first
        step(batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = clock()
    for i in range(steps):
        step(batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 1000 * (clock() - start) / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: 192 CPU, 640 CUDA)")
    parser.add_argument("--bare-steps", type=int, default=None, help="bare steps timed (default: 64 CPU, 256 CUDA)")
    parser.add_argument("--queue-size", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--compile", choices=("off", *get_args(CompileMode)), default="off", help="optim.compile + compile_mode"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    args = parser.parse_args(argv)
    cuda = args.device == "cuda"
    steps = args.steps or (640 if cuda else 192)
    from sct.config_io import apply_overrides
    from sct.evaluate.evaluator import STSEvaluator
    from sct.step import graph_count
    from sct.trainer import train

    work = Path(args.out or tempfile.mkdtemp(prefix="sct-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir, sentences, sts = inputs(work)
    overrides = {
        "model.name": str(model_dir), "data.train": str(sentences), "data.cache_dir": str(work / "cache"),
        "method.queue_size": args.queue_size, "optim.batch_size": args.batch_size, "optim.max_steps": steps,
        "optim.epochs": 1000, "eval.sts_dir": str(sts), "eval.test_tasks": ["stsb"],
        "run.output_dir": str(work / "run"), "run.device": args.device,
    }  # fmt: skip
    overrides["optim.compile"] = args.compile != "off"
    if args.compile != "off":
        overrides["optim.compile_mode"] = args.compile
    cfg = apply_overrides(SCTConfig(), overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.perf_counter if cuda else time.process_time  # CPU: process time, steadier on a shared machine
    scoring: list[float] = []
    original = STSEvaluator.__call__

    def timed(self, *a, **kw):  # type: ignore[no-untyped-def]
        start = clock()
        try:
            return original(self, *a, **kw)
        finally:
            if cuda:
                torch.cuda.synchronize()
            scoring.append(clock() - start)

    reports: list[tuple[int, float, int, int]] = []  # (step, time, scoring calls so far, graphs compiled)
    STSEvaluator.__call__ = timed  # type: ignore[method-assign]
    try:
        train(
            cfg, lambda step, m, ckpt: reports.append((step, clock(), len(scoring), graph_count())), show_progress=False
        )
    finally:
        STSEvaluator.__call__ = original  # type: ignore[method-assign]
    if len(reports) < 2:
        raise SystemExit(f"need at least two evaluations: got reports at steps {[r[0] for r in reports]}")
    intervals = list(zip(reports, reports[1:], strict=False))
    steady = [(a, b) for a, b in intervals if b[3] == a[3]] or intervals  # no graph compiled in between
    n_steps = sum(b[0] - a[0] for a, b in steady)
    wall = sum(b[1] - a[1] for a, b in steady)
    eval_s = sum(sum(scoring[a[2] : b[2]]) for a, b in steady)
    evals = sum(b[2] - a[2] for a, b in steady)
    with_eval = 1000 * wall / n_steps
    loop = 1000 * (wall - eval_s) / n_steps
    all_steps, all_wall = reports[-1][0] - reports[0][0], reports[-1][1] - reports[0][1]
    all_loop = 1000 * (all_wall - sum(scoring[reports[0][2] : reports[-1][2]])) / all_steps
    bare = bare_step_ms(cfg, args.bare_steps or (256 if cuda else 64), clock)
    kind = "wall" if cuda else "process CPU"
    print(f"device={args.device} steps={steps} B={args.batch_size} k={args.queue_size} evals={len(reports)} "
          f"threads={torch.get_num_threads()} clock={kind}")  # fmt: skip
    print(f"loop+eval {with_eval:.1f} ms/step, loop {loop:.1f} ms/step, bare {bare:.1f} ms/step ({kind} time)")
    print(f"dev scoring {1000 * eval_s / max(1, evals):.0f} ms per evaluation; loop+eval/bare {with_eval / bare:.2f}")
    if cfg.optim.compile:  # graphs built after the first evaluation: new shapes, or recompiles (TORCH_LOGS=recompiles)
        (s0, *_, g0), (s1, *_, g1) = reports[0], reports[-1]
        print(f"torch.compile graphs: {g0} by step {s0}, {g1 - g0} more by step {s1}")
        print(f"timed {len(steady)} of {len(intervals)} intervals between evaluations ({n_steps} steps): no new graph")
        print(f"all intervals, compiling included: loop {all_loop:.1f} ms/step ({all_loop / bare:.2f}x bare)")
    print(f"loop_over_step={loop / bare:.3f}")


if __name__ == "__main__":
    main()
