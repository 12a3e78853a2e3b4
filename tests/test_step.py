"""sct.step: compile switch, the device-dependent loss guard, pinned copies, and a compiled step == eager."""

from __future__ import annotations

import copy

import pytest
import torch

from sct.config import CompileMode, MethodConfig, SCTConfig
from sct.encoder import SentenceEncoder
from sct.objective import SCTObjective
from sct.step import Feeder, LossGuard, compile_step, graph_count
from tests.conftest import tiny_bert_config


def test_compile_is_opt_in() -> None:
    from sct.config import OptimConfig

    assert OptimConfig().compile is False  # it lost in the training loop on an H200 (docs/performance.md)
    assert OptimConfig().compile_mode == "default"


def test_cpu_guard_raises_at_once_and_returns_floats() -> None:
    guard = LossGuard(torch.device("cpu"))
    assert guard.check(torch.tensor(1.5), 1, "(x)") == 1.5
    with pytest.raises(FloatingPointError, match=r"loss is inf at step 2: training diverged \(x\)"):
        guard.check(torch.tensor(float("inf")), 2, "(x)")


def test_cuda_policy_accumulates_on_device_and_raises_at_the_next_check() -> None:
    guard = LossGuard(torch.device("cuda"), every=4)  # the policy only; tensors may live anywhere
    assert torch.is_tensor(guard.check(torch.tensor(1.0), 1, "(x)"))
    guard.check(torch.tensor(float("nan")), 2, "(x)")  # no host read yet
    guard.check(torch.tensor(1.0), 3, "(x)")
    with pytest.raises(FloatingPointError, match=r"not finite at or before step 4 \(checked every 4\)"):
        guard.check(torch.tensor(1.0), 4, "(x)")
    early = LossGuard(torch.device("cuda"), every=16)
    early.check(torch.tensor(float("inf")), 1, "(x)")
    with pytest.raises(FloatingPointError, match="at or before step 2"):
        early.check(torch.tensor(1.0), 2, "(x)", read=True)  # an evaluation step reads the flag
    fine = LossGuard(torch.device("cuda"), every=2)
    for step in range(1, 7):
        fine.check(torch.tensor(0.5), step, "(x)")


def test_feeder_is_a_no_op_on_cpu() -> None:
    batch = {"a": torch.ones(2, 3)}
    assert Feeder(torch.device("cpu"))(batch) is batch


def batches(widths: list[int], seed: int = 0) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [{"ids": torch.randint(0, 99, (4, w), generator=gen), "t": torch.randn(4, 3, generator=gen)} for w in widths]


def test_feeder_reuses_its_buffers_in_turns_and_grows_them() -> None:
    """The buffer logic without a GPU (stage=True on CPU: the staged host tensors are what it returns)."""
    feed = Feeder(torch.device("cpu"), slots=2, stage=True)
    inputs = batches([16, 32, 16, 48])
    outs = [feed(inputs[0])]
    slot0 = feed.buffers[0]["ids"].data_ptr()
    outs.append(feed(inputs[1]))
    assert torch.equal(outs[0]["ids"], inputs[0]["ids"])  # the other slot's batch is untouched by this one
    outs.append(feed(inputs[2]))  # slot 0 again, same size: refilled in place
    assert feed.buffers[0]["ids"].data_ptr() == slot0
    outs.append(feed(inputs[3]))  # slot 1, a wider batch: its buffer grows
    assert feed.buffers[1]["ids"].numel() == 4 * 48
    for batch, out in zip(inputs[2:], outs[2:], strict=True):
        assert all(torch.equal(out[k], batch[k]) and out[k].shape == batch[k].shape for k in batch)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_feeder_on_cuda_copies_through_pinned_buffers() -> None:
    feed = Feeder(torch.device("cuda"))
    inputs = batches([16, 32, 16, 48, 32, 16], seed=1)
    outs = [feed(batch) for batch in inputs]  # no sync in between: the copies overlap
    torch.cuda.synchronize()
    for batch, out in zip(inputs, outs, strict=True):
        assert all(out[k].is_cuda and torch.equal(out[k].cpu(), batch[k]) for k in batch)
    assert all(buffer.is_pinned() for slot in feed.buffers for buffer in slot.values())


def _inductor_works() -> bool:
    try:
        return float(torch.compile(lambda x: x * 2)(torch.ones(1))) == 2.0
    except Exception:  # no C++ compiler / unsupported platform
        return False


