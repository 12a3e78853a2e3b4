"""Search-space YAML files: the shipped ones load and start at Table 1; bad files fail naming file/key/value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sct.presets import SIZES, size_overrides
from sct.tune.plan.spaces import find_spec_file, load_space

GOOD = {
    "size": "bert-tiny",
    "space": {
        "optim.lr": {"distribution": "loguniform", "low": "1e-5", "high": 1.0e-3},
        "method.queue_size": {"distribution": "categorical", "values": [64, 128]},
    },
    "points_to_evaluate": [{"optim.lr": 5.0e-4, "method.queue_size": 128}],
}


def write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("size", SIZES)
def test_shipped_spaces_start_at_the_table1_point(size: str) -> None:
    space = load_space(size)
    table1 = size_overrides(size)
    assert space.size == size and space.metric == "best_stsb_dev"
    assert space.points[0] == {k: table1[k] for k in space.points[0]}
    assert set(space.points[0]) == {"optim.lr", "method.queue_size", "method.tau_ref", "method.tau_online"}
    assert space.budget["grace_evals"] >= 2
    assert space.resources["gpu"] <= {"bert-tiny": 0.25, "bert-mini": 0.25, "bert-small": 0.5}.get(size, 1)
    assert space.base_config().eval.every_steps == 64
    dists = space.optuna_space()
    assert dists["optim.lr"].log and dists["optim.lr"].low == 1e-5 and dists["optim.lr"].high == 1e-3


def test_a_path_works_and_numeric_strings_are_numbers(tmp_path: Path) -> None:
    space = load_space(write(tmp_path, GOOD))
    assert space.params[0].low == 1e-5 and space.params[1].values == (64, 128)


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown search_spaces name 'bert-huge': allowed \['bert-base'"):
        find_spec_file("bert-huge", "search_spaces")
    with pytest.raises(ValueError, match="search_spaces file not found: nope.yaml"):
        load_space("nope.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budgett": {}}, r"unknown key 'budgett': allowed \['size'"),
        ({"size": "bert-huge"}, r"key 'size' has invalid value 'bert-huge'"),
        ({"metric": "loss"}, r"key 'metric' has invalid value 'loss': allowed one of \['best_stsb_dev'\]"),
        (
            {"space": {"optim.lr": {"distribution": "loguniform", "low": 1e-3, "high": 1e-5}}},
            r"key 'space.optim.lr' has an empty range: low 0.001 >= high 1e-05",
        ),
        (
            {"space": {"optim.lr": {"distribution": "gauss", "low": 1, "high": 2}}},
            r"key 'space.optim.lr.distribution' has invalid value 'gauss': allowed one of \['loguniform'",
        ),
        (
            {"space": {"optim.nope": {"distribution": "uniform", "low": 0.1, "high": 0.2}}},
            r"unknown config key 'optim.nope'",
        ),
        (
            {"space": {"method.queue_size": {"distribution": "categorical", "values": []}}},
            r"key 'space.method.queue_size.values' has invalid value \[\]: expected a non-empty list",
        ),
        ({"space": {"method.tau_ref": {"distribution": "uniform", "low": -1, "high": 0.1}}}, r"method.tau_ref.*-1"),
        ({"budget": {"grace_evals": 1}}, r"key 'budget.grace_evals' has invalid value 1: allowed >= 2"),
        ({"resources": {"gpu": 1.5}}, r"key 'resources.gpu' has invalid value 1.5"),
        (
            {"points_to_evaluate": [{"optim.lr": 5e-4, "method.queue_size": 100}]},
            r"key 'points_to_evaluate\[0\].method.queue_size' has invalid value 100: allowed one of \[64, 128\]",
        ),
        ({"points_to_evaluate": [{"optim.lr": 5e-4}]}, r"points_to_evaluate\[0\]' .* expected exactly the keys"),
        ({"base": {"optim.lr": -1}}, r"config key 'optim.lr' has invalid value -1"),
    ],
)
def test_bad_files_fail_naming_the_file_key_and_value(tmp_path: Path, change: dict, message: str) -> None:
    path = write(tmp_path, GOOD | change)
    with pytest.raises(ValueError, match=message) as info:
        load_space(path)
    assert "space.yaml" in str(info.value)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("space: {optim.lr: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.yaml: invalid YAML"):
        load_space(str(path))
