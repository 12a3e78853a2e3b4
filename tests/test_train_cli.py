"""``python -m sct.train`` as a user runs it: bad input (exit 2, one line), locks, Ctrl-C, resume, overwrite, NaN."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sct import train as train_cli
from sct.checkpoint import state_dirs
from tests.conftest import FIXTURES, REPO
from tests.process_guard import Guarded

SENTENCES = FIXTURES / "sentences.txt"


def argv(model: Path, sts: Path, out: Path, *extra: str, data: Path = SENTENCES) -> list[str]:
    return [
        "--model", str(model), "--output", str(out), "--train-data", str(data), "--sts-dir", str(sts),
        "--set", "data.augmentation=word_deletion", "--set", "eval.test_tasks=[stsb]", "--set", "run.device=cpu",
        "--set", "optim.batch_size=8", "--set", "method.queue_size=32", "--set", "eval.every_steps=2",
        "--max-steps", "4", "--quiet", *extra,
    ]  # fmt: skip


def one_error_line(capsys, code: int, expected: int = 2) -> str:
    err = capsys.readouterr().err
    assert code == expected, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("python -m sct.train: error: ") and "Traceback" not in err, err
    return lines[0]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD_DATA = {
    "missing": (None, r"training data file not found: .*nope\.txt"),
    "empty": (b"\n\n", r"no sentences \(the file is empty"),
    "not-utf8": (b"a dog runs .\n\xff\xfe bad bytes\n", r"undecodable bytes .* not UTF-8"),
    "four-columns": (b"a dog\tthe dog\tone dog\ta dog\n", r"line 1: expected 2 or 3 tab-separated columns .* found 4"),
    "ragged-columns": (
        b"a\tb\tc\nd\te\n",
        r"line 2: expected 3 tab-separated columns \(x<TAB>T\(x\)<TAB>T′\(x\)\), found 2",
    ),
    "no-x-for-word-deletion": (
        b"a dog\tthe dog\n",
        r"word_deletion .* needs the original sentence x, but .* 2 columns",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_training_file_is_one_line_and_exit_2(case, tiny_model_dir, stsb_dir, tmp_path, capsys) -> None:
    content, message = BAD_DATA[case]
    data = tmp_path / "nope.txt" if content is None else write(tmp_path / "train.tsv", content)
    line = one_error_line(capsys, train_cli.main(argv(tiny_model_dir, stsb_dir, tmp_path / "run", data=data)))
    assert re.search(message, line), line
    assert not (tmp_path / "run").exists()  # refused: no directory holding only .lock is left behind


def test_sts_dir_without_stsb_names_the_key(tiny_model_dir, tmp_path, capsys) -> None:
    sts = tmp_path / "sts"
    shutil.copytree(FIXTURES / "sts" / "STS12-en-test", sts / "STS12-en-test")
    line = one_error_line(capsys, train_cli.main(argv(tiny_model_dir, sts, tmp_path / "run")))
    assert "config key 'eval.sts_dir'" in line and "cannot load stsb dev" in line


def test_unknown_model_offline_fails_fast_naming_sizes_and_offline_flags(stsb_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    line = one_error_line(capsys, train_cli.main(argv(Path("bert-huge"), stsb_dir, tmp_path / "run")))
    assert time.monotonic() - started < 10
    assert "'model.name' = 'bert-huge' is not a size (bert-tiny, bert-mini, bert-small" in line
    assert "--set model.name=DIR --train-data FILE --sts-dir DIR" in line


def test_existing_run_resume_overwrite_and_changed_config(tiny_model_dir, stsb_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    keep = ("--set", "run.keep_state=true", "--set", "run.checkpoint_every_s=0")
    assert train_cli.main(argv(tiny_model_dir, stsb_dir, out, *keep)) == 0
    capsys.readouterr()
    line = one_error_line(capsys, train_cli.main(argv(tiny_model_dir, stsb_dir, out)))
    assert "already holds a run: pass --resume to continue it, --overwrite to delete its files" in line
    changed = argv(tiny_model_dir, stsb_dir, out, "--resume", "--set", "optim.lr=0.001")
    line = one_error_line(capsys, train_cli.main(changed))
    assert "cannot resume" in line and "optim.lr: 0.0005 -> 0.001" in line
    assert train_cli.main(argv(tiny_model_dir, stsb_dir, out, "--overwrite")) == 0
    assert not state_dirs(out) and (out / "model").is_dir() and (out / "metrics.json").is_file()
    capsys.readouterr()
    line = one_error_line(capsys, train_cli.main(argv(tiny_model_dir, stsb_dir, tmp_path / "fresh", "--resume")))
    assert "--resume: no training state in" in line
    assert not (tmp_path / "fresh").exists()  # refused after locking it: the lock's directory is gone again


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_a_run_writes_its_files_with_the_users_umask(tiny_model_dir, stsb_dir, tmp_path, mask, file_mode, dir_mode):
    """metrics.json, best.json, config.yaml, model/ and the weights: readable by the team when the umask says so."""
    saved = os.umask(mask)
    try:
        assert train_cli.main(argv(tiny_model_dir, stsb_dir, tmp_path / "run")) == 0
    finally:
        os.umask(saved)
    out = tmp_path / "run"
    for name in ("metrics.json", "best.json", "config.yaml", "model/model.safetensors", "model/modules.json"):
        assert (out / name).stat().st_mode & 0o777 == file_mode, name
    assert {p.stat().st_mode & 0o777 for p in [out / "model", *(out / "model").rglob("*")] if p.is_dir()} == {dir_mode}
    assert {p.stat().st_mode & 0o777 for p in (out / "model").rglob("*") if p.is_file()} == {file_mode}


def test_resume_skips_a_truncated_state_with_a_warning(tiny_model_dir, stsb_dir, tmp_path, capsys, caplog) -> None:
    out = tmp_path / "run"
    keep = ("--set", "run.keep_state=true", "--set", "run.checkpoint_every_s=0")
    assert train_cli.main(argv(tiny_model_dir, stsb_dir, out, *keep)) == 0
    newest = state_dirs(out)[-1] / "state.pt"
    newest.write_bytes(newest.read_bytes()[:1000])
    assert train_cli.main(argv(tiny_model_dir, stsb_dir, out, "--resume", *keep)) == 0
    assert f"{newest}: 1000 bytes" in caplog.text and "falling back to the previous one" in caplog.text


def _spawn(args: list[str], tmp_path: Path) -> Guarded:
    """``python -m sct.train ARGS``, guarded on ``tmp_path``: a killed test run does not leave it training."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / f"child-{time.monotonic_ns()}.log", "w") as log:
        cmd = [sys.executable, "-m", "sct.train", *args]
        return Guarded(cmd, tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, "the training process ended early"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_second_run_on_a_locked_output_is_refused_then_ctrl_c_saves_and_resume_finishes(
    tiny_model_dir, stsb_dir, tmp_path, capsys
) -> None:
    out = tmp_path / "run"
    forever = ["--max-steps", "1000000", "--set", "optim.epochs=100000", "--set", "eval.every_steps=100000"]
    long_run = [*argv(tiny_model_dir, stsb_dir, out), *forever]
    proc = _spawn(long_run, tmp_path)
    try:
        _wait_for(out / "config.yaml", proc)  # written just before the first step
        line = one_error_line(capsys, train_cli.main(argv(tiny_model_dir, stsb_dir, out, "--resume")))
        assert f"--output {out} is in use by PID {proc.pid} on " in line
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    finally:
        proc.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("child-*.log"))
    assert "python -m sct.train: interrupted: training state saved in" in logs and "Traceback" not in logs
    saved = state_dirs(out)
    assert saved  # the interrupt's state (and the previous end-of-epoch one)
    step = int(saved[-1].name.removeprefix("step-"))
    resumed = [*argv(tiny_model_dir, stsb_dir, out, "--resume"), *forever, "--set", f"optim.max_steps={step + 2}"]
    assert train_cli.main(resumed) == 0
    assert (out / "metrics.json").is_file() and not state_dirs(out)


