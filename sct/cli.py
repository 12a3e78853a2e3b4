"""The command-line layer shared by every ``python -m sct.*`` tool: config flags and one error boundary.

- :func:`add_config_args` declares the config flags once (``--config``, ``--set``, ``--train-data``,
  ``--sts-dir``, ``--teacher``, ``--max-steps``); :data:`FLAG_KEYS` maps each convenience flag to its config
  key and :func:`config_overrides` turns parsed flags into overrides (flags first, ``--set`` last).
- :func:`run` is the error boundary: a :class:`~sct.errors.UserError` becomes exit code 2 and one line on
  stderr (several input problems, :class:`~sct.errors.InputProblems`: one line each, then one suggested
  command: the user's own with every fixing flag appended); Ctrl-C / SIGTERM (:class:`~sct.signals.Interrupted`,
  ``KeyboardInterrupt``) one line and exit 130; anything else is a crash (exit 1, traceback). ``--debug`` shows
  the traceback of a user error too. Inside it SIGTERM does what SIGINT does
  (:func:`sct.signals.sigterm_as_sigint`), whoever handles SIGINT at that moment.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import traceback
from collections.abc import Callable
from typing import Any

from sct.errors import InputProblems, UserError
from sct.signals import forward_sigterm, sigterm_as_sigint

# forward_sigterm is part of this layer's interface: the sweep driver calls it again after ray.init.
__all__ = [
    "FLAG_KEYS",
    "add_config_args",
    "add_debug_arg",
    "config_overrides",
    "forward_sigterm",
    "run",
    "setup_logging",
]

FLAG_KEYS: dict[str, str] = {
    "train_data": "data.train",
    "sts_dir": "eval.sts_dir",
    "teacher": "distill.teacher",
    "max_steps": "optim.max_steps",
}


def add_config_args(parser: argparse.ArgumentParser, *, max_steps: bool = True) -> None:
    add = parser.add_argument
    add("--config", help="YAML file of config overrides (nested or flat section.key)")
    add("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key (repeatable)")
    add(
        "--train-data",
        help="data.train: paper-nli (default), a file of x, T(x)<TAB>T′(x) or x<TAB>T(x)<TAB>T′(x) lines, or a "
        "datasets id",
    )
    add(
        "--sts-dir",
        help="SentEval-layout STS directory (eval.sts_dir; default: the pinned Hub copies of sct.evaluate.hub_sources)",
    )
    add("--teacher", help="distil from this teacher: hub id or local dir (distill.teacher)")
    if max_steps:
        add("--max-steps", type=int, help="stop after this many optimiser steps (optim.max_steps)")


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks of user errors")


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The convenience flags as ``section.key`` overrides, then ``--set`` (which wins)."""
    from sct.config_io import parse_set_args

    out = {key: getattr(args, flag) for flag, key in FLAG_KEYS.items() if getattr(args, flag, None) is not None}
    return out | parse_set_args(args.set)


def run(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int], argv: list[str] | None) -> int:
    """Parse ``argv`` and call ``body(args)`` inside the error boundary; returns the exit code."""
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        with sigterm_as_sigint():
            return body(args)
    except UserError as err:
        if debug:
            traceback.print_exc()
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        if isinstance(err, InputProblems) and len(err.problems) > 1:
            print(suggested_command(parser.prog, argv, err.fixes), file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        detail = f": {err}" if str(err) else ""
        print(f"{parser.prog}: interrupted{detail}", file=sys.stderr)
        return 130


def suggested_command(prog: str, argv: list[str] | None, fixes: list[str]) -> str:
    """The user's command with every fixing flag appended (later flags win); UPPER-CASE words are placeholders."""
    words = [*(sys.argv[1:] if argv is None else argv), *(w for fix in fixes for w in shlex.split(fix))]
    return f"suggested command (fill in the UPPER-CASE placeholders): {prog} {shlex.join(words)}"


def setup_logging(quiet: bool) -> None:
    """INFO lines of this package (WARNING with ``quiet``, which also hides transformers' progress bars)."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
