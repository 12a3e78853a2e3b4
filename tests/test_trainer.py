"""End-to-end ``train(cfg, report)`` on a tiny random BERT: outputs, reports, every variant, resume, NaN."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModel

from sct.checkpoint import state_dirs
from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.encoder import SentenceEncoder
from sct.evaluate.evaluator import STSEvaluator
from sct.evaluate.sts_data import load_task
from sct.objective import SCTObjective
from sct.trainer import train
from tests.conftest import FIXTURES, tiny_bert_config

REPORT_KEYS = {"step", "epoch", "loss", "lr", "stsb_dev", "best_stsb_dev", "examples_per_s"}


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer) -> Path:
    """A 48-d teacher in sentence-transformers layout: its dim differs from the 32-d student's."""
    path = tmp_path_factory.mktemp("teacher")
    torch.manual_seed(1)
    SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer), layers=1, hidden=48)).save(path, tiny_tokenizer)
    return path


def tiny_config(model_dir: Path, sts_dir: Path, out: Path, cache: Path, **overrides: object) -> SCTConfig:
    base = {
        "model.name": str(model_dir),
        "data.train": str(FIXTURES / "sentences.txt"),
        "data.augmentation": "word_deletion",
        "data.cache_dir": str(cache),
        "method.queue_size": 48,
        "optim.batch_size": 8,
        "optim.max_steps": 4,
        "eval.every_steps": 2,
        "eval.sts_dir": str(sts_dir),
        "eval.test_tasks": ["stsb"],
        "run.output_dir": str(out),
        "run.device": "cpu",
        "run.checkpoint_every_s": 0,  # a state at every evaluation
    }
    return apply_overrides(SCTConfig(), {**base, **overrides})


def test_train_writes_model_config_metrics_and_reports(tiny_model_dir, stsb_dir, tmp_path, caplog) -> None:
    calls: list[tuple[int, dict, Path | None]] = []
    cfg = tiny_config(tiny_model_dir, stsb_dir, tmp_path / "run", tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="sct.trainer"):
        metrics = train(cfg, lambda step, m, ckpt: calls.append((step, m, ckpt)), show_progress=False)

    assert [step for step, _, _ in calls] == [2, 4]
    assert all(set(m) >= REPORT_KEYS and all(math.isfinite(v) for v in m.values()) for _, m, _ in calls)
    assert calls[0][2] == tmp_path / "run" / "state" / "step-000000002"  # checkpoint_every_s=0: every evaluation
    assert calls[-1][1]["best_stsb_dev"] == max(m["stsb_dev"] for _, m, _ in calls)
    assert calls[-1][1]["lr"] == 0.0  # linear decay ends at zero on the last step
    assert metrics["steps"] == 4 and metrics["best_stsb_dev"] == calls[-1][1]["best_stsb_dev"]
    assert set(metrics) >= {"test_stsb", "test_avg", "best_step", "train_seconds", "initial_stsb_dev"}
    untrained, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir))  # the model before any step
    dev = STSEvaluator(load_task("stsb", sts_dir=stsb_dir, split="dev"))
    assert metrics["initial_stsb_dev"] == pytest.approx(dev(untrained, tokenizer), abs=1e-9)
    best, step, initial = metrics["best_stsb_dev"], metrics["best_step"], metrics["initial_stsb_dev"]
    assert f"step 0 (untrained): STS-B dev {initial:.2f}" in caplog.text
    assert f"finished: best STS-B dev {best:.2f} at step {step:.0f} (untrained {initial:.2f}; " in caplog.text
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file() and (run / "metrics.json").is_file()
    assert not (run / "state").exists()  # a finished run keeps its model and metrics, not its resumable state

    from sentence_transformers import SentenceTransformer

    st_vectors = SentenceTransformer(str(run / "model"), device="cpu").encode(["a dog runs in the park ."])
    assert st_vectors.shape == (1, 32)
    assert AutoModel.from_pretrained(run / "model").config.hidden_size == 32


