"""``python -m sct.sweep SIZE_OR_FILE``: Ray Tune + Optuna (TPE) + ASHA sweep of SCT, tracked in MLflow.

Example: ``python -m sct.sweep bert-tiny --num-samples 32 --storage /shared/sct_runs``; ``--smoke`` for a few
steps and trials on a laptop, ``--dry-run`` to see the plan, ``--resume`` after an interruption. Exit code 0
when every trial ended (diverged trials are listed), 1 when a trial crashed, 2 for bad input found before Ray
starts, 130 when interrupted (continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import sys

from sct import cli
from sct.tune.plan.options import add_common_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("space", help="a size (bert-tiny … bert-large) or a search-space YAML file")
    parser.add_argument("--num-samples", type=int, help="number of trials (default from the YAML file)")
    parser.add_argument("--seeds", type=int, default=0, help="re-run the best config over N seeds at the end")
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from sct.tune.plan import sweep as plan
    from sct.tune.report import sweep as report
    from sct.tune.run.lifecycle import run_experiment

    spec, cfg = plan.plan(args)
    if args.dry_run:
        plan.print_plan(spec, cfg)
        return 0
    return run_experiment(spec, [cfg], args.resume, report.summariser(args.seeds))


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
