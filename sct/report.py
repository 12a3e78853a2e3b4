"""``python -m sct.report EXPERIMENT [--format md|csv]``: the paper-style table of a sweep or ablation.

Reads MLflow only (never Ray's files), so it works from any machine that reaches the tracking server: for a
sweep the top trials with their hyperparameters; for an ablation one row per variant with mean ± sd over seeds
of the 7-STS average, Δ against the baseline row and the paper's Δ beside it (issue 3, §5).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sct.tune import results, tracking


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.report", description=__doc__.splitlines()[0])
    parser.add_argument("experiment", help="the sweep/ablation experiment name")
    parser.add_argument("--format", choices=("md", "csv"), default="md")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///<storage>/mlflow.db)")
    parser.add_argument("--storage", default="./sct_runs", help="where the default sqlite store lives")
    parser.add_argument("--top", type=int, default=10, help="sweeps: number of trials shown")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    uri = args.tracking_uri or tracking.default_tracking_uri(Path(args.storage))
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        print(f"sct.report: error: no MLflow store at {uri}", file=sys.stderr)
        return 2
    try:
        kind, table = results.experiment_table(uri, args.experiment, args.top)
    except ValueError as err:
        print(f"sct.report: error: {err}", file=sys.stderr)
        return 2
    print(f"{kind} {args.experiment}")
    print(results.to_markdown(table) if args.format == "md" else results.to_csv(table), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
