"""``python -m sct.train`` — train one SCT encoder.

    python -m sct.train --model bert-tiny --output runs/tiny
    python -m sct.train --model ../shared/models/bert-mini-config --config offline.yaml \\
        --set method.queue_size=16384 --set optim.max_steps=200 --output runs/mini

Precedence: dataclass defaults < size preset / model id < ``--config`` YAML < the convenience flags
(``--train-data`` …) < ``--set``. Bad input exits with code 2 and one line naming the problem, before any
model is loaded. An output directory that already holds a run is never mixed with a new one: ``--resume``
continues it from its newest valid state, ``--overwrite`` deletes its files and starts again. The directory
is locked while the run lasts. Ctrl-C / SIGTERM save the state and exit with code 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sct import cli
from sct.presets import SIZES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=f"a size ({', '.join(SIZES)}), a hub id or a local dir")
    parser.add_argument("--output", required=True, help="run directory (config, state, model/, metrics.json)")
    cli.add_config_args(parser)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run in --output from its newest state")
    group.add_argument("--overwrite", action="store_true", help="delete the run already in --output and start again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_debug_arg(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from sct.config_io import resolve_config

    cli.setup_logging(args.quiet)
    overrides = cli.config_overrides(args)
    overrides["run.output_dir"] = str(Path(args.output).expanduser().resolve())
    cfg = resolve_config(args.model, args.config, overrides)  # train() resolves and checks the inputs, once

    from sct.trainer import train

    try:
        metrics = train(cfg, resume=args.resume, overwrite=args.overwrite, show_progress=not args.quiet)
    except FloatingPointError as err:
        print(
            f"{build_parser().prog}: error: {err}; the run directory keeps its last state (--overwrite re-runs it)",
            file=sys.stderr,
        )
        return 1
    print(json.dumps({key: round(value, 4) for key, value in metrics.items()}))
    print(f"model saved to {Path(cfg.run.output_dir) / 'model'}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
