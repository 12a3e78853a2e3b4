"""``resolve_inputs``: absolute paths, sizes as hub ids, every bad input named by its key."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sct.config import SCTConfig
from sct.config_io import apply_overrides, config_to_dict
from sct.errors import UserError
from sct.inputs import ensure_resolved, mark_resolved, model_size, resolve_inputs, unavailable
from tests.conftest import FIXTURES


def test_paths_become_absolute_and_sizes_hub_ids(tiny_model_dir, stsb_dir, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    cfg = apply_overrides(
        SCTConfig(),
        {"model.name": str(tiny_model_dir), "data.train": "sentences.txt", "eval.sts_dir": str(stsb_dir),
         "eval.test_tasks": ["stsb"], "data.cache_dir": "cache"},
    )  # fmt: skip
    out = resolve_inputs(cfg)
    assert out.data.train == str(FIXTURES / "sentences.txt") and out.data.cache_dir == str(FIXTURES / "cache")
    assert out.model.name == str(tiny_model_dir)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model.name": "./no/model"}, r"config key 'model.name': model directory ./no/model does not exist"),
        ({"data.train": "./missing.txt"}, r"config key 'data.train': training data file not found: ./missing.txt"),
        ({"eval.sts_dir": "/no/sts"}, r"config key 'eval.sts_dir': directory '/no/sts' does not exist"),
        ({"distill.teacher": "./no/teacher"}, r"config key 'distill.teacher': model directory ./no/teacher"),
    ],
)
def test_bad_inputs_name_their_key(overrides, message, tiny_model_dir, stsb_dir) -> None:
    base = {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
            "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]}  # fmt: skip
    with pytest.raises(UserError, match=message):
        resolve_inputs(apply_overrides(SCTConfig(), base | overrides))


def test_hub_ids_offline_name_the_offline_flags(monkeypatch, tiny_model_dir, stsb_dir) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = apply_overrides(SCTConfig(), {"eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]})
    with pytest.raises(UserError, match=r"'model.name' = 'google/bert_uncased_L-2_H-128_A-2' is not a size .*"
                       r"--set model.name=DIR --train-data FILE --sts-dir DIR"):  # fmt: skip
        resolve_inputs(cfg)


def test_model_size_comes_from_the_shape(tmp_path, tiny_model_dir) -> None:
    assert model_size("bert-small") == "bert-small" and model_size("google/bert_uncased_L-4_H-256_A-4") == "bert-mini"
    mini = tmp_path / "mini"
    mini.mkdir()
    (mini / "config.json").write_text(json.dumps({"num_hidden_layers": 4, "hidden_size": 256}))
    assert model_size(str(mini)) == "bert-mini" and model_size(str(tiny_model_dir)) is None


def test_a_resolved_config_is_not_resolved_again_until_an_input_changes(tiny_model_dir, stsb_dir, monkeypatch):
    cfg = apply_overrides(
        SCTConfig(),
        {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
         "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"]},
    )  # fmt: skip
    resolved = resolve_inputs(cfg)
    calls: list[str] = []
    monkeypatch.setattr("sct.inputs.check_lengths", lambda c: calls.append(c.model.name))  # the last check
    assert ensure_resolved(resolved) is resolved and calls == []
    assert ensure_resolved(apply_overrides(resolved, {"optim.lr": 1e-4})) is not None and len(calls) == 1  # unmarked
    same_inputs = mark_resolved(apply_overrides(resolved, {"optim.lr": 1e-4}))
    assert ensure_resolved(same_inputs) is same_inputs and len(calls) == 1
    object.__setattr__(same_inputs, "data", dataclasses.replace(same_inputs.data, max_examples=5))
    ensure_resolved(same_inputs)  # its input sections changed after the mark: resolved again
    assert len(calls) == 2


def test_a_trial_with_the_bases_inputs_is_not_resolved_again(tiny_model_dir, stsb_dir, tmp_path, monkeypatch):
    """The sweep driver resolved the base: the trainer takes a trial that changes no input as it is."""
    from sct.trainer import train
    from sct.tune.plan.spec import TrialPayload
    from sct.tune.run.trial import trial_config
    from sct.tune.vocabulary import TRIAL_NUMBER

    base = resolve_inputs(
        apply_overrides(
            SCTConfig(),
            {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
             "data.cache_dir": str(tmp_path / "cache"), "eval.sts_dir": str(stsb_dir), "eval.test_tasks": ["stsb"],
             "method.queue_size": 16, "optim.batch_size": 8, "optim.max_steps": 2, "eval.every_steps": 2,
             "run.device": "cpu"},
        )
    )  # fmt: skip
    payload = TrialPayload(base=config_to_dict(base), kind="sweep", trials_root=str(tmp_path / "trials"))

    def fail(cfg: SCTConfig) -> None:
        raise AssertionError("inputs resolved again")

    monkeypatch.setattr("sct.inputs.check_lengths", fail)  # the last step of resolve_inputs
    trial = trial_config({"sct": payload.to_config(), TRIAL_NUMBER: 0, "optim.lr": 1e-4})
    assert train(trial, show_progress=False)["steps"] == 2
    with pytest.raises(AssertionError, match="resolved again"):  # a trial that changes an input: resolved
        train(trial_config({"sct": payload.to_config(), TRIAL_NUMBER: 1, "data.max_examples": 9}))


def test_each_hub_id_is_judged_by_its_librarys_offline_flag(monkeypatch) -> None:
    """HF_DATASETS_OFFLINE blocks dataset ids only; the Hub is probed once for all the uncached ids."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    probes: list[int] = []
    monkeypatch.setattr("sct.inputs.in_cache", lambda name, kind: False)
    monkeypatch.setattr("sct.inputs.reachable", lambda: probes.append(1) is None)
    ids = {"model.name": ("org/model", "model"), "data.train": ("org/data", "dataset")}
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert unavailable(ids) == ["data.train"]
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    assert unavailable(ids) == [] and len(probes) == 1
    monkeypatch.setattr("sct.inputs.reachable", lambda: False)
    assert unavailable(ids) == ["model.name", "data.train"]
