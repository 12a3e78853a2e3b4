"""Table 7 distillation losses: each against an independent float64 port of its formula; teacher stays frozen."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sct.losses import cd_loss, ckd_loss, congen_loss, mse_loss


def unit(*shape: int, grad: bool = False) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, dtype=torch.float64), dim=-1).requires_grad_(grad)


@pytest.fixture()
def tensors() -> dict[str, torch.Tensor]:
    torch.manual_seed(11)
    return {
        "s1": unit(9, 12, grad=True),
        "s2": unit(9, 12, grad=True),
        "t1": unit(9, 12, grad=True),  # requires_grad only to prove no gradient reaches the teacher
        "t2": unit(9, 12, grad=True),
        "q1": unit(40, 12),
        "q2": unit(40, 12),
    }


def softmax_rows(z: torch.Tensor, cands: torch.Tensor, tau: float) -> torch.Tensor:
    e = torch.exp(z @ cands.T / tau)
    return e / e.sum(dim=1, keepdim=True)


def assert_teacher_frozen(loss: torch.Tensor, x: dict[str, torch.Tensor]) -> None:
    loss.backward()
    assert x["s1"].grad is not None and x["s1"].grad.abs().sum() > 0
    assert x["s2"].grad is not None and x["s2"].grad.abs().sum() > 0
    assert x["t1"].grad is None and x["t2"].grad is None


def test_cd_is_cross_view_kl_with_teacher_targets(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    t1, t2 = x["t1"].detach(), x["t2"].detach()
    c1, c2 = torch.cat((x["q1"], t1)), torch.cat((x["q2"], t2))
    p1, p2 = softmax_rows(t1, c1, 0.05), softmax_rows(t2, c2, 0.05)
    q_2on1, q_1on2 = softmax_rows(x["s2"], c1, 0.1), softmax_rows(x["s1"], c2, 0.1)
    kl = (p1 * (p1 / q_2on1).log()).sum() / 9 + (p2 * (p2 / q_1on2).log()).sum() / 9
    got = cd_loss(x["s1"], x["s2"], x["t1"], x["t2"], x["q1"], x["q2"], tau_online=0.1, tau_teacher=0.05)
    assert abs(got.item() - 0.5 * kl.item()) < 1e-6
    assert_teacher_frozen(got, x)


def test_mse_is_view_mean_of_elementwise_mse(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    want = 0.5 * (((x["s1"] - x["t1"]) ** 2).mean() + ((x["s2"] - x["t2"]) ** 2).mean())
    got = mse_loss(x["s1"], x["s2"], x["t1"], x["t2"])
    assert abs(got.item() - want.item()) < 1e-6
    assert mse_loss(x["t1"], x["t2"], x["t1"], x["t2"]).item() == pytest.approx(0.0, abs=1e-12)
    assert_teacher_frozen(got, x)


def test_congen_is_soft_ce_against_view1_teacher(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    t1 = x["t1"].detach()
    cands = torch.cat((x["q1"], t1))
    p = softmax_rows(t1, cands, 0.05)
    ce = [-(p * softmax_rows(s, cands, 0.1).log()).sum(dim=1).mean() for s in (x["s1"], x["s2"])]
    got = congen_loss(x["s1"], x["s2"], x["t1"], x["q1"], tau_online=0.1, tau_teacher=0.05)
    assert abs(got.item() - 0.5 * (ce[0] + ce[1]).item()) < 1e-6
    assert_teacher_frozen(got, x)


def test_ckd_is_infonce_with_own_teacher_positive(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    terms = []
    for s, t in ((x["s1"], x["t1"].detach()), (x["s2"], x["t2"].detach())):
        cands = torch.cat((x["q1"], t))
        q = softmax_rows(s, cands, 0.07)
        terms.append(-torch.log(torch.diagonal(q[:, 40:])).mean())
    got = ckd_loss(x["s1"], x["s2"], x["t1"], x["t2"], x["q1"], tau=0.07)
    assert abs(got.item() - 0.5 * (terms[0] + terms[1]).item()) < 1e-6
    assert_teacher_frozen(got, x)


def test_in_batch_teacher_candidates_work(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    loss = ckd_loss(x["s1"], x["s2"], x["t1"], x["t2"], None, tau=0.07)
    assert torch.isfinite(loss)
    assert torch.isfinite(congen_loss(x["s1"], x["s2"], x["t1"], None, tau_online=0.1, tau_teacher=0.05))


def test_shape_mismatch_names_the_shapes(tensors: dict[str, torch.Tensor]) -> None:
    x = tensors
    with pytest.raises(ValueError, match=r"must all be \(B, d\) with one shape.*'t2': \(9, 5\)"):
        mse_loss(x["s1"], x["s2"], x["t1"], torch.zeros(9, 5))
