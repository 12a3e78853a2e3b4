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
from sct.tune.plan.model_dirs import parse_model_dir
from sct.tune.plan.options import add_common_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.sweep", description=__doc__.splitlines()[0])
    parser.add_argument(
        "space",
        nargs="+",
        help="a size (bert-tiny … bert-large) or a search-space YAML file; several: one study, each size its own "
        "experiment, all run side by side on one Ray (with --warm-start one after another, smallest first)",
    )
    parser.add_argument("--num-samples", type=int, help="number of trials (default from the YAML file)")
    parser.add_argument("--seeds", type=int, default=0, help="re-run the best config over N seeds at the end")
    parser.add_argument(
        "--model-dir",
        action="append",
        type=parse_model_dir,
        metavar="SIZE=DIR",
        help="a local model for SIZE (repeatable); a directory with only a tokenizer and a config.json builds a "
        "random-init student of SIZE's shape with that tokenizer (offline)",
    )
    parser.add_argument(
        "--warm-start",
        action="store_true",
        help="also evaluate first the best points of the other sizes' sweeps in this store (sweep-SIZE[-smoke]), "
        "mapped into this space; off by default: the sweep then depends on what else the store holds; in a "
        "study the sizes then run one after another, smallest first",
    )
    parser.add_argument(
        "--warm-start-from",
        nargs="+",
        default=[],
        metavar="EXPERIMENT",
        help="also evaluate first the best point of each of these sweep experiments, mapped into this space",
    )
    parser.add_argument("--study-size", help=argparse.SUPPRESS)  # a study's driver of one size (internal)
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from sct.tune.plan import sweep as plan
    from sct.tune.report import sweep as report
    from sct.tune.run.lifecycle import run_experiment

    if args.study_size:
        return run_size(args)
    if len(args.space) > 1:
        return run_study(args)
    args.space = args.space[0]
    spec, cfg = plan.plan(args)
    if args.dry_run:
        plan.print_plan(spec, cfg)
        return 0
    return run_experiment(spec, [cfg], args.resume, report.summariser(args.seeds))


def run_size(args: argparse.Namespace) -> int:
    """One size of a study, in the driver process the study started for it (:mod:`sct.tune.run.size_drivers`):
    the single-size sweep with the study's arguments for that size, its live view left to the study's."""
    from sct.signals import stop_with_parent
    from sct.tune.plan import study
    from sct.tune.plan import sweep as sweep_plan
    from sct.tune.report import sweep as sweep_summary
    from sct.tune.run.lifecycle import run_experiment

    stop_with_parent()
    size_args = study.size_args(args, args.study_size, dry_run=False)
    size_args.resume = study.resumable(args, study.experiment_path(args, args.study_size))
    size_args.study_experiments = [study.experiment_path(args, n).name for n in args.space if n != args.study_size]
    spec, cfg = sweep_plan.plan(size_args)
    return run_experiment(spec, [cfg], size_args.resume, sweep_summary.summariser(args.seeds))


def run_study(args: argparse.Namespace) -> int:
    """Several sizes (:mod:`sct.tune.plan.study`): all checked, then each swept by a driver process of its own on
    one Ray (side by side; one after another with ``--warm-start``), then the cross-size table."""
    from sct.errors import UserError
    from sct.report import print_report
    from sct.tune.experiment import FINGERPRINT_FILE
    from sct.tune.plan import study
    from sct.tune.plan import sweep as sweep_plan
    from sct.tune.report.study_run import cross_size_report
    from sct.tune.run import study_driver

    names = study.ordered(args.space)
    study.check_model_dirs(args, names)
    planned = [sweep_plan.plan(study.size_args(args, name, dry_run=True)) for name in names]
    specs = [spec for spec, _ in planned]
    for spec in specs:
        if not args.resume and (spec.experiment.path / FINGERPRINT_FILE).is_file():
            raise UserError(
                f"experiment {spec.experiment.name!r} already exists in {spec.experiment.path}: pass "
                "--resume or a new --experiment"
            )
    side_by_side = not args.warm_start  # a warm start needs the smaller sizes' best points: they run first
    if args.dry_run:
        for spec, cfg in planned:
            sweep_plan.print_plan(spec, cfg)
            print()
        study.print_total(specs, side_by_side)
        return 0
    codes = study_driver.run_study(args, names, planned, side_by_side)
    if 130 in codes:
        print("interrupted: continue the study with --resume", file=sys.stderr)
        return 130
    first = specs[0].experiment
    try:
        report = cross_size_report(first.tracking_uri, [s.experiment.name for s in specs], "", first.storage)
        print_report(report, "md")
    except UserError as err:
        print(f"no cross-size table: {err}")
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    parser.set_defaults(argv=argv)  # a study's size drivers run the same command for one size
    return cli.run(parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
