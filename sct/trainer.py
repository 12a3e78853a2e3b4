"""The SCT training loop: ``train(cfg, report=callback) -> metrics`` — plain PyTorch, no Ray needed.

One optimiser step = both views through the online encoder + head, the reference pass, the cross-view loss
(:class:`sct.objective.SCTObjective`), AdamW with warm-up/decay and clipping (:mod:`sct.optim`), then the
explicit queue update / EMA step (``objective.update``). Every ``eval.every_steps`` steps (and at the last
step) STS-B dev is scored; an improvement writes ``best/`` (exported model, and the full training state when
``run.save_checkpoints``), otherwise ``last/`` keeps the training state. ``report(step, metrics, ckpt)`` is
called at every evaluation — the Ray Tune adapter turns it into ``tune.report``. At the end the best model is
copied to ``model/`` and scored on ``eval.test_tasks``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from sct.checkpoint import (
    MODEL_DIR,
    STATE_FILE,
    Progress,
    config_mismatch,
    load_checkpoint,
    read_progress,
    restore,
    save_checkpoint,
)
from sct.config import SCTConfig
from sct.config_io import config_to_dict, save_config
from sct.encoder import SentenceEncoder
from sct.evaluate.evaluator import STSEvaluator, evaluate_encoder
from sct.evaluate.sts_data import load_task
from sct.objective import SCTObjective
from sct.optim import build_optimizer, build_scheduler, resolve_device, resolve_precision, total_steps
from sct.run_data import RunData, model_source, prepare_run_data
from sct.step import BUCKET, LossGuard, compile_step, resolve_compile, to_device

log = logging.getLogger(__name__)

Report = Callable[[int, dict[str, float], Path | None], None]
_RESUME_SECTIONS = ("model", "data", "method", "distill")
_RESUME_OPTIM_KEYS = ("lr", "batch_size", "warmup_ratio", "weight_decay", "adam_eps", "seed", "precision")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_resume(saved: dict, cfg: SCTConfig) -> None:
    """Refuse to resume a checkpoint trained with a different model, data, method or optimiser setting."""
    current = config_to_dict(cfg)
    diffs = config_mismatch(saved, current, _RESUME_SECTIONS)
    diffs += [
        f"optim.{key}: checkpoint {saved['optim'].get(key)!r} vs now {current['optim'][key]!r}"
        for key in _RESUME_OPTIM_KEYS
        if saved["optim"].get(key) != current["optim"][key]
    ]
    if diffs:
        raise ValueError("cannot resume: the checkpoint was trained with another config: " + "; ".join(diffs))


class _Run:
    """The state of one training run: models, optimiser, data, progress counters and output directory."""

    def __init__(self, cfg: SCTConfig, data: RunData, state: dict | None, report: Report | None) -> None:
        self.cfg, self.data, self.report = cfg, data, report
        self.device = resolve_device(cfg.run.device)
        self.amp_dtype = resolve_precision(cfg.optim.precision, self.device)
        self.out = Path(cfg.run.output_dir).expanduser().resolve()
        self.dev_eval = STSEvaluator(
            load_task("stsb", sts_dir=cfg.eval.sts_dir, split="dev"), batch_size=cfg.eval.batch_size
        )
        self.encoder, _ = SentenceEncoder.from_pretrained(
            cfg.model.name, projection_dim=data.teacher_dim, max_seq_length=cfg.model.max_length
        )
        self.encoder.to(self.device)
        self.objective = SCTObjective(cfg, self.encoder, teacher_dim=data.teacher_dim, seed=cfg.optim.seed)
        self.objective.to(self.device)
        self.optimizer = build_optimizer([self.encoder, self.objective], cfg.optim)
        self.steps = total_steps(len(data.dataset), cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim, self.steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.config = config_to_dict(cfg)  # saved in every checkpoint, checked on resume
        self.modules = {
            "encoder": self.encoder,
            "objective": self.objective,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
        }
        self.progress = restore(state, self.modules) if state is not None else Progress()
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.batches_per_epoch = math.ceil(len(data.dataset) / cfg.optim.batch_size)
        # Speed (sct.step): a compiled forward over bucketed static shapes, pinned copies, no per-step sync.
        self.compiled = resolve_compile(cfg.optim.compile, self.device)
        if self.compiled:
            compile_step(self.encoder, self.objective)  # in place: state_dict keys unchanged
        self.guard = LossGuard(self.device)

    def batches(self):
        """(index, batch) from the current data position: a seeded permutation per epoch, resumable."""
        n, size = len(self.data.dataset), self.cfg.optim.batch_size
        pad, bucket = self.data.tokenizer.pad_token_id, BUCKET if self.compiled else None
        while True:
            seed = self.cfg.optim.seed + self.progress.epoch
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))  # (N,)
            for b in range(self.progress.batch_in_epoch, self.batches_per_epoch):
                index = order[b * size : (b + 1) * size]  # (B,)
                yield b, index, self.data.dataset.batch(index, pad, bucket=bucket)  # (B, L) tensors, no per-item
            self.progress.epoch, self.progress.batch_in_epoch = self.progress.epoch + 1, 0

    def step(self, index: torch.Tensor, batch: dict[str, torch.Tensor]) -> float:
        """One optimiser step; returns the loss: a float on CPU, a device scalar on CUDA (no host sync).

        A NaN/inf loss raises: on CPU before any weight changes; on CUDA within ``sct.step.CHECK_EVERY`` steps.
        """
        batch = to_device(batch, self.device)  # pinned, non-blocking on CUDA
        teacher = None
        if self.data.teacher is not None:
            teacher = tuple(to_device({"t": t[index]}, self.device)["t"] for t in self.data.teacher)  # (B, d_t)
        dtype = self.amp_dtype or torch.float32
        with torch.autocast(self.device.type, dtype=dtype, enabled=self.amp_dtype is not None):
            if self.compiled:
                torch.compiler.cudagraph_mark_step_begin()  # one step = one CUDA-graph generation
            result = self.objective(self.encoder, batch, teacher)
        loss = result.loss.float()
        hint = f"(optim.lr={self.cfg.optim.lr}, optim.precision={self.cfg.optim.precision}); lower optim.lr"
        step = self.progress.step + 1
        evaluating = step % self.cfg.eval.every_steps == 0 or step >= self.steps  # CUDA: read the flag now
        value = self.guard.check(loss, step, hint, read=evaluating)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.params, self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.objective.update(result, self.encoder)
        return value

    def evaluate(self, loss: float, examples_per_s: float) -> bool:
        """Score STS-B dev, checkpoint, report; True when early stopping says stop."""
        progress, cfg = self.progress, self.cfg
        score = self.dev_eval(self.encoder, self.data.tokenizer, self.device)
        self.encoder.train()
        improved = score > progress.best_score
        if improved:
            progress.best_score, progress.best_step, progress.evals_since_best = score, progress.step, 0
        else:
            progress.evals_since_best += 1
        modules = self.modules if cfg.run.save_checkpoints else {}
        if improved:
            export = lambda path: self.encoder.save(path, self.data.tokenizer)  # noqa: E731
            save_checkpoint(self.out / "best", modules=modules, progress=progress, config=self.config, export=export)
        elif cfg.run.save_checkpoints:
            save_checkpoint(self.out / "last", modules=modules, progress=progress, config=self.config)
        metrics = {
            "step": float(progress.step),
            "epoch": progress.step / self.batches_per_epoch,
            "loss": loss,
            "lr": self.scheduler.get_last_lr()[0],
            "stsb_dev_spearman": score,
            "best_stsb_dev_spearman": progress.best_score,
            "examples_per_s": examples_per_s,
        }
        log.info("step %d: %s", progress.step, {k: round(v, 4) for k, v in metrics.items()})
        if self.report is not None:
            self.report(progress.step, metrics, self.out / "best" if improved else None)
        patience = cfg.optim.early_stopping_patience
        return patience is not None and progress.evals_since_best >= patience

    def loop(self, show_progress: bool) -> None:
        progress, every = self.progress, self.cfg.eval.every_steps
        bar = tqdm(total=self.steps, initial=progress.step, desc="SCT", disable=not show_progress)
        self.encoder.train()
        self.objective.train()
        losses, examples, busy = [], 0, 0.0
        for b, index, batch in self.batches() if progress.step < self.steps else ():
            tick = time.perf_counter()
            losses.append(self.step(index, batch))
            progress.step, progress.batch_in_epoch = progress.step + 1, b + 1
            examples, busy = examples + len(index), busy + time.perf_counter() - tick
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", best=f"{progress.best_score:.2f}")
            if progress.step % every == 0 or progress.step >= self.steps:
                stop = self.evaluate(sum(losses) / len(losses), examples / max(busy, 1e-9))
                losses, examples, busy = [], 0, 0.0
                if stop or progress.step >= self.steps:
                    break
        bar.close()

    def finish(self, seconds: float) -> dict[str, float]:
        """Copy the best model to ``model/``, score it on the test tasks, write ``metrics.json``."""
        final, progress = self.out / MODEL_DIR, self.progress
        shutil.rmtree(final, ignore_errors=True)
        shutil.copytree(self.out / "best" / MODEL_DIR, final)
        metrics = {
            "best_stsb_dev_spearman": progress.best_score,
            "best_step": float(progress.best_step),
            "steps": float(progress.step),
            "train_seconds": seconds,
        }
        if self.cfg.eval.test_tasks:
            encoder, tokenizer = SentenceEncoder.from_pretrained(str(final))
            scores = evaluate_encoder(
                encoder.to(self.device),
                tokenizer,
                list(self.cfg.eval.test_tasks),
                sts_dir=self.cfg.eval.sts_dir,
                batch_size=self.cfg.eval.batch_size,
                device=self.device,
            )
            metrics.update({f"test_{task}": score for task, score in scores.items()})
        (self.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        log.info("finished: %s (model at %s)", metrics, final)
        return metrics


def train(
    cfg: SCTConfig,
    report: Report | None = None,
    *,
    resume_from: str | Path | None = None,
    data: RunData | None = None,
    show_progress: bool = True,
) -> dict[str, float]:
    """Train an SCT encoder as ``cfg`` says and return its metrics (see the module docstring).

    Returns ``best_stsb_dev_spearman``, ``best_step``, ``steps``, ``train_seconds``, ``test_<task>`` for each
    of ``cfg.eval.test_tasks`` and ``test_avg``. Raises ``FloatingPointError`` on a NaN/inf loss.
    ``resume_from`` is a checkpoint directory (``best/`` or ``last/``) of a run with the same config.
    """
    cfg = replace(cfg, model=replace(cfg.model, name=model_source(cfg.model.name)))
    state = load_checkpoint(resume_from) if resume_from is not None else None
    if state is not None:
        check_resume(state["config"], cfg)
    started = time.perf_counter()
    seed_everything(cfg.optim.seed)
    data = data or prepare_run_data(cfg, device=resolve_device(cfg.run.device), show_progress=show_progress)
    run = _Run(cfg, data, state, report)
    run.out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run.out / "config.yaml")
    run.loop(show_progress)
    return run.finish(time.perf_counter() - started)


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newer of ``best/`` and ``last/`` (by step) holding a training state, for ``--resume``."""
    found = [Path(output_dir) / name for name in ("best", "last") if (Path(output_dir) / name / STATE_FILE).is_file()]
    return max(found, key=lambda path: read_progress(path).step, default=None)
