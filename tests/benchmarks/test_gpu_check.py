"""The one-shot GPU check script parses, its inputs folder is git-ignored, and its Python entry points import
without the packages the GPU machine lacks (datasets, ray, optuna, mlflow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_scripts_parse_and_inputs_are_ignored() -> None:
    for script in ("gpu_check.sh", "gpu_inputs.sh"):
        subprocess.run(["bash", "-n", str(REPO / "benchmarks" / script)], check=True)
    assert ".gpu_inputs/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_gpu_code_paths_import_without_datasets_ray_optuna_mlflow() -> None:
    code = (
        "import sys\n"
        "for name in ('datasets', 'ray', 'optuna', 'mlflow'):\n"
        "    sys.modules[name] = None\n"
        "sys.path[:0] = ['benchmarks']\n"
        "import sct.train, sct.trainer, sct.step, sct.losses, sct.data.tokenized, sct.evaluate.embedding\n"
        "import loop, step, step_parts, launches, naive_loss, data\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""})
