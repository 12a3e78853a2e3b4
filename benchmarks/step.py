"""Step benchmark: encoder-only step vs full SCT step vs the loss+queue part (fast and naive), side by side.

A random BERT-Tiny-shaped encoder (2 layers, hidden 128, 2 heads, intermediate 512, vocab 30522), B = 128,
L = 32, for each queue size k. Rows (medians of ``--repeats`` timed runs after 2 warm-up runs):

- ``encoder``: forward + backward + AdamW of the two views (2 x B sentences) with a mean-embedding loss: the
  encoder work any two-view method pays; the SCT step adds the reference pass, head, loss and queue update.
- ``sct``: the full SCT step (SCTObjective: two views, reference pass, head, loss, backward, AdamW, update).
- ``loss_fast`` / ``loss_naive``: the loss + queue part alone on random unit vectors (d = 128): forward,
  backward and queue update, fast path vs the released arithmetic (``benchmarks/naive_loss.py``).
- ``matmul_floor``: the six thin (B x d) @ (d x k) matmuls the loss cannot avoid.

Timings interleave the rows within each repeat (a shared CPU's load then hits all rows alike). Peak memory is
measured per row in its own subprocess (CPU: growth of the peak RSS, VmHWM, over the pre-row baseline; GPU:
``torch.cuda.max_memory_allocated``) so that it is that row's own. Usage::

    python benchmarks/step.py [--k 16384 131072] [--batch 128] [--repeats 5] [--device cpu|cuda] [--dtype bf16]
        [--compile off|default|reduce-overhead|max-autotune-no-cudagraphs]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from sct.config import CompileMode  # noqa: E402  (after the path: runs from a checkout)

ROWS = ("encoder", "sct", "loss_fast", "loss_naive", "matmul_floor")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def encoder_and_batch(args: argparse.Namespace, device: torch.device):
    from transformers import BertConfig

    from sct.encoder import SentenceEncoder

    config = BertConfig(
        vocab_size=30522, hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, intermediate_size=4 * args.hidden,
    )  # fmt: skip
    encoder = SentenceEncoder.from_config(config, max_seq_length=args.seq_len).to(device).train()
    batch = {}
    for view in (1, 2):
        batch[f"input_ids_{view}"] = torch.randint(1000, 30522, (args.batch, args.seq_len), device=device)
        batch[f"attention_mask_{view}"] = torch.ones(args.batch, args.seq_len, dtype=torch.long, device=device)
    batch["index"] = torch.arange(args.batch, device=device)
    return encoder, batch


def make_step(row: str, args: argparse.Namespace, device: torch.device):
    """A zero-argument callable running one timed unit of ``row``."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.dtype == "bf16")
    if row in ("encoder", "sct"):
        from sct.config import MethodConfig, SCTConfig
        from sct.objective import SCTObjective

        encoder, batch = encoder_and_batch(args, device)
        modules = [encoder]
        objective = None
        if row == "sct":
            objective = SCTObjective(SCTConfig(method=MethodConfig(queue_size=args.k)), encoder).to(device)
            modules.append(objective)
        params = [p for m in modules for p in m.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4, eps=1e-6, fused=device.type == "cuda" or None)
        if args.compile != "off":
            from sct.step import compile_step

            if objective is not None:
                compile_step(encoder, objective, mode=args.compile)
            else:
                encoder.compile(dynamic=False, mode=None if args.compile == "default" else args.compile)

        def step() -> None:
            if args.compile != "off":
                torch.compiler.cudagraph_mark_step_begin()
            with autocast:
                if objective is None:
                    x1 = encoder(batch["input_ids_1"], batch["attention_mask_1"])  # (B, d)
                    x2 = encoder(batch["input_ids_2"], batch["attention_mask_2"])  # (B, d)
                    loss = (x1.float().mean() + x2.float().mean()) ** 2
                else:
                    out = objective(encoder, batch)
                    loss = out.loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if objective is not None:
                objective.update(out, encoder)

        return step
    from naive_loss import naive_cross_view_loss

    from sct.losses import cross_view_loss
    from sct.queues import InstanceQueue

    b, d, k = args.batch, args.hidden, args.k
    online = [F.normalize(torch.randn(b, d, device=device), dim=1).requires_grad_() for _ in range(2)]
    targets = [F.normalize(torch.randn(b, d, device=device), dim=1) for _ in range(2)]
    if row == "matmul_floor":
        queue = F.normalize(torch.randn(k, d, device=device), dim=1)
        return lambda: [(t @ queue.T, (o.detach() @ queue.T) @ queue) for o, t in zip(online, targets, strict=True)]
    if row == "loss_fast":
        queues = [InstanceQueue(k, d).to(device) for _ in range(2)]

        def fast() -> None:
            loss = cross_view_loss(*online, *targets, *(q.vectors for q in queues), tau_online=0.04, tau_target=0.03)
            loss.backward()
            for q, t in zip(queues, targets, strict=True):
                q.enqueue(t)

        return fast
    state = [F.normalize(torch.randn(k, d, device=device), dim=1) for _ in range(2)]

    def naive() -> None:
        loss, state[0], state[1] = naive_cross_view_loss(*online, *targets, *state, tau_online=0.04, tau_target=0.03)
        loss.backward()

    return naive