def _signalled(args: list[str], tmp_path: Path, **env: str) -> int:
    """``python -m sct.train`` through tests/signal_train.py (real SIGTERM/SIGKILL at chosen steps)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}
    with open(tmp_path / f"child-{time.monotonic_ns()}.log", "w") as log:
        proc = subprocess.run([sys.executable, "-m", "tests.signal_train", *args], env=full_env, stdout=log, stderr=log)
    return proc.returncode


def _evaluations(path: Path) -> dict[int, dict]:
    """step -> metrics of every logged evaluation; an evaluation logged twice must be the same both times."""
    out: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        metrics = {k: v for k, v in json.loads(line).items() if k != "examples_per_s"}  # a speed, not a result
        step = int(metrics["step"])
        assert out.setdefault(step, metrics) == pytest.approx(metrics, abs=1e-6), step
    return out


@pytest.mark.heavy  # four training processes: ~30 s
def test_a_run_stopped_resumed_killed_and_resumed_equals_one_run(tiny_model_dir, stsb_dir, tmp_path) -> None:
    """SIGTERM mid-window, resume, SIGKILL right after the next state written at an evaluation, resume: the same
    evaluations (loss of each window included) and the same metrics.json as one uninterrupted run."""
    # 5 batches per epoch, an evaluation every 6 steps: the SIGTERM state (step 8) lies mid-window; states at every
    # evaluation and epoch end: the SIGKILL comes after the state of the evaluation at step 12.
    steps = ["--max-steps", "30", "--set", "eval.every_steps=6", "--set", "run.checkpoint_every_s=0"]
    one, cut = tmp_path / "one", tmp_path / "cut"
    assert (
        _signalled([*argv(tiny_model_dir, stsb_dir, one), *steps], tmp_path, EVAL_LOG=str(tmp_path / "one.jsonl")) == 0
    )
    log = str(tmp_path / "cut.jsonl")
    assert (
        _signalled([*argv(tiny_model_dir, stsb_dir, cut), *steps], tmp_path, EVAL_LOG=log, SIGTERM_AFTER_STEP="8")
        == 130
    )
    assert [p.name for p in state_dirs(cut)][-1] == "step-000000008"
    resume = [*argv(tiny_model_dir, stsb_dir, cut, "--resume"), *steps]
    assert _signalled(resume, tmp_path, EVAL_LOG=log, SIGKILL_AFTER_STATE_AT="11") == -signal.SIGKILL
    assert [p.name for p in state_dirs(cut)][-1] == "step-000000012"
    assert _signalled(resume, tmp_path, EVAL_LOG=log) == 0

    expected, got = _evaluations(tmp_path / "one.jsonl"), _evaluations(Path(log))
    assert sorted(got) == sorted(expected) == [6, 12, 18, 24, 30]
    for step in expected:
        assert got[step] == pytest.approx(expected[step], abs=1e-6), step
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (one, cut)]
    for m in metrics:
        m.pop("train_seconds")
    assert metrics[1] == pytest.approx(metrics[0], abs=1e-6)
