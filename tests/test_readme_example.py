"""The README's offline distillation example, run as a user pastes it: it must end clearly above its own start.

``slow`` (about 10 minutes on 2 CPU cores, teacher encoding included: an empty cache is used) and ``shared``
(it needs ../shared). The command is read from README.md itself, so the README cannot drift from what is tested.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_readme import README, code_blocks, commands

pytestmark = [pytest.mark.slow, pytest.mark.shared]
MARKER = "--teacher ../shared/models/all-MiniLM-L6-v2"  # identifies the distillation example's block
GAIN = 10.0  # STS-B dev points above the untrained student that the README promises


def readme_example() -> list[str]:
    """The argv of the README's offline distillation command (``python -m sct.train … --teacher …``)."""
    for block in code_blocks(README.read_text(encoding="utf-8")):
        for _, command in commands(block):
            if command.startswith("python -m sct.train") and MARKER in command:
                return shlex.split(command)
    raise AssertionError(f"README.md has no 'python -m sct.train … {MARKER}' command")


def test_readme_distillation_example_beats_the_untrained_student(shared_dir: Path, tmp_path: Path) -> None:
    argv = readme_example()
    argv[argv.index("--output") + 1] = str(tmp_path / "run")
    env = {**os.environ, "SCT_CACHE_DIR": str(tmp_path / "cache")}  # a cold cache: the teacher encodes too
    result = subprocess.run(
        [sys.executable, *argv[1:]], cwd=REPO, env=env, capture_output=True, text=True, timeout=7200, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    print(metrics)  # shown with pytest -rP: the figures the README quotes
    assert metrics["best_stsb_dev"] >= metrics["initial_stsb_dev"] + GAIN, metrics
    assert f"(untrained {metrics['initial_stsb_dev']:.2f}; " in result.stderr  # printed beside the best
