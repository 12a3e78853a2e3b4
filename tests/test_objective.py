"""SCTObjective: every switch of Tables 4/6/7 trains, closed forms, gradient routing, queue and EMA updates."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sct.config import DistillConfig, MethodConfig, SCTConfig
from sct.encoder import SentenceEncoder
from sct.losses import cross_view_loss
from sct.objective import SCTObjective
from tests.conftest import tiny_bert_config

B, K = 6, 20


def config(distill: dict | None = None, **method) -> SCTConfig:
    return SCTConfig(
        method=MethodConfig(queue_size=K, head_blocks=2, head_width=2, **method),
        distill=DistillConfig(**(distill or {})),
    )


@pytest.fixture()
def encoder(tiny_tokenizer) -> SentenceEncoder:
    torch.manual_seed(0)
    return SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer)))


@pytest.fixture()
def batch(tiny_tokenizer, sentences) -> dict[str, torch.Tensor]:
    out = {}
    for view, texts in ((1, sentences[:B]), (2, sentences[B : 2 * B])):
        enc = tiny_tokenizer(texts, padding=True, return_tensors="pt")
        out[f"input_ids_{view}"], out[f"attention_mask_{view}"] = enc["input_ids"], enc["attention_mask"]
    out["index"] = torch.arange(B)
    return out


def teacher(dim: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(torch.nn.functional.normalize(torch.randn(B, dim), dim=1) for _ in range(2))


VARIANTS = [
    {},
    {"objective": "contrastive"},
    {"pairing": "identical"},
    {"reference": "momentum", "momentum": 0.9},
    {"divergence": "ce"},
    {"head": "none"},
    {"queues": "one"},
    {"queues": "frozen"},
    {"queues": "none"},
    {"reference_dropout": False, "view_weight": 1.0},
    {"distill": {"teacher": "t", "loss": "cd"}},
    {"distill": {"teacher": "t", "loss": "cd", "mode": "distill_only"}, "queues": "one"},
    {"distill": {"teacher": "t", "loss": "mse"}, "reference": "momentum"},
    {"distill": {"teacher": "t", "loss": "congen", "mode": "distill_only"}},
    {"distill": {"teacher": "t", "loss": "congen"}, "queues": "none"},
    {"distill": {"teacher": "t", "loss": "ckd"}, "objective": "contrastive"},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "default")
def test_every_variant_trains_two_steps(variant: dict, encoder: SentenceEncoder, batch) -> None:
    variant = dict(variant)
    cfg = config(variant.pop("distill", None), **variant)
    objective = SCTObjective(cfg, encoder, teacher_dim=32 if cfg.distilling else None)
    params = [p for m in (encoder, objective) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    before = {name: q.vectors.clone() for name, q in objective.queues.items()}
    for _ in range(2):
        out = objective(encoder, batch, teacher() if cfg.distilling else None)
        assert torch.isfinite(out.loss) and out.parts["loss"].item() == pytest.approx(out.loss.item())
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        objective.update(out, encoder)
    changed = {name: not torch.equal(q.vectors, before[name]) for name, q in objective.queues.items()}
    assert all(changed.values()) == (cfg.method.queues != "frozen") or not changed


def test_identical_views_without_dropout_give_zero_loss_at_step_zero(encoder, batch) -> None:
    # With x_2 = x_1, no dropout anywhere (encoder in eval mode, reference_dropout False), stop-gradient
    # reference = the same network and no head, the online vector of view 2 equals the reference vector of
    # view 1 and the candidates are shared, so with tau_online = tau_ref the two distributions coincide:
    # KL(p || p) = 0 for both terms.
    cfg = config(head="none", reference_dropout=False, tau_ref=0.05, tau_online=0.05)
    same = {**batch, "input_ids_2": batch["input_ids_1"], "attention_mask_2": batch["attention_mask_1"]}
    objective = SCTObjective(cfg, encoder)
    encoder.eval()
    out = objective(encoder, same)
    assert abs(out.loss.item()) < 1e-5
    assert out.parts["loss_sct"].item() == pytest.approx(0.0, abs=1e-5)


def test_gradients_reach_encoder_and_head_never_reference_or_ema(encoder, batch) -> None:
    cfg = config(reference_dropout=False)
    objective = SCTObjective(cfg, encoder)
    encoder.eval()  # deterministic, so the reference pass can be recomputed outside
    out = objective(encoder, batch)
    params = list(encoder.backbone.embeddings.parameters()) + list(objective.head.parameters())
    grads = torch.autograd.grad(out.loss, params)
    assert all(g.abs().sum() > 0 for g in grads)
    # Same loss with the reference vectors as constants: equal gradients prove the reference pass adds none.
    with torch.no_grad():
        r1 = torch.nn.functional.normalize(encoder(batch["input_ids_1"], batch["attention_mask_1"]), dim=1)
        r2 = torch.nn.functional.normalize(encoder(batch["input_ids_2"], batch["attention_mask_2"]), dim=1)
    z1 = torch.nn.functional.normalize(objective.head(encoder(batch["input_ids_1"], batch["attention_mask_1"])))
    z2 = torch.nn.functional.normalize(objective.head(encoder(batch["input_ids_2"], batch["attention_mask_2"])))
    queues = objective.queues
    manual = cross_view_loss(
        z1, z2, r1, r2, queues["queue_1"].vectors, queues["queue_2"].vectors, tau_online=0.04, tau_target=0.03
    )
    expected = torch.autograd.grad(manual, params)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)

    momentum = SCTObjective(config(reference="momentum"), encoder)
    momentum(encoder, batch).loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in momentum.ema_encoder.parameters())
    assert all(not q.vectors.requires_grad for q in momentum.queues.values())


def test_update_enqueues_reference_keys_and_moves_ema(encoder, batch) -> None:
    objective = SCTObjective(config(reference="momentum", momentum=0.9), encoder)
    out = objective(encoder, batch)
    assert set(out.keys) == {"queue_1", "queue_2"} and out.keys["queue_1"].shape == (B, 32)
    ema_before = [p.clone() for p in objective.ema_encoder.parameters()]
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.5)
    objective.update(out, encoder)
    torch.testing.assert_close(objective.queues["queue_1"].vectors[:B], out.keys["queue_1"])
    assert int(objective.queues["queue_2"].ptr) == B
    for old, new, online in zip(ema_before, objective.ema_encoder.parameters(), encoder.parameters(), strict=True):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * online)

    one = SCTObjective(config(queues="one"), encoder)
    out = one(encoder, batch)
    one.update(out, encoder)
    assert list(one.queues) == ["queue"] and int(one.queues["queue"].ptr) == 2 * B
    assert not SCTObjective(config(queues="none"), encoder).queues
    assert SCTObjective(config(queues="frozen"), encoder)(encoder, batch).keys == {}


def test_distillation_queues_and_modes(encoder, batch) -> None:
    t1, t2 = teacher()
    cd = SCTObjective(config({"teacher": "t", "loss": "cd"}), encoder, teacher_dim=32)
    assert set(cd.queues) == {"queue_1", "queue_2", "teacher_1", "teacher_2"}
    out = cd(encoder, batch, (t1, t2))
    torch.testing.assert_close(out.keys["teacher_2"], t2)
    torch.testing.assert_close(out.parts["loss"], out.parts["loss_sct"] + out.parts["loss_distill"], rtol=1e-5, atol=0)

    congen = SCTObjective(config({"teacher": "t", "loss": "congen", "mode": "distill_only"}), encoder)
    assert set(congen.queues) == {"teacher"} and not list(congen.head.parameters())
    out = congen(encoder, batch, (t1, t2))
    assert set(out.parts) == {"loss_distill", "loss"}
    torch.testing.assert_close(out.keys["teacher"], t1)


def test_state_dict_holds_queues_head_and_ema(encoder) -> None:
    state = SCTObjective(config(reference="momentum"), encoder).state_dict()
    assert {"queues.queue_1.vectors", "queues.queue_1.ptr", "head.blocks.0.0.weight"} <= set(state)
    assert any(key.startswith("ema_encoder.") for key in state)


def test_errors_name_the_problem(encoder, batch) -> None:
    with pytest.raises(ValueError, match=r"teacher_dim=384 != encoder.dim=32: .*projection_dim=384"):
        SCTObjective(config({"teacher": "t"}), encoder, teacher_dim=384)
    cd = SCTObjective(config({"teacher": "t"}), encoder)
    with pytest.raises(ValueError, match="distill.loss='cd' needs teacher vectors"):
        cd(encoder, batch)
    with pytest.raises(ValueError, match=r"batch is missing keys \['input_ids_2'\]"):
        cd(encoder, {k: v for k, v in batch.items() if k != "input_ids_2"}, teacher())


def test_reference_pass_restores_the_encoder_mode(encoder, batch) -> None:
    objective = SCTObjective(config(reference_dropout=False), encoder)
    encoder.train()
    objective(encoder, batch)
    assert encoder.training
    assert dataclasses.asdict(objective.method)["queues"] == "two"


# (switch, changes L_CD when distill.ablate_cd): Table 6 ablates L_SCT only (§5.4.1).
SCT_SWITCHES = [
    ({"objective": "contrastive"}, True),
    ({"divergence": "ce"}, True),
    ({"pairing": "identical"}, True),
    ({"queues": "one"}, True),
    ({"queues": "none"}, True),
    ({"queues": "frozen"}, False),  # same value at step 0; the teacher queues' writes are checked below
    ({"head": "none"}, False),
    ({"reference": "momentum"}, False),
]


def l_cd(encoder, batch, t, *, ablate_cd: bool = False, **switch) -> tuple[float, set[str]]:
    # Warm temperatures: at tau_ref 0.03 random teacher targets are one-hot and KL = CE = InfoNCE.
    cfg = config({"teacher": "t", "ablate_cd": ablate_cd}, tau_ref=1.0, tau_online=0.5, **switch)
    objective = SCTObjective(cfg, encoder, teacher_dim=32)
    out = objective(encoder, batch, t)
    return float(out.parts["loss_distill"]), {name for name in out.keys if name.startswith("teacher")}


@pytest.mark.parametrize(("switch", "ablates_cd"), SCT_SWITCHES, ids=lambda v: str(v))
def test_table4_switches_leave_l_cd_as_the_default_recipe(switch: dict, ablates_cd: bool, encoder, batch) -> None:
    encoder.eval()  # no dropout: L_CD depends only on the student, the teacher and the teacher queues
    t = teacher()
    default, default_writes = l_cd(encoder, batch, t)
    switched, switched_writes = l_cd(encoder, batch, t, **switch)
    assert switched == pytest.approx(default, rel=1e-6) and switched_writes == default_writes == {
        "teacher_1",
        "teacher_2",
    }
    ablated, ablated_writes = l_cd(encoder, batch, t, ablate_cd=True, **switch)
    changed = ablated != pytest.approx(default, rel=1e-4) or ablated_writes != default_writes
    assert changed == (ablates_cd or switch == {"queues": "frozen"})


def test_parts_are_detached_tensors_not_host_floats(encoder, batch) -> None:
    out = SCTObjective(config({"teacher": "t"}), encoder, teacher_dim=32)(encoder, batch, teacher())
    assert set(out.parts) == {"loss_sct", "loss_distill", "loss"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in out.parts.values())
    assert out.loss.requires_grad and torch.equal(out.parts["loss"], out.loss.detach())