def rss_peak_mb() -> float:
    """This process's peak RSS in MB: VmHWM (reset by exec, unlike ru_maxrss, which a child inherits)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(row: str, args: argparse.Namespace) -> float:
    """MB of peak memory of ``row`` alone over 2 steps (run in a fresh subprocess by :func:`main`)."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    base_mb = rss_peak_mb()
    step = make_step(row, args, device)
    for _ in range(2):
        step()
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return rss_peak_mb() - base_mb


def time_rows(rows: list[str], args: argparse.Namespace) -> dict[str, list[float]]:
    """Per row, ``repeats`` timings in ms. Rows are interleaved within each repeat so that a shared,
    fluctuating CPU load hits every row alike and the ratios stay meaningful."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    steps = {row: make_step(row, args, device) for row in rows}
    times: dict[str, list[float]] = {row: [] for row in rows}
    warm = 2 if args.compile == "off" else 4  # CUDA graphs record on the 2nd/3rd call
    for i in range(args.repeats + warm):
        for row, step in steps.items():
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            if i >= warm:
                times[row].append(1000 * (time.perf_counter() - start))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[16384, 131072])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="autocast dtype of the encoder")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument(
        "--compile",
        choices=("off", *get_args(CompileMode)),
        default="off",
        help="torch.compile mode of the encoder/sct rows (sct.step.compile_step; loss_fast then uses the "
        "compiled fused kernel too); fused AdamW on CUDA either way",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the per-row peak-memory subprocesses")
    parser.add_argument("--row", choices=ROWS, help=argparse.SUPPRESS)  # internal: one row in this process
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5 (medians of at least 5 timings), got {args.repeats}")
    if args.row:
        args.k = args.k[0]
        print(json.dumps({"peak_mb": peak_memory(args.row, args)}))
        return
    shape = f"L={args.layers} H={args.hidden} A={args.heads} B={args.batch} seq={args.seq_len}"
    print(
        f"device={args.device} dtype={args.dtype} compile={args.compile} threads={torch.get_num_threads()} "
        f"{shape} repeats={args.repeats}"
    )
    print(f"{'k':>7} {'row':<13} {'median ms':>10} {'min ms':>9} {'max ms':>9} {'peak MB':>8}")
    for k in args.k:
        args.k = k
        times = time_rows(args.rows, args)
        med = {row: statistics.median(t) for row, t in times.items()}
        for row in args.rows:
            cmd = [sys.executable, __file__, "--row", row, "--k", str(k)]
            for name in ("batch", "seq_len", "hidden", "layers", "heads", "repeats", "device", "dtype", "compile"):
                cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            peak = float("nan")
            if not args.no_memory:
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                peak = json.loads(out)["peak_mb"]
            t = times[row]
            print(f"{k:>7} {row:<13} {med[row]:>10.1f} {min(t):>9.1f} {max(t):>9.1f} {peak:>8.0f}", flush=True)
        ratios = []
        if "sct" in med and "encoder" in med:
            ratios.append(f"sct/encoder = {med['sct'] / med['encoder']:.2f}x")
        if "loss_fast" in med and "loss_naive" in med:
            ratios.append(f"naive/fast = {med['loss_naive'] / med['loss_fast']:.2f}x")
        print(f"{k:>7} ratios of medians: " + ", ".join(ratios), flush=True)


if __name__ == "__main__":
    main()