# One row per variant of Tables 4, 6 and 7 and Figure 4: each trains two steps with a finite loss.
VARIANTS: dict[str, dict[str, object]] = {
    "sct": {},
    "contrastive": {"method.objective": "contrastive"},
    "identical_view": {"method.pairing": "identical"},
    "momentum": {"method.reference": "momentum", "method.momentum": 0.9},
    "ce": {"method.divergence": "ce"},
    "no_head": {"method.head": "none"},
    "one_queue": {"method.queues": "one"},
    "frozen_queue": {"method.queues": "frozen"},
    "no_queue": {"method.queues": "none"},
    "no_reference_dropout": {"method.reference_dropout": False},
    "released_sum": {"method.view_weight": 1.0},
    "queue_128_gt_steps": {"method.queue_size": 128},
    "queue_smaller_than_batch": {"method.queue_size": 5},
    "aug_same": {
        "data.augmentation": "same",
        "data.train": str(FIXTURES / "data" / "views.tsv"),
        "optim.batch_size": 4,
    },
    "aug_dropout": {"data.augmentation": "dropout"},
    "distill_cd": {"distill.teacher": "TEACHER"},
    "distill_cd_only": {"distill.teacher": "TEACHER", "distill.mode": "distill_only"},
    "distill_mse": {"distill.teacher": "TEACHER", "distill.loss": "mse"},
    "distill_congen": {"distill.teacher": "TEACHER", "distill.loss": "congen"},
    "distill_ckd": {"distill.teacher": "TEACHER", "distill.loss": "ckd"},
    "distill_no_queue_identical": {
        "distill.teacher": "TEACHER",
        "method.queues": "none",
        "method.pairing": "identical",
    },
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_two_steps(name, tiny_model_dir, stsb_dir, teacher_dir, tmp_path) -> None:
    overrides = {k: str(teacher_dir) if v == "TEACHER" else v for k, v in VARIANTS[name].items()}
    cfg = tiny_config(
        tiny_model_dir,
        stsb_dir,
        tmp_path / "run",
        tmp_path / "cache",
        **{"optim.max_steps": 2, "eval.test_tasks": [], "run.save_checkpoints": False, **overrides},
    )
    losses: list[float] = []
    metrics = train(cfg, lambda step, m, ckpt: losses.append(m["loss"]), show_progress=False)
    assert metrics["steps"] == 2 and len(losses) == 1 and math.isfinite(losses[0]) and losses[0] > 0
    expected_dim = 48 if cfg.distilling else 32
    encoder, _ = SentenceEncoder.from_pretrained(str(tmp_path / "run" / "model"))
    assert encoder.dim == expected_dim  # a Dense(32 -> 48, tanh) is kept at inference when distilling


def test_interrupted_run_resumes_to_the_same_weights(tiny_model_dir, stsb_dir, tmp_path) -> None:
    keep = {"eval.test_tasks": [], "run.keep_state": True}
    straight = tiny_config(tiny_model_dir, stsb_dir, tmp_path / "a", tmp_path / "cache", **keep)
    train(straight, show_progress=False)

    class Killed(RuntimeError):
        pass

    def kill_at_first_eval(step: int, metrics: dict, state: Path | None) -> None:
        raise Killed

    interrupted = tiny_config(tiny_model_dir, stsb_dir, tmp_path / "b", tmp_path / "cache", **keep)
    with pytest.raises(Killed):
        train(interrupted, kill_at_first_eval, show_progress=False)
    checkpoint = state_dirs(tmp_path / "b")[-1]
    assert torch.load(checkpoint / "state.pt", weights_only=True)["progress"]["step"] == 2
    metrics = train(interrupted, resume=True, show_progress=False)
    assert metrics["steps"] == 4
    a, b = (AutoModel.from_pretrained(tmp_path / run / "model") for run in ("a", "b"))
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)
    a_state = torch.load(state_dirs(tmp_path / "a")[-1] / "state.pt", weights_only=True)
    b_state = torch.load(state_dirs(tmp_path / "b")[-1] / "state.pt", weights_only=True)
    for key, value in a_state["objective"].items():  # queues and head continue exactly
        torch.testing.assert_close(value, b_state["objective"][key], msg=key)


def test_resume_with_another_config_is_refused(tiny_model_dir, stsb_dir, tmp_path) -> None:
    cfg = tiny_config(
        tiny_model_dir, stsb_dir, tmp_path / "run", tmp_path / "cache", **{"optim.max_steps": 2, "run.keep_state": True}
    )
    train(cfg, show_progress=False)
    changed = apply_overrides(cfg, {"method.queue_size": 64})
    with pytest.raises(ValueError, match=r"cannot resume: .*method.queue_size: 48 -> 64"):
        train(changed, resume=True, show_progress=False)


def test_nan_loss_stops_with_a_clear_error(tiny_model_dir, stsb_dir, tmp_path, monkeypatch) -> None:
    original = SCTObjective.forward

    def poisoned(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(SCTObjective, "forward", poisoned)
    cfg = tiny_config(tiny_model_dir, stsb_dir, tmp_path / "run", tmp_path / "cache")
    with pytest.raises(FloatingPointError, match=r"loss is nan at step 1: training diverged \(optim.lr=0.0005"):
        train(cfg, show_progress=False)


def test_a_resumed_run_that_never_improves_keeps_its_best_model(tiny_model_dir, stsb_dir, tmp_path, monkeypatch):
    """The newest valid state predates the best model (a crash between the two writes); no later evaluation
    improves: the run still finishes, reporting and keeping the best model it had."""
    from sct.evaluate.evaluator import STSEvaluator

    scores = iter([30.0, 50.0, 60.0, 45.0, 44.0])  # step 0 (untrained), 2, 4, then 4 and 6 again after the resume
    monkeypatch.setattr(STSEvaluator, "__call__", lambda self, *args, **kwargs: next(scores))
    cfg = tiny_config(
        tiny_model_dir, stsb_dir, tmp_path / "run", tmp_path / "cache",
        **{"optim.max_steps": 6, "eval.test_tasks": [], "run.keep_state": True},
    )  # fmt: skip

    class Killed(RuntimeError):
        pass

    def kill_at_step_4(step: int, metrics: dict, state: Path | None) -> None:
        if step == 4:
            raise Killed

    with pytest.raises(Killed):
        train(cfg, kill_at_step_4, show_progress=False)
    newest = state_dirs(tmp_path / "run")[-1]
    assert newest.name == "step-000000004"
    shutil.rmtree(newest)  # the crash came before the step-4 state was complete
    metrics = train(cfg, resume=True, show_progress=False)
    assert metrics["best_stsb_dev"] == 60.0 and metrics["best_step"] == 4.0 and metrics["steps"] == 6.0
    assert metrics["initial_stsb_dev"] == 30.0  # kept in the state: the resumed run does not score step 0 again
    assert (tmp_path / "run" / "model" / "config.json").is_file()
