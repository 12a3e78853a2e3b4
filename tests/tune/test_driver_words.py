"""A sweep driver interrupted with Ctrl-C (SIGINT) speaks our words only: ``continue with --resume``.

Ray's own lines on an interrupt (its ``Tuner.restore(path=...)`` hint, which contradicts ``--resume``, its
"Stop signal received" notice, its TensorBoard hint — TensorBoard is not installed) and the libraries'
warnings and progress bars stay hidden unless ``--verbose``. The driver runs as a user runs it: a subprocess
with its own local Ray and the stand-in trainer (:mod:`tests.tune.fake_trainer`).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.tune.fake_trainer import SLOW_EVAL_BATCH
from tests.tune.test_crash_safety import common, driver, wait_until

pytest.importorskip("ray")
pytestmark = pytest.mark.heavy  # a real sweep driver, started and interrupted: ~40 s
RAY_WORDS = ("Tuner.restore", "Resume experiment with", "Stop signal received", "tensorboard", "TensorBoard")
LIBRARY_NOISE = ("Warning:", "ExperimentalWarning", "Downloading artifacts", "Trials did not complete")


def test_ctrl_c_prints_continue_with_resume_and_none_of_rays_hints(tiny_model_dir: Path, tmp_path: Path) -> None:
    args = [
        "tests.tune.fake_sweep",
        "sweep",
        "bert-tiny",
        "--smoke",
        "--experiment",
        "ctrlc",
        *common(tiny_model_dir, tmp_path),
    ]
    log = tmp_path / "driver.log"
    proc = driver([*args, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}"], log)
    try:
        wait_until(lambda: bool(list((tmp_path / "cache").glob("marker-*"))), proc)  # a trial is half-way
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130, log.read_text()[-3000:]
    finally:
        proc.stop()
    text = log.read_text()
    assert "continue with --resume" in text
    said = [word for word in RAY_WORDS + LIBRARY_NOISE if word in text]
    assert not said, f"{said} in the driver's output:\n{text[-3000:]}"
    assert not list((tmp_path / "ctrlc").glob("*/events.out.tfevents*"))  # no TensorBoard files written
    assert list((tmp_path / "ctrlc").glob("*/result.json"))  # Ray's JSON results are still written
