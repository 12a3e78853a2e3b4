"""``python -m sct.data``: make the paper's training views, and show the views a run trains on.

- ``backtranslate IN [OUT]``: back-translate sentences into the three-column file ``x<TAB>T(x)<TAB>T′(x)``
  on Ray Data (``--runner local``: in this process, without Ray). ``IN = paper-nli`` reads the paper's
  SNLI+MNLI sentences and writes the cache that ``data.train=paper-nli`` trains on (OUT then defaults to it).
- ``preview --train-data F [--set data.augmentation=A …] [-n N]``: the first N pairs ``view1<TAB>view2``
  exactly as the trainer sees them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sct import cli
from sct.errors import UserError
from sct.signals import Interrupted

_IN_HELP = (
    "sentences: a text file (one a line), a .tsv (--column N), a datasets id or directory (--column NAME), or "
    "paper-nli (the train premises and hypotheses of stanfordnlp/snli and nyu-mll/multi_nli)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.data", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bt = commands.add_parser("backtranslate", help="write x<TAB>T(x)<TAB>T′(x) for every input sentence")
    add = bt.add_argument
    add("input", metavar="IN", help=_IN_HELP)
    add("output", metavar="OUT", nargs="?", help="the file to write (for paper-nli: default its cache file)")
    add("--column", action="append", default=[], help="input column(s), repeatable: 1-based for a .tsv, names for "
        "a dataset (default: the first)")  # fmt: skip
    add("--split", default="train", help="dataset split (default train)")
    add("--pivot", action="append", default=[], metavar="NAME:FORWARD:BACK",
        help="a pivot language and its two models (hub ids or dirs), given twice (default: de, fr)")  # fmt: skip
    add("--num-beams", type=int, default=4, help="beam size (default 4)")
    add("--max-length", type=int, default=128, help="token limit of inputs and outputs (default 128)")
    add("--batch-size", type=int, default=32, help="sentences per generate call (default 32)")
    add("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
        help="auto: bf16 on a CUDA GPU that supports it, else fp32")  # fmt: skip
    add("--shard-size", type=int, default=2048, help="distinct sentences per output shard (default 2048)")
    add("--runner", choices=["ray", "local"], default="ray", help="Ray Data (default) or this process")
    add("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    add("--workers", type=int, help="model replicas (default: one per GPU, else one per --cpus-per-worker CPUs)")
    add("--cpus-per-worker", type=int, help="CPUs (torch threads) per replica on CPU (default: Ray 1, local all)")
    add("--cache-dir", help="cache root for paper-nli (default $SCT_CACHE_DIR, else ~/.cache/sct)")
    add("--overwrite", action="store_true", help="make OUT again if it exists")
    add("--progress-every", type=float, default=10.0, help="seconds between progress lines (default 10)")
    cli.add_debug_arg(bt)
    pv = commands.add_parser("preview", help="print the first N view pairs a run would train on")
    pv.add_argument("--model", help="size or model id/path (the MLM views' default masked LM)")
    cli.add_config_args(pv, max_steps=False)
    pv.add_argument("-n", type=int, default=10, help="pairs to print (default 10)")
    cli.add_debug_arg(pv)
    return parser


def _executor(args: argparse.Namespace):  # noqa: ANN202 - an Executor
    if args.runner == "local":
        from sct.data.backtranslation.local import local_executor

        return local_executor(threads=args.cpus_per_worker)
    try:
        from sct.data.backtranslation.ray_runner import ray_executor
    except ImportError as err:
        raise UserError(f"--runner ray needs Ray Data ({err}): pip install -e '.[sweep]', or --runner local") from None
    return ray_executor(address=args.address, workers=args.workers, cpus_per_worker=args.cpus_per_worker or 1)


def backtranslate(args: argparse.Namespace) -> int:
    from sct.data.backtranslation.job import Job, run_job
    from sct.data.backtranslation.settings import DEFAULT_PIVOTS, Generation, Pivot, check_pivots
    from sct.data.paper_data import PAPER_DATA, PAPER_GENERATION, make_paper_views, paper_views_file

    pivots = tuple(Pivot.parse(text) for text in args.pivot) or DEFAULT_PIVOTS
    generation = Generation(args.num_beams, args.max_length, args.batch_size, args.precision)
    paper = args.input == PAPER_DATA
    root = Path(args.cache_dir).expanduser() if args.cache_dir else None
    if paper and args.output is None:
        if pivots != DEFAULT_PIVOTS or generation.identity() != PAPER_GENERATION.identity():
            raise UserError(f"{PAPER_DATA}'s cache holds the default pivots and settings: give OUT to write others")
        from sct.config import SCTConfig
        from sct.data.tokenized import cache_root

        root = root or cache_root(SCTConfig())
        out = paper_views_file(root)
    elif args.output is None:
        raise UserError(f"OUT is missing: the file to write x<TAB>T(x)<TAB>T′(x) to (only {PAPER_DATA} has a default)")
    else:
        out = Path(args.output).expanduser().resolve()
    parts = out.with_name(out.name + ".parts")
    if out.exists() and not args.overwrite:
        raise UserError(f"{out} exists: pass --overwrite to make it again, or another OUT")
    if args.overwrite:
        out.unlink(missing_ok=True)
        shutil.rmtree(parts, ignore_errors=True)
    executor = _executor(args)
    if paper and args.output is None:
        make_paper_views(root, executor)
        print(f"wrote {out}")
        return 0
    check_pivots(pivots)
    sentences = _input_sentences(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    job = Job(out, sentences, pivots, generation, args.shard_size)
    print(
        f"backtranslate: {len(job.inputs):,} sentences, {len(job.unique):,} distinct (each translated once), "
        f"{job.num_shards} shards of {job.shard_size}; pivots {'; '.join(p.describe() for p in pivots)}",
        file=sys.stderr,
    )
    try:
        outcome = run_job(job, executor, every_s=args.progress_every)
    except KeyboardInterrupt:
        raise Interrupted(f"finished shards are kept in {parts}: run the same command again to continue") from None
    rate = outcome.translated / outcome.seconds if outcome.seconds > 0 else 0.0
    print(
        f"wrote {out}: {len(job.inputs):,} lines x<TAB>T(x)<TAB>T′(x); {outcome.translated:,} distinct sentences "
        f"translated in {outcome.seconds:.1f} s ({rate:.2f} sentences/s)"
        + (f"; {outcome.empty_replaced} empty translations replaced by x" if outcome.empty_replaced else "")
    )
    return 0


def _input_sentences(args: argparse.Namespace) -> list[str]:
    from sct.data.backtranslation.inputs import read_sentences
    from sct.data.paper_data import PAPER_DATA, paper_sentences

    return paper_sentences() if args.input == PAPER_DATA else read_sentences(args.input, args.column, args.split)


def preview(args: argparse.Namespace) -> int:
    from sct.config_io import resolve_config
    from sct.data.preview import preview_views

    cfg = resolve_config(args.model, args.config, cli.config_overrides(args))
    about, pairs = preview_views(cfg, args.n)
    print(f"# {about}; first {len(pairs)} pairs, view1<TAB>view2", file=sys.stderr)
    for first, second in pairs:
        print(f"{first}\t{second}")
    return 0


def run(args: argparse.Namespace) -> int:
    return backtranslate(args) if args.command == "backtranslate" else preview(args)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
