"""``python -m sct.train`` — train one SCT encoder.

    python -m sct.train --model bert-tiny --output runs/tiny
    python -m sct.train --model ../shared/models/bert-mini-config --config offline.yaml \
        --set method.queue_size=16384 --set optim.max_steps=200 --output runs/mini

Precedence: dataclass defaults < size preset / model id < ``--config`` YAML < the convenience flags
(``--train-data`` …) < ``--set``. Bad input exits with code 2 and one line naming the problem, before any
model is loaded. An output directory that already holds a run is never overwritten: pass ``--resume`` to
continue it from its newest checkpoint, or choose another ``--output``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from sct.config_io import parse_set_args, resolve_config
from sct.presets import SIZES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=f"a size ({', '.join(SIZES)}), a hub id or a local dir")
    parser.add_argument("--config", help="YAML file of config overrides (nested or flat section.key)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key")
    parser.add_argument("--output", required=True, help="run directory (config, checkpoints, model/)")
    parser.add_argument("--train-data", help="training sentences: TSV (two views), text file or datasets id")
    parser.add_argument("--sts-dir", help="SentEval-layout STS directory (default: Hugging Face mteb datasets)")
    parser.add_argument("--teacher", help="distil from this teacher (hub id or local sentence-transformers dir)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    from sct.trainer import latest_checkpoint, train

    try:
        flags = {
            "data.train": args.train_data,
            "eval.sts_dir": args.sts_dir,
            "distill.teacher": args.teacher,
            "optim.max_steps": args.max_steps,
        }
        overrides = {key: value for key, value in flags.items() if value is not None}
        overrides.update(parse_set_args(args.set))
        overrides["run.output_dir"] = str(Path(args.output).expanduser().resolve())
        cfg = resolve_config(args.model, args.config, overrides)
        output = Path(cfg.run.output_dir)
        resume_from = latest_checkpoint(output) if args.resume else None
        if args.resume and resume_from is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {output} (expected best/ or last/ with state.pt)")
        if not args.resume and (output / "config.yaml").exists():
            raise FileExistsError(
                f"--output {output} already holds a run: pass --resume to continue it or choose another directory"
            )
        from sct.run_data import check_inputs

        check_inputs(cfg)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        metrics = train(cfg, resume_from=resume_from, show_progress=not args.quiet)
    except FloatingPointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(metrics, indent=2))
    print(f"model saved to {output / 'model'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