def eager_and_compiled_losses(
    device: torch.device, steps: int, mode: CompileMode, amp: torch.dtype | None, monkeypatch: pytest.MonkeyPatch
) -> dict[str, torch.Tensor]:
    """``steps`` steps of a tiny model (no dropout) eager, then compiled with ``mode``: the losses of each."""
    torch.manual_seed(0)
    config = tiny_bert_config(64, layers=1, hidden=32)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    encoder = SentenceEncoder.from_config(config, max_seq_length=16).to(device)
    objective = SCTObjective(SCTConfig(method=MethodConfig(queue_size=40)), encoder, seed=0).to(device)
    runs = {}
    for name in ("eager", "compiled"):
        enc, obj = copy.deepcopy(encoder), copy.deepcopy(objective)
        if name == "compiled":
            compile_step(enc, obj, mode)
        optimizer = torch.optim.AdamW([*enc.parameters(), *obj.parameters()], lr=1e-3)
        gen, losses = torch.Generator().manual_seed(1), []
        for step in range(steps):
            width = 16 if step % 3 else 8  # two buckets
            batch = {}
            for view in (1, 2):
                batch[f"input_ids_{view}"] = torch.randint(5, 64, (8, width), generator=gen).to(device)
                batch[f"attention_mask_{view}"] = torch.ones(8, width, dtype=torch.long, device=device)
            with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
                if name == "compiled":
                    torch.compiler.cudagraph_mark_step_begin()
                out = obj(enc, batch)
            loss = out.loss.float().detach().clone()  # a CUDA-graph output is overwritten by the next replay
            optimizer.zero_grad()
            out.loss.float().backward()
            optimizer.step()
            obj.update(out, enc)
            losses.append(loss)
        runs[name] = torch.stack(losses).cpu()
    return runs


@pytest.mark.slow  # compiling takes ~2 min on a shared 2-core CPU
def test_compiled_step_gives_the_eager_losses(monkeypatch: pytest.MonkeyPatch) -> None:
    """50 steps of a tiny model, eager vs compiled forward, fp32 on CPU: same losses; few graphs."""
    if not _inductor_works():
        pytest.skip("torch.compile (inductor) does not work on this machine")
    runs = eager_and_compiled_losses(torch.device("cpu"), 50, "default", None, monkeypatch)
    torch.testing.assert_close(runs["compiled"], runs["eager"], rtol=1e-4, atol=1e-4)
    assert graph_count() <= 16  # per width: encoder (grad / no-grad), head, loss; not per batch


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_cuda_compiled_step_gives_the_eager_losses_in_bf16(mode: CompileMode, monkeypatch) -> None:
    """The same on CUDA under bf16 autocast, 50 steps, with and without CUDA graphs: equal within bf16."""
    runs = eager_and_compiled_losses(torch.device("cuda"), 50, mode, torch.bfloat16, monkeypatch)
    torch.testing.assert_close(runs["compiled"], runs["eager"], rtol=2e-2, atol=2e-2)


@pytest.mark.slow  # compiling takes minutes on a shared 2-core CPU
def test_trainer_with_compile_on_trains_and_evaluates(tiny_model_dir, stsb_dir, tmp_path, monkeypatch) -> None:
    """optim.compile=True through train(): bucketed batches, compiled pieces, eager evaluation; finite metrics."""
    if not _inductor_works():
        pytest.skip("torch.compile (inductor) does not work on this machine")
    from sct.config_io import apply_overrides
    from sct.trainer import train
    from tests.conftest import FIXTURES

    overrides = {
        "model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
        "data.cache_dir": str(tmp_path / "cache"), "method.queue_size": 48, "optim.batch_size": 8,
        "optim.max_steps": 4, "optim.compile": True, "eval.every_steps": 2, "eval.sts_dir": str(stsb_dir),
        "eval.test_tasks": ["stsb"], "run.output_dir": str(tmp_path / "run"), "run.device": "cpu",
    }  # fmt: skip
    reports: list[dict] = []
    metrics = train(apply_overrides(SCTConfig(), overrides), lambda s, m, c: reports.append(m), show_progress=False)
    assert len(reports) == 2 and metrics["steps"] == 4
    assert all(torch.isfinite(torch.tensor(m["loss"])) for m in reports)


def test_a_compiled_step_leaves_other_runs_eager() -> None:
    """The compiled loss kernel belongs to the compiled run's objective, not to the process."""
    from sct.losses.candidates import chunked_candidate_loss, select_kernel

    encoder = SentenceEncoder.from_config(tiny_bert_config(64, layers=1, hidden=32), max_seq_length=16)
    objective = SCTObjective(SCTConfig(method=MethodConfig(queue_size=40)), encoder, seed=0)
    compile_step(encoder, objective)  # lazy: nothing is traced until a call
    assert objective.compiled_kernel is not None
    assert select_kernel(torch.device("cpu"), compiling=False) is chunked_candidate_loss
