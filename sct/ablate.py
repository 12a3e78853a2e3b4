"""``python -m sct.ablate GRID --model SIZE``: an ablation grid (rows × seeds) on Ray Tune, tracked in MLflow.

GRID is ``table4``, ``table6``, ``table7``, ``queue_size`` or a YAML path. The base config is the size's
Table 1 point, or the best trial of a finished sweep (``--from-sweep EXPERIMENT``, read from MLflow). Rows run
as one ``Tuner`` with ``grid_search`` over rows × seeds, no early stopping. Exit codes as ``sct.sweep``: 0 when
every trial ended, 1 when one crashed, 2 for bad input found before Ray starts, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys

from sct import cli
from sct.tune.plan.options import add_common_args
from sct.tune.vocabulary import ABLATION, SKIPPED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.ablate", description=__doc__.splitlines()[0])
    parser.add_argument("grid", help="table4, table6, table7, queue_size or an ablation YAML file")
    parser.add_argument("--model", required=True, help="a size (bert-tiny …) or a model id/path")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per row (default 3)")
    parser.add_argument("--rows", help="comma-separated subset of rows to run")
    parser.add_argument("--from-sweep", metavar="EXPERIMENT", help="take the best config of a finished sweep")
    parser.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="run the rows whose inputs exist here; skip (and record) rows missing a model, WordNet or data",
    )
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from sct.tune.plan import ablation as plan
    from sct.tune.report import publish
    from sct.tune.run.lifecycle import run_experiment

    spec, grid, configs = plan.plan(args)
    if args.dry_run:
        plan.print_plan(spec, grid, configs)
        return 0
    from sct.tune.plan.row_views import row_views

    for line in row_views(dict(zip(spec.payload.rows, configs, strict=True)))[1]:
        print(f"warning: {line}", file=sys.stderr)
    rows = spec.payload.rows
    queue_sizes = None
    if all(list(o) == ["method.queue_size"] for o in rows.values()):
        queue_sizes = {name: int(o["method.queue_size"]) for name, o in rows.items()}

    def summarise(spec, outcome) -> None:
        order = [r.name for r in grid.rows]
        publish.ablation_outputs(
            spec.experiment,
            order,
            grid.baseline,
            spec.payload.paper_delta,
            kind=ABLATION,
            queue_sizes=queue_sizes,
            size=spec.payload.size,
            skipped=json.loads(spec.tags.get(SKIPPED, "{}")),
            grid=grid.name,
        )

    return run_experiment(spec, configs, args.resume, summarise)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
