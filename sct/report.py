"""``python -m sct.report EXPERIMENT [--format md|csv]``: the paper-style table of a sweep or ablation.

Reads MLflow only (never Ray's files), so it works from any machine that reaches the tracking server: for a
sweep the top trials with their hyperparameters; for an ablation one row per variant with mean ± sd over seeds
of the score that was actually averaged (named in the title), Δ against the baseline row paired by seed with a
95% CI, and the paper's Δ beside it; then our per-task scores beside the paper's Table 2 (the sweep's best
trial, or the grid's baseline row). ``--format md`` prints title, table and notes on stdout; ``--format csv``
prints only the table as CSV on stdout (title, notes and the paper comparison go to stderr), so
``python -m sct.report X --format csv > table.csv`` gives a file the csv module reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from sct import cli
from sct.errors import UserError
from sct.tune import tracking
from sct.tune.report import from_mlflow, tables


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "experiment",
        nargs="+",
        help="the sweep/ablation experiment name; several sweep experiments (one per size): one cross-size table",
    )
    parser.add_argument("--format", choices=("md", "csv"), default="md")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///<storage>/mlflow.db)")
    parser.add_argument("--storage", default="./sct_runs", help="where the default sqlite store lives")
    parser.add_argument("--top", type=int, default=10, help="sweeps: number of trials shown")
    parser.add_argument("--study", help="several experiments: the study's MLflow experiment (default study-EXP+EXP…)")
    parser.add_argument(
        "--no-log", action="store_true", help="several experiments: do not log the table and plot to the study run"
    )
    cli.add_debug_arg(parser)
    return parser


def _notes(notes: list[str], out: TextIO) -> None:
    for note in notes:
        print(f"- {note}", file=out)


def print_report(report: from_mlflow.Report, fmt: str) -> None:
    """Markdown: everything on stdout. CSV: the table on stdout, the rest on stderr."""
    side = sys.stdout if fmt == "md" else sys.stderr
    print(report.title, file=side)
    if fmt == "csv":
        print(tables.to_csv(report.table), end="")
    else:
        print()
        print(tables.to_markdown(report.table), end="")
    if report.notes:
        print(file=side)
        _notes(report.notes, side)
    comparison = report.comparison
    if comparison is not None:
        print(f"\n{comparison.title}\n", file=side)
        print(tables.to_markdown(comparison.table), end="", file=side)
        if comparison.notes:
            print(file=side)
            _notes(comparison.notes, side)


def run(args: argparse.Namespace) -> int:
    uri = args.tracking_uri or tracking.default_tracking_uri(Path(args.storage))
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise UserError(f"no MLflow store at {uri}: pass --storage DIR or --tracking-uri URI")
    if len(args.experiment) > 1:
        from sct.tune.report.study_run import cross_size_report

        study = None if args.no_log else args.study or ""
        report = cross_size_report(uri, args.experiment, study, Path(args.storage).resolve())
    else:
        report = from_mlflow.experiment_report(uri, args.experiment[0], args.top)
    print_report(report, args.format)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
