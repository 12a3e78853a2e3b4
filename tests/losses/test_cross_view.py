"""L_SCT: the fast chunked loss against the released arithmetic and the paper's equations, closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from benchmarks import naive_loss as naive
from sct.losses import candidate_loss, candidates, cross_view_loss, paired
from sct.losses.candidates import chunked_candidate_loss, select_kernel
from sct.losses.fused import fused_candidate_loss, plain_candidate_loss

VARIANTS = [
    (objective, divergence, pairing)
    for objective, divergence in (("distribution", "kl"), ("distribution", "ce"), ("contrastive", "kl"))
    for pairing in ("cross", "identical")
]


def unit(*shape: int, dtype: torch.dtype = torch.float32, grad: bool = False) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, dtype=dtype), dim=-1).requires_grad_(grad)


def make(b: int, k: int | None, d: int = 16, dtype: torch.dtype = torch.float32) -> dict:
    return {
        "online1": unit(b, d, dtype=dtype, grad=True),
        "online2": unit(b, d, dtype=dtype, grad=True),
        "target1": unit(b, d, dtype=dtype),
        "target2": unit(b, d, dtype=dtype),
        "queue1": None if k is None else unit(k, d, dtype=dtype),
        "queue2": None if k is None else unit(k, d, dtype=dtype),
    }


KERNELS = {"chunked": chunked_candidate_loss, "fused": fused_candidate_loss, "plain": plain_candidate_loss}


def assert_equals_naive(x: dict, **kw) -> None:
    """``cross_view_loss`` (whatever kernel the device selects) = the naive port to 1e-5, value and gradients."""
    fast = cross_view_loss(**x, **kw)
    slow, _, _ = naive.naive_cross_view_loss(**x, **{k: v for k, v in kw.items() if k != "chunk"})
    grads_fast = torch.autograd.grad(fast, [x["online1"], x["online2"]])
    grads_slow = torch.autograd.grad(slow, [x["online1"], x["online2"]])
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads_fast, grads_slow, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize(("objective", "divergence", "pairing"), VARIANTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_equals_naive_port_value_and_gradients(
    seed: int, objective: str, divergence: str, pairing: str, kernel: str, monkeypatch: pytest.MonkeyPatch
):
    """Each per-term kernel (CPU chunked, CUDA plain, compiled fused) against the naive port, on CPU; the
    paired kernel (what eager CUDA runs when the queues stack) has its own tests in test_paired.py."""
    monkeypatch.setattr(candidates, "select_kernel", lambda device: KERNELS[kernel])
    monkeypatch.setattr(paired, "select_pair_kernel", lambda device: None)  # per term, even for "plain"
    gen = torch.Generator().manual_seed(seed)
    b = int(torch.randint(2, 40, (1,), generator=gen))
    k = [None, int(torch.randint(1, 3000, (1,), generator=gen)), 1000 * b + 7][seed]  # in-batch, any k
    torch.manual_seed(seed)
    inputs = make(b, k)
    kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence, pairing=pairing)
    assert_equals_naive(inputs, chunk=257, **kw)


def paper_side(o, t, queue, tau_o, tau_t, kind):
    """Eq. 1-2 written out in float64: SR = exp(z.c / tau) / sum exp(...), KL = sum p log(p / q)."""
    cands = t if queue is None else torch.cat((queue, t))
    p = torch.exp(t @ cands.T / tau_t)
    p = p / p.sum(dim=1, keepdim=True)
    q = torch.exp(o @ cands.T / tau_o)
    q = q / q.sum(dim=1, keepdim=True)
    if kind == "kl":
        return (p * torch.log(p / q)).sum() / o.shape[0]
    if kind == "ce":
        return -(p * torch.log(q)).sum() / o.shape[0]
    return -torch.log(torch.diagonal(q[:, cands.shape[0] - o.shape[0] :])).mean()


@pytest.mark.parametrize(("objective", "divergence", "pairing"), VARIANTS)
def test_equals_paper_equations_in_float64(objective: str, divergence: str, pairing: str) -> None:
    torch.manual_seed(7)
    x = make(12, 50, d=8, dtype=torch.float64)
    kind = "infonce" if objective == "contrastive" else divergence
    o_a, o_b = (x["online2"], x["online1"]) if pairing == "cross" else (x["online1"], x["online2"])
    want = 0.5 * paper_side(o_a, x["target1"], x["queue1"], 0.2, 0.1, kind)
    want = want + 0.5 * paper_side(o_b, x["target2"], x["queue2"], 0.2, 0.1, kind)
    got = cross_view_loss(
        **x, tau_online=0.2, tau_target=0.1, objective=objective, divergence=divergence, pairing=pairing
    )
    assert got.dtype == torch.float64
    assert abs(got.item() - want.item()) < 1e-6


def test_kl_of_equal_distributions_is_zero_and_ce_minus_kl_is_entropy() -> None:
    torch.manual_seed(0)
    t, queue = unit(16, 32), unit(300, 32)
    same = candidate_loss(t.clone().requires_grad_(), t, queue, target=t, tau_online=0.05, tau_target=0.05)
    assert abs(same.item()) < 1e-5
    online = unit(16, 32, grad=True)
    kl = candidate_loss(online, t, queue, target=t, tau_online=0.05, tau_target=0.03, kind="kl")
    ce = candidate_loss(online, t, queue, target=t, tau_online=0.05, tau_target=0.03, kind="ce")
    p = F.softmax(t @ torch.cat((queue, t)).T / 0.03, dim=1)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(dim=1).mean()
    assert abs((ce - kl).item() - entropy.item()) < 1e-4


def test_contrastive_at_random_init_is_log_of_candidate_count() -> None:
    torch.manual_seed(0)
    x = make(64, 4000, d=512)
    loss = cross_view_loss(**x, tau_online=1.0, tau_target=1.0, objective="contrastive", view_weight=0.5)
    assert abs(loss.item() - math.log(4000 + 64)) < 0.05


def test_chunk_size_and_view_weight_do_not_change_the_function() -> None:
    torch.manual_seed(1)
    x = make(10, 1234)
    base = cross_view_loss(**x, tau_online=0.04, tau_target=0.03)
    for chunk in (1, 100, 5000):
        torch.testing.assert_close(cross_view_loss(**x, tau_online=0.04, tau_target=0.03, chunk=chunk), base)
    summed = cross_view_loss(**x, tau_online=0.04, tau_target=0.03, view_weight=1.0)
    torch.testing.assert_close(summed, 2 * base)


def test_no_gradient_reaches_targets_or_queues_and_backward_runs_once() -> None:
    x = make(6, 40)
    for name in ("target1", "target2", "queue1", "queue2"):
        x[name].requires_grad_(True)
    loss = cross_view_loss(**x, tau_online=0.04, tau_target=0.03)
    loss.backward(retain_graph=True)
    assert x["online1"].grad is not None and x["online1"].grad.abs().sum() > 0
    assert all(x[name].grad is None for name in ("target1", "target2", "queue1", "queue2"))
    with pytest.raises(RuntimeError, match="backward it only once"):
        loss.backward()


def test_bad_switches_and_shapes_raise() -> None:
    x = make(4, 8)
    with pytest.raises(ValueError, match="objective has invalid value 'byol'"):
        cross_view_loss(**x, tau_online=0.1, tau_target=0.1, objective="byol")
    with pytest.raises(ValueError, match="pairing has invalid value 'other'"):
        cross_view_loss(**x, tau_online=0.1, tau_target=0.1, pairing="other")
    with pytest.raises(ValueError, match="temperatures must be > 0"):
        cross_view_loss(**x, tau_online=0.0, tau_target=0.1)
    with pytest.raises(ValueError, match=r"queue must be \(k, 16\)"):
        candidate_loss(x["online1"], x["target1"], torch.zeros(3, 5), target=x["target1"], tau_online=0.1)
    with pytest.raises(ValueError, match="kind 'kl' needs target"):
        candidate_loss(x["online1"], x["target1"], None, tau_online=0.1)


def test_kernel_selection_by_device() -> None:
    assert select_kernel(torch.device("cpu"), compiling=False) is chunked_candidate_loss
    assert select_kernel(torch.device("cpu"), compiling=True) is fused_candidate_loss
    assert select_kernel(torch.device("cuda"), compiling=False) is plain_candidate_loss
    assert select_kernel(torch.device("cuda"), compiling=True) is fused_candidate_loss
    assert select_kernel(torch.device("cpu")) is chunked_candidate_loss  # eager here


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("objective", "divergence", "pairing"), VARIANTS)
def test_cuda_path_equals_naive_port(objective: str, divergence: str, pairing: str) -> None:
    """The path CUDA selects (the paired kernel), on CUDA, against the naive port on CUDA (fp32, value and
    gradients)."""
    torch.manual_seed(3)
    torch.backends.cuda.matmul.allow_tf32 = False
    x = {key: None if v is None else v.detach().cuda() for key, v in make(64, 16384, d=128).items()}
    x["online1"].requires_grad_(True)
    x["online2"].requires_grad_(True)
    kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence, pairing=pairing)
    assert_equals_naive(x, **kw)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_under_bf16_autocast_matches_fp32() -> None:
    torch.manual_seed(4)
    x = {key: None if v is None else v.detach().cuda() for key, v in make(32, 4096, d=64).items()}
    kw = dict(tau_online=0.04, tau_target=0.03)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        got = cross_view_loss(**x, **kw)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, cross_view_loss(**x, **kw), rtol=1e-5, atol=1e-5)
