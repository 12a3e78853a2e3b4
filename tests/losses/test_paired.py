"""The paired kernel (both view terms of L_SCT in one batched pass) against the naive port, and its dispatch."""

from __future__ import annotations

import pytest
import torch

from sct.losses import candidates, cross_view_loss, paired
from sct.losses.fused import fused_candidate_loss, plain_candidate_loss
from sct.losses.paired import paired_candidate_loss, select_pair_kernel
from tests.losses.test_cross_view import VARIANTS, assert_equals_naive, make

QUEUES = ("in-batch", "two", "shared", "mixed")  # mixed: view 1 in-batch, view 2 with a queue -> per-term path


def inputs(b: int, k: int, queues: str, d: int = 16) -> dict:
    x = make(b, None if queues == "in-batch" else k, d=d)
    if queues == "shared":
        x["queue2"] = x["queue1"]  # the one-queue variant: the same tensor twice
    if queues == "mixed":
        x["queue1"] = None
    return x


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the paired kernel's runs (select_pair_kernel hands out the module's current function)."""
    ran: list[int] = []

    def spy(*args, **kwargs):
        ran.append(1)
        return paired_candidate_loss(*args, **kwargs)

    monkeypatch.setattr(paired, "paired_candidate_loss", spy)
    return ran


def eager_cuda_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make CPU select what eager CUDA selects (the plain kernel per term), as the per-kernel tests do."""
    monkeypatch.setattr(candidates, "select_kernel", lambda device, compiling=None: plain_candidate_loss)


@pytest.mark.parametrize("queues", QUEUES)
@pytest.mark.parametrize(("objective", "divergence", "pairing"), VARIANTS)
@pytest.mark.parametrize(("b", "k", "weight"), [(7, 1, 0.5), (13, 1031, 1.0), (33, 33 * 1000 + 7, 0.5)])
def test_paired_equals_naive_port_value_and_gradients(
    b: int,
    k: int,
    weight: float,
    objective: str,
    divergence: str,
    pairing: str,
    queues: str,
    calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every variant through the eager-CUDA dispatch on CPU: paired where the queues stack, per-term if not."""
    eager_cuda_selection(monkeypatch)
    torch.manual_seed(b)
    x = inputs(b, k, queues)
    kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence, pairing=pairing)
    assert_equals_naive(x, view_weight=weight, **kw)
    assert len(calls) == (0 if queues == "mixed" else 1)


def test_pair_dispatch_follows_the_per_term_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert select_pair_kernel(cuda, compiling=False) is paired_candidate_loss  # eager CUDA: paired
    assert select_pair_kernel(cuda, compiling=True) is None  # traced by torch.compile: fused per term
    assert select_pair_kernel(cpu, compiling=False) is None  # CPU: chunked per term
    assert select_pair_kernel(cpu, compiling=True) is None
    assert select_pair_kernel(cpu) is None  # eager here
    with candidates.use_kernel(fused_candidate_loss):  # a compiled run's forward: compiled per term
        assert select_pair_kernel(cuda, compiling=False) is None
    assert select_pair_kernel(cuda, compiling=False) is paired_candidate_loss  # only while it runs


def test_cpu_runs_the_per_term_kernels(calls: list[int]) -> None:
    torch.manual_seed(0)
    cross_view_loss(**inputs(6, 50, "two"), tau_online=0.04, tau_target=0.03)
    assert calls == []


def test_pairable() -> None:
    t, q = torch.zeros(4, 8), torch.zeros(10, 8)
    assert paired.pairable(t, t, None, None) and paired.pairable(t, t, q, q) and paired.pairable(t, t, q, q.clone())
    assert not paired.pairable(t, t, q, None) and not paired.pairable(t, t, None, q)
    assert not paired.pairable(t, t, q, torch.zeros(11, 8)) and not paired.pairable(t, torch.zeros(5, 8), q, q)


def test_paired_validates_as_candidate_loss_and_detaches_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    eager_cuda_selection(monkeypatch)
    x = inputs(4, 8, "two")
    with pytest.raises(ValueError, match="temperatures must be > 0"):
        cross_view_loss(**x, tau_online=0.0, tau_target=0.1)
    bad = dict(x, queue1=torch.zeros(3, 5), queue2=torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"queue must be \(k, 16\)"):
        cross_view_loss(**bad, tau_online=0.1, tau_target=0.1)
    for name in ("target1", "target2", "queue1", "queue2"):
        x[name].requires_grad_(True)
    cross_view_loss(**x, tau_online=0.04, tau_target=0.03).backward()
    assert x["online1"].grad.abs().sum() > 0 and x["online2"].grad.abs().sum() > 0
    assert all(x[name].grad is None for name in ("target1", "target2", "queue1", "queue2"))


@pytest.mark.parametrize("kind", ["kl", "ce", "infonce"])
def test_bf16_autocast_keeps_fp32_logits(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bf16 autocast the paired path equals its fp32 call to 1e-5 (value and gradients); the bare kernel
    under autocast (bf16 batched matmuls) misses that tolerance, so the comparison does detect bf16 logits."""
    eager_cuda_selection(monkeypatch)
    torch.manual_seed(4)
    x = inputs(32, 4096, "two", d=64)
    objective, divergence = ("contrastive", "kl") if kind == "infonce" else ("distribution", kind)
    kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence)
    want = cross_view_loss(**x, **kw)
    grads_want = torch.autograd.grad(want, [x["online1"], x["online2"]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = cross_view_loss(**x, **kw)
        bare = paired_candidate_loss(
            x["online2"], x["online1"], x["target1"], x["target2"], x["queue1"], x["queue2"],
            0.04, 0.03, kind, 0.5, torch.float32,
        )  # fmt: skip
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for grad, grad_want in zip(torch.autograd.grad(got, [x["online1"], x["online2"]]), grads_want, strict=True):
        torch.testing.assert_close(grad, grad_want, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(bare.float(), want, rtol=1e-5, atol=1e-5)  # bf16 logits would fail the test


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("queues", ("in-batch", "two", "shared"))
@pytest.mark.parametrize(("objective", "divergence", "pairing"), VARIANTS)
def test_cuda_selects_paired_and_equals_naive_port(
    objective: str, divergence: str, pairing: str, queues: str, calls: list[int]
) -> None:
    """On CUDA, unpatched: the paired kernel runs and matches the naive port on CUDA (fp32, value and grads)."""
    torch.manual_seed(3)
    torch.backends.cuda.matmul.allow_tf32 = False
    x = {key: None if v is None else v.detach().cuda() for key, v in inputs(64, 16384, queues, d=128).items()}
    x["online1"].requires_grad_(True)
    x["online2"].requires_grad_(True)
    kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence, pairing=pairing)
    assert_equals_naive(x, **kw)
    assert calls == [1]
