"""``python -m sct.evaluate MODEL_PATH [--sts-dir DIR | --hf] [--tasks ...] [--json]``: STS scores of a model.

MODEL_PATH is anything :meth:`SentenceEncoder.from_pretrained` loads (an exported SCT model, a
sentence-transformers directory, an HF directory or hub id). Prints one ``task  score`` line per task and
the average (Spearman x 100, two decimals), or one JSON object with ``--json``. Without ``--tasks`` it scores
the tasks present in the STS directory (flat or SentEval ``data/downstream`` layout) and names the missing
ones on stderr; none present is an error. Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from sct import cli
from sct.config import STS_TASKS
from sct.errors import UserError

ENV_STS_DIR = "SCT_STS_DIR"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also read by tests/test_readme.py to check the README's flags)."""
    parser = argparse.ArgumentParser(
        prog="python -m sct.evaluate",
        description="Spearman x 100 of cosine similarities on the STS tasks (SentEval 'all' setting).",
    )
    parser.add_argument("model", help="model directory or hub id (an exported SCT / sentence-transformers model)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--sts-dir",
        help=f"STS directory: flat (STS12-en-test/ ... STSBenchmark/ SICK/) or SentEval's data/downstream "
        f"(default: ${ENV_STS_DIR})",
    )
    source.add_argument(
        "--hf", action="store_true", help="load the tasks from their pinned Hub copies (sct.evaluate.hub_sources)"
    )
    parser.add_argument(
        "--tasks",
        default=None,
        help=f"comma-separated subset of {','.join(STS_TASKS)} (default: those found in --sts-dir; all with --hf)",
    )
    parser.add_argument("--split", default="test", choices=["test", "dev"], help="'dev' is stsb only")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--max-seq-length", type=int, default=None, help="override the model's truncation")
    parser.add_argument("--json", action="store_true", help="print one JSON object {task: score, 'avg': score}")
    cli.add_debug_arg(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _checked(args: argparse.Namespace) -> tuple[list[str] | None, str | None]:
    """(the tasks asked for or None for 'what is there', the STS dir or None for --hf); UserError otherwise."""
    tasks = None
    if args.tasks is not None:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        unknown = [t for t in tasks if t not in STS_TASKS]
        if not tasks or unknown:
            _raise(f"--tasks {args.tasks!r}: unknown task(s) {unknown}; allowed {','.join(STS_TASKS)}")
    if args.batch_size < 1:
        _raise(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.max_seq_length is not None and args.max_seq_length < 1:
        _raise(f"--max-seq-length must be >= 1, got {args.max_seq_length}")
    sts_dir = None if args.hf else (args.sts_dir or os.environ.get(ENV_STS_DIR))
    if not args.hf and not sts_dir:
        _raise(f"give exactly one of --sts-dir DIR or --hf (or set ${ENV_STS_DIR})")
    if sts_dir is not None and not os.path.isdir(sts_dir):
        _raise(f"--sts-dir {sts_dir}: directory not found")
    return tasks, sts_dir


def _raise(message: str) -> None:
    raise UserError(message)


def default_tasks(sts_dir: str | None, split: str) -> list[str]:
    """The tasks to score without ``--tasks``: all (``--hf``) or those found in ``sts_dir``, missing ones named.

    Raises :class:`~sct.errors.UserError` when ``sts_dir`` holds none of the seven.
    """
    from sct.evaluate.sts_data import available_tasks

    if sts_dir is None:
        return ["stsb"] if split == "dev" else list(STS_TASKS)
    present, missing = available_tasks(sts_dir, split)
    if not present:
        raise UserError(
            f"--sts-dir {sts_dir}: no STS task found for split {split!r}; expected STS12-en-test/ ... STS16-en-test/, "
            "STSBenchmark/sts-test.csv, SICK/SICK_test_annotated.txt (flat) or SentEval's data/downstream/STS + SICK"
        )
    if missing and split == "test":
        print(
            f"scoring {len(present)} of {len(STS_TASKS)} tasks ({','.join(present)}); "
            f"missing in {sts_dir}: {','.join(missing)} (avg is over the {len(present)} scored)",
            file=sys.stderr,
        )
    return present


def run(args: argparse.Namespace) -> int:
    import torch

    from sct.encoder import SentenceEncoder
    from sct.evaluate.evaluator import score_tasks
    from sct.evaluate.sts_data import load_task

    tasks, sts_dir = _checked(args)
    cli.setup_logging(args.quiet)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if tasks is None:
        tasks = default_tasks(sts_dir, args.split)
    try:
        loaded = [load_task(name, sts_dir=sts_dir, split=args.split) for name in tasks]  # data errors first
        encoder, tokenizer = SentenceEncoder.from_pretrained(args.model, max_seq_length=args.max_seq_length)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    encoder.to(device)
    results = score_tasks(
        encoder, tokenizer, loaded, batch_size=args.batch_size, device=device, show_progress=not args.quiet
    )
    results["avg"] = sum(results.values()) / len(results)
    if args.json:
        print(json.dumps({name: round(score, 4) for name, score in results.items()}))
    else:
        for name, score in results.items():
            print(f"{name:<8}{score:6.2f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input). ``argv`` defaults to sys.argv[1:]."""
    return cli.run(build_parser(), run, list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
