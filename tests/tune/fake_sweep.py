"""``python -m tests.tune.fake_sweep COMMAND ARGS... [--trainer MODULE:FUNCTION]``: the real ``sct.sweep`` or
``sct.ablate`` (COMMAND ``sweep`` / ``ablate``) whose trials run a stand-in of :func:`sct.trainer.train`.

The trainer is what the driver writes into every trial's payload (:data:`sct.tune.plan.options.TRAINER`), so
the stand-in runs inside the real Ray workers; the flag lives here, in the tests, not in the commands' --help.
In-process tests call :func:`sweep` / :func:`ablate` with the same arguments.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sct.tune.plan import options
from sct.tune.run import size_drivers


@contextmanager
def trainer(spec: str | None) -> Iterator[None]:
    """Trials planned inside the block run ``spec`` (``MODULE:FUNCTION``); None keeps the real trainer. A study's
    size drivers (child processes) are this module too, with the same ``--trainer``."""
    before = options.TRAINER, size_drivers.COMMAND
    if spec:
        options.TRAINER, size_drivers.COMMAND = spec, ("tests.tune.fake_sweep", "sweep", "--trainer", spec)
    try:
        yield
    finally:
        options.TRAINER, size_drivers.COMMAND = before


def split_trainer(argv: list[str]) -> tuple[str | None, list[str]]:
    """(the last ``--trainer`` value, the other arguments)."""
    spec, rest, args = None, [], iter(argv)
    for arg in args:
        if arg == "--trainer":
            spec = next(args)
        elif arg.startswith("--trainer="):
            spec = arg.partition("=")[2]
        else:
            rest.append(arg)
    return spec, rest


def run(command: str, argv: list[str]) -> int:
    spec, rest = split_trainer(argv)
    with trainer(spec):
        return importlib.import_module(f"sct.{command}").main(rest)


def sweep(argv: list[str]) -> int:
    return run("sweep", argv)


def ablate(argv: list[str]) -> int:
    return run("ablate", argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
