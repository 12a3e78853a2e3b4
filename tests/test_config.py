"""Config tree: defaults once, precedence of presets < YAML < --set, and errors that name key, value, range."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest

from sct.checks import choices
from sct.config import (
    SECTIONS,
    DataConfig,
    DistillConfig,
    MethodConfig,
    OptimConfig,
    RunConfig,
    SCTConfig,
)
from sct.config_io import (
    apply_overrides,
    changed_keys,
    coerce_dataclass,
    config_from_dict,
    config_to_dict,
    flatten,
    load_yaml,
    parse_set_args,
    resolve_config,
    save_config,
)
from sct.errors import UserError
from sct.presets import SIZES, size_of, size_overrides


def test_defaults_are_table1_bert_tiny() -> None:
    cfg = SCTConfig()
    assert cfg.model.name == "google/bert_uncased_L-2_H-128_A-2"
    assert (cfg.optim.lr, cfg.method.queue_size, cfg.method.tau_ref, cfg.method.tau_online) == (
        5e-4,
        131072,
        0.03,
        0.04,
    )
    assert (cfg.optim.batch_size, cfg.eval.every_steps, cfg.method.head_width, cfg.method.head_blocks) == (
        128,
        64,
        10,
        3,
    )
    assert cfg.method.view_weight == 0.5  # the paper's 1/2 (the released code sums: 1.0)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCTConfig().method.queue_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("method.tau_ref", 0, r"'method.tau_ref' has invalid value 0.0: allowed > 0.0"),
        ("method.tau_online", -0.1, r"'method.tau_online' has invalid value -0.1: allowed > 0.0"),
        ("method.momentum", 1.0, r"'method.momentum' has invalid value 1.0: allowed > 0.0 and < 1.0"),
        ("method.queue_size", 0, r"'method.queue_size' has invalid value 0: allowed >= 1"),
        ("optim.lr", -1, r"'optim.lr' has invalid value -1.0: allowed > 0.0"),
        ("optim.batch_size", 1, r"'optim.batch_size' has invalid value 1: allowed >= 2"),
        ("method.queues", "three", r"'method.queues' has invalid value 'three': allowed one of \['two'"),
        ("method.queue_size", "abc", r"'method.queue_size' has invalid value 'abc': expected int"),
        ("eval.test_tasks", "sts12,foo", r"'eval.test_tasks' has invalid value \['sts12', 'foo'\]: allowed a subset"),
        ("method.queue_sz", 3, r"unknown config key 'method.queue_sz': allowed method.\{objective"),
        ("methd.x", 1, r"unknown config section in key 'methd.x'"),
    ],
)
def test_bad_values_name_key_value_and_range(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"^--set: .*" + message):
        apply_overrides(SCTConfig(), {key: value}, "--set")


def test_cross_section_checks() -> None:
    with pytest.raises(ValueError, match="'distill.mode' has invalid value 'distill_only'"):
        apply_overrides(SCTConfig(), {"distill.mode": "distill_only"})
    with pytest.raises(ValueError, match="'distill.loss' has invalid value 'mse'"):
        apply_overrides(SCTConfig(), {"distill.loss": "mse"})


def test_precedence_preset_yaml_set(tmp_path) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_text("method:\n  tau_ref: 0.05\n  queue_size: 4096\noptim.lr: 1.0e-4\n")
    cfg = resolve_config("bert-small", config_file, parse_set_args(["method.queue_size=512"]))
    assert cfg.model.name == "google/bert_uncased_L-4_H-512_A-8"  # preset
    assert cfg.method.tau_online == 0.03  # preset, untouched by YAML
    assert (cfg.method.tau_ref, cfg.optim.lr) == (0.05, 1e-4)  # YAML over preset
    assert cfg.method.queue_size == 512  # --set over YAML


def test_yaml_errors_name_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: [1, 2\n")
    with pytest.raises(ValueError, match=r"bad.yaml: invalid YAML"):
        load_yaml(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("method:\n  queue: 3\n")
    with pytest.raises(ValueError, match=r"unknown.yaml: unknown config key 'method.queue'"):
        resolve_config(config_file=unknown)


def test_set_args_parse_yaml_scalars() -> None:
    assert parse_set_args(["a.b=65536", "c.d=[stsb]", "e.f=null", "g.h=0.5"]) == {
        "a.b": 65536,
        "c.d": ["stsb"],
        "e.f": None,
        "g.h": 0.5,
    }
    with pytest.raises(ValueError, match="--set expects key=value, got 'foo'"):
        parse_set_args(["foo"])


def test_round_trip_through_yaml(tmp_path) -> None:
    cfg = apply_overrides(SCTConfig(), {"method.queues": "one", "eval.test_tasks": ["stsb"], "data.max_examples": None})
    save_config(cfg, tmp_path / "config.yaml")
    assert config_from_dict(load_yaml(tmp_path / "config.yaml")) == cfg
    assert flatten(cfg)["method.queues"] == "one"
    assert set(config_to_dict(cfg)) == {"model", "data", "method", "distill", "optim", "eval", "run"}


def test_size_presets() -> None:
    assert SIZES == ("bert-tiny", "bert-mini", "bert-small", "bert-base", "bert-large")
    assert size_overrides("bert-large")["method.queue_size"] == 16384
    assert size_of("bert-base-uncased") == "bert-base" and size_of("some/other") is None
    with pytest.raises(ValueError, match=r"unknown model size 'bert-huge': allowed \['bert-tiny'"):
        size_overrides("bert-huge")


SWITCHES = [
    (
        DataConfig,
        "data.augmentation",
        ["auto", "back_translation", "same", "dropout", "word_deletion", "mlm", "synonym"],
    ),
    (MethodConfig, "method.objective", ["distribution", "contrastive"]),
    (MethodConfig, "method.divergence", ["kl", "ce"]),
    (MethodConfig, "method.pairing", ["cross", "identical"]),
    (MethodConfig, "method.reference", ["stop_grad", "momentum"]),
    (MethodConfig, "method.head", ["mlp", "none"]),
    (MethodConfig, "method.queues", ["two", "one", "frozen", "none"]),
    (DistillConfig, "distill.loss", ["cd", "mse", "congen", "ckd"]),
    (DistillConfig, "distill.mode", ["joint", "distill_only"]),
    (OptimConfig, "optim.precision", ["auto", "fp32", "bf16", "fp16"]),
    (OptimConfig, "optim.compile_mode", ["default", "reduce-overhead", "max-autotune-no-cudagraphs"]),
    (RunConfig, "run.device", ["auto", "cpu", "cuda"]),
]


@pytest.mark.parametrize(("cls", "key", "allowed"), SWITCHES, ids=[key for _, key, _ in SWITCHES])
def test_every_switch_is_validated_on_construction(cls: type, key: str, allowed: list[str]) -> None:
    name = key.split(".")[1]
    for wrong in ("three", None, 2):
        message = f"config key '{key}' has invalid value {wrong!r}: allowed one of {allowed}"
        with pytest.raises(UserError, match="^" + re.escape(message) + "$"):
            cls(**{name: wrong})
    assert all(getattr(cls(**{name: value}), name) == value for value in allowed[:1] + allowed[-1:])


def test_the_switch_table_lists_every_literal_field() -> None:
    found = {
        f"{section}.{f.name}"
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
        if choices(typing.get_type_hints(cls)[f.name]) is not None
    }
    assert found == {key for _, key, _ in SWITCHES}


@dataclasses.dataclass(frozen=True)
class Inner:
    k: int = 1


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    mode: typing.Literal["a", "b"] = "a"
    scores: dict[typing.Literal["x", "y"], float | None] = dataclasses.field(default_factory=dict)
    inner: Inner = dataclasses.field(default_factory=Inner)
    items: tuple[Inner, ...] = ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "n", "nme": 1}, r"^f.yaml: unknown key 'nme': allowed \['name', 'mode'"),
        ({"mode": "a"}, r"^f.yaml: config key 'name' is missing"),
        ({"name": 3}, r"^f.yaml: config key 'name' has invalid value 3: expected str"),
        ({"name": "n", "mode": "c"}, r"^f.yaml: config key 'mode' has invalid value 'c': allowed one of \['a', 'b'\]$"),
        ({"name": "n", "scores": {"z": 1}}, r"^f.yaml: config key 'scores.z' has invalid value 'z': allowed one of"),
        ({"name": "n", "scores": {"x": "big"}}, r"^f.yaml: config key 'scores.x' has invalid value 'big': expected"),
        ({"name": "n", "inner": {"j": 1}}, r"^f.yaml: unknown key 'inner.j': allowed \['k'\]"),
        ({"name": "n", "items": [{"k": 1}, {"k": 1.5}]}, r"^f.yaml: config key 'items\[1\].k' has invalid value 1.5"),
        (
            {"name": "n", "items": {"k": 1}},
            r"^f.yaml: config key 'items' has invalid value \{'k': 1\}: expected a list",
        ),
        ("name", r"^f.yaml: the top level has invalid value 'name': expected a mapping"),
    ],
)
def test_coerce_dataclass_names_file_key_and_value(data: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        coerce_dataclass(Outer, data, "f.yaml")


def test_coerce_dataclass_converts_nested_values() -> None:
    data = {"name": "n", "scores": {"x": "1e-5", "y": None}, "inner": {"k": "3"}, "items": [{"k": 2.0}]}
    assert coerce_dataclass(Outer, data, "f.yaml") == Outer("n", "a", {"x": 1e-5, "y": None}, Inner(3), (Inner(2),))


def test_changed_keys_name_each_flat_key_old_to_new() -> None:
    saved = {"method": {"queue_size": 64, "tau_ref": 0.03}, "optim": {"lr": 1, "x": {"a": 1}}}
    now = {"method": {"queue_size": 128, "tau_ref": 0.03}, "optim": {"lr": 2, "x": {"a": 2}}, "new": 5}
    assert changed_keys(saved, now) == [
        "method.queue_size: 64 -> 128",
        "new: None -> 5",
        "optim.lr: 1 -> 2",
        "optim.x.a: 1 -> 2",
    ]
