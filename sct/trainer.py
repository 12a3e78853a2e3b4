"""The SCT training loop: ``train(cfg, report=callback) -> metrics`` — plain PyTorch, no Ray needed.

One optimiser step = both views through the online encoder + head, the reference pass, the cross-view loss
(:class:`sct.objective.SCTObjective`), AdamW with warm-up/decay and clipping (:mod:`sct.optim`), then the
explicit queue update / EMA step (``objective.update``). Every ``eval.every_steps`` steps (and at the last
step) STS-B dev is scored; an improvement replaces ``model/`` (weights only). The untrained model is scored
once before the first step (``initial_stsb_dev``), so every run shows what training gained. The resumable state
is written by :mod:`sct.checkpoint` at most every ``run.checkpoint_every_s`` seconds, at the end of an epoch and
on SIGINT/SIGTERM — not at every evaluation. ``report(step, metrics, state_dir)`` is called at every evaluation
(``state_dir`` is the state written at that evaluation, else None); the Ray Tune adapter turns it into
``tune.report``. At the end ``model/`` is scored on ``eval.test_tasks`` and the resumable state deleted.
:mod:`sct.run_policy` decides when to evaluate, which model to keep and when to write the state; the loop here
acts on it.

The run directory is locked for the whole run (:class:`sct.storage.DirLock`): a second run on it is refused.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from sct import metrics as M
from sct.checkpoint import MODEL_DIR, Progress, drop_states, restore, save_state, state_dirs
from sct.config import SCTConfig
from sct.config_io import config_to_dict, save_config
from sct.data.run_data import RunData, prepare_run_data, prepare_source
from sct.encoder import SentenceEncoder, length_limit
from sct.evaluate.evaluator import STSEvaluator, evaluate_encoder
from sct.evaluate.sts_data import load_task
from sct.inputs import ensure_resolved
from sct.objective import SCTObjective
from sct.optim import (
    batches_per_epoch,
    build_optimizer,
    build_scheduler,
    resolve_device,
    resolve_precision,
    total_steps,
)
from sct.run_dir import METRICS_FILE, open_run_dir
from sct.run_policy import BestModel, Cadence, StateSchedule
from sct.signals import Interrupted, stop_on_signals
from sct.step import Compilation, Feeder, LossGuard
from sct.storage import DirLock, read_json, write_json

log = logging.getLogger(__name__)

Report = Callable[[int, dict[str, float], Path | None], None]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _Run:
    """One training run: models, optimiser, data and progress, and the loop that steps them.

    What is evaluated when, which model is kept and when the state is written are decided by
    :mod:`sct.run_policy`; the loop acts on those answers.
    """

    def __init__(self, cfg: SCTConfig, data: RunData, state: dict | None, report: Report | None, stop) -> None:
        self.cfg, self.data, self.report, self.stop = cfg, data, report, stop
        self.device = resolve_device(cfg.run.device)
        self.amp_dtype = resolve_precision(cfg.optim.precision, self.device)
        self.out = Path(cfg.run.output_dir)
        self.dev_eval = STSEvaluator(
            load_task("stsb", sts_dir=cfg.eval.sts_dir, split="dev"), batch_size=cfg.eval.batch_size
        )
        self.encoder, _ = SentenceEncoder.from_pretrained(cfg.model.name, projection_dim=data.teacher_dim)
        # Evaluation (and the saved model) truncates at eval.max_length, by default the model's limit: whole
        # sentences, as SentEval scores them. The training views are already tokenised at model.max_length.
        limit = length_limit(self.encoder.backbone.config, data.tokenizer)
        self.encoder.max_seq_length = cfg.eval.max_length or limit
        self.encoder.to(self.device)
        self.objective = SCTObjective(cfg, self.encoder, teacher_dim=data.teacher_dim, seed=cfg.optim.seed)
        self.objective.to(self.device)
        self.optimizer = build_optimizer([self.encoder, self.objective], cfg.optim)
        self.steps = total_steps(len(data.dataset), cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim, self.steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.config = config_to_dict(cfg)  # saved in every state, checked on resume
        self.modules = {
            "encoder": self.encoder,
            "objective": self.objective,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
        }
        self.progress = restore(state, self.modules) if state is not None else Progress()
        self.cadence = Cadence.of(cfg, self.steps)
        self.best = BestModel(self.out, self.progress)
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.batches_per_epoch = batches_per_epoch(len(data.dataset), cfg.optim)
        # Speed (sct.step): a compiled forward over bucketed static shapes, pinned copies, no per-step sync.
        self.compilation = Compilation.of(cfg.optim)
        self.compilation.apply(self.encoder, self.objective)  # in place: state_dict keys unchanged
        self.guard = LossGuard(self.device)
        self.feed = Feeder(self.device)
        self.states = StateSchedule.of(cfg)  # the clock of run.checkpoint_every_s starts now

    def loop(self, show_progress: bool) -> None:
        """Step to the last step; evaluate when due (early stopping may end it); save and stop on a signal."""
        progress = self.progress
        self.evaluate_untrained()
        self.resend_last_report()
        bar = tqdm(total=self.steps, initial=progress.step, desc="SCT", disable=not show_progress)
        self.encoder.train()
        self.objective.train()
        batches = self.batches()
        while progress.step < self.steps:
            b, index, batch = next(batches)
            started = time.perf_counter()
            loss = self.step(index, batch)
            progress.count_step(b + 1, len(index), loss, time.perf_counter() - started)
            bar.update(1)
            if self.stop.is_set():
                self.interrupt()
            if progress.batch_in_epoch == self.batches_per_epoch and progress.step < self.steps:
                self.save_state()  # end of an epoch
            if self.cadence.due(progress.step):
                stop = self.evaluate()
                bar.set_postfix(loss=f"{progress.last_eval[M.LOSS]:.4f}", best=f"{progress.best_score:.2f}")
                if stop:
                    break
        bar.close()

    def batches(self):
        """(index, batch) from the current data position: a seeded permutation per epoch, resumable."""
        n, size = len(self.data.dataset), self.cfg.optim.batch_size
        pad, bucket = self.data.tokenizer.pad_token_id, self.compilation.bucket
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
        if self.data.teacher is not None:  # the teacher's rows of this batch, (B, d_t) per view
            batch = batch | {f"teacher_{view}": t[index] for view, t in enumerate(self.data.teacher, 1)}
        batch = self.feed(batch)  # pinned, non-blocking on CUDA
        teacher = None
        if self.data.teacher is not None:
            teacher = (batch.pop("teacher_1"), batch.pop("teacher_2"))
        dtype = self.amp_dtype or torch.float32
        with torch.autocast(self.device.type, dtype=dtype, enabled=self.amp_dtype is not None):
            self.compilation.begin_step()
            result = self.objective(self.encoder, batch, teacher)
        loss = result.loss.float()
        hint = f"(optim.lr={self.cfg.optim.lr}, optim.precision={self.cfg.optim.precision}); lower optim.lr"
        step = self.progress.step + 1
        value = self.guard.check(loss, step, hint, read=self.cadence.due(step))  # CUDA: read the flag to evaluate
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.params, self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.objective.update(result, self.encoder)
        return value

    def evaluate(self) -> bool:
        """Score STS-B dev, keep the best model, maybe save the state, report; True when early stopping stops."""
        progress = self.progress
        loss, examples_per_s = progress.window_means()
        score = self.dev_eval(self.encoder, self.data.tokenizer, self.device)
        self.encoder.train()
        self.best.offer(score, lambda path: self.encoder.save(path, self.data.tokenizer))
        metrics = {
            M.STEP: float(progress.step),
            M.EPOCH: progress.step / self.batches_per_epoch,
            M.LOSS: loss,
            M.LR: self.scheduler.get_last_lr()[0],
            M.STSB_DEV: score,
            M.BEST_STSB_DEV: progress.best_score,
            M.EXAMPLES_PER_S: examples_per_s,
        }
        log.info("step %d: %s", progress.step, {k: round(v, 4) for k, v in metrics.items()})
        progress.close_window(metrics)
        state_dir = self.save_state() if self.states.due() else None
        if self.report is not None:
            self.report(progress.step, metrics, state_dir)
        return self.cadence.exhausted(progress)

    def evaluate_untrained(self) -> None:
        """Score the model before its first step (a fresh run only): the baseline printed beside the best."""
        if self.progress.step == 0 and self.progress.initial_score is None:
            self.progress.initial_score = self.dev_eval(self.encoder, self.data.tokenizer, self.device)
            log.info("step 0 (untrained): STS-B dev %.2f", self.progress.initial_score)

    def resend_last_report(self) -> None:
        """A resumed run reports its last evaluation again: the report may never have been delivered."""
        if self.report is not None and self.progress.last_eval:
            self.report(int(self.progress.last_eval[M.STEP]), dict(self.progress.last_eval), None)

    def save_state(self) -> Path | None:
        """Write the resumable state now (unless ``run.save_checkpoints`` is off)."""
        if not self.states.enabled:
            return None
        self.states.written()
        self.progress.window_loss = float(self.progress.window_loss)  # a device scalar on CUDA: read it now
        return save_state(self.out, self.modules, self.progress, self.config)

    def interrupt(self) -> None:
        """SIGINT/SIGTERM arrived (:func:`sct.signals.stop_on_signals`): save the state and stop."""
        saved = self.save_state()
        raise Interrupted(f"training state saved in {saved}; continue with --resume" if saved else "")

    def finish(self, seconds: float) -> dict[str, float]:
        """Score the best model (``model/``) on the test tasks and write ``metrics.json``."""
        progress = self.progress
        metrics = {
            M.BEST_STSB_DEV: progress.best_score,
            **({} if progress.initial_score is None else {M.INITIAL_STSB_DEV: progress.initial_score}),
            M.BEST_STEP: float(progress.best_step),
            M.STEPS: float(progress.step),
            M.TRAIN_SECONDS: seconds,
        }
        if self.cfg.eval.test_tasks:
            encoder, tokenizer = SentenceEncoder.from_pretrained(str(self.out / MODEL_DIR))
            scores = evaluate_encoder(
                encoder.to(self.device),
                tokenizer,
                list(self.cfg.eval.test_tasks),
                sts_dir=self.cfg.eval.sts_dir,
                batch_size=self.cfg.eval.batch_size,
                device=self.device,
            )
            metrics.update({M.test_key(task): score for task, score in scores.items()})
        write_json(self.out / METRICS_FILE, metrics)
        untrained = "" if progress.initial_score is None else f"untrained {progress.initial_score:.2f}; "
        log.info(
            "finished: best STS-B dev %.2f at step %d (%smodel at %s)",
            progress.best_score,
            progress.best_step,
            untrained,
            self.out / MODEL_DIR,
        )
        return metrics


def train(
    cfg: SCTConfig,
    report: Report | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    data: RunData | None = None,
    show_progress: bool = True,
) -> dict[str, float]:
    """Train an SCT encoder as ``cfg`` says and return its metrics (see the module docstring).

    Returns ``best_stsb_dev``, ``initial_stsb_dev`` (the untrained model's; absent when a run resumed from a state
    older than it), ``best_step``, ``steps``, ``train_seconds``, ``test_<task>`` for each of
    ``cfg.eval.test_tasks`` and ``test_avg``. ``resume`` continues the newest valid state in
    ``cfg.run.output_dir`` (a finished run returns its saved metrics); ``overwrite`` deletes an earlier run
    there instead of refusing. Raises ``FloatingPointError`` on a NaN/inf loss, :class:`UserError` for bad
    input and :class:`sct.signals.Interrupted` after saving the state on SIGINT/SIGTERM.
    """
    cfg = ensure_resolved(cfg)  # once per experiment: a sweep's trials come resolved by its driver
    if data is None:
        prepare_source(cfg)  # the paper's views, if not cached: before signals are caught, so Ctrl-C stops it
    out = Path(cfg.run.output_dir).expanduser().resolve()
    with DirLock(out, "--output"), stop_on_signals() as stop:
        if resume and (out / METRICS_FILE).is_file() and not state_dirs(out):
            log.info("%s already finished: returning its metrics", out)
            return read_json(out / METRICS_FILE)
        state = open_run_dir(out, cfg, resume, overwrite)
        started = time.perf_counter()
        seed_everything(cfg.optim.seed)
        data = data or prepare_run_data(cfg, device=resolve_device(cfg.run.device), show_progress=show_progress)
        run = _Run(cfg, data, state, report, stop)
        save_config(cfg, out / "config.yaml")
        run.loop(show_progress)
        metrics = run.finish(time.perf_counter() - started)
        if cfg.run.keep_state:
            run.save_state()
        else:
            drop_states(out)
        return metrics
