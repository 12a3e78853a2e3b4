"""Run names and experiment tags (sct.tune.tracking.names): table-driven, plus the tag read back from a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.tune.tracking import names


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3e-4, "3e-4"),
        (3.25e-4, "3.2e-4"),
        (5e-5, "5e-5"),
        (0.02, ".02"),
        (0.0312, ".031"),
        (0.1, ".1"),
        (-0.5, "-.5"),
        (2.5, "2.5"),
        (12.345, "12"),
        (99.9, "100"),
        (131.5, "132"),
        (0.0, "0"),
        (65536, "65536"),
        (True, "True"),
        ("mlp", "mlp"),
        (float("nan"), "nan"),
    ],
)
def test_short_number(value: object, text: str) -> None:
    assert names.short_number(value) == text


@pytest.mark.parametrize(
    ("index", "values", "total", "name"),
    [
        (
            3,
            {"optim.lr": 3e-4, "method.queue_size": 65536, "method.tau_ref": 0.02, "method.tau_online": 0.03},
            None,
            "t03 lr=3e-4 k=65536 τref=.02 τθ=.03",
        ),
        (0, {"method.queue_size": 131072.0, "optim.lr": 0.0005}, 32, "t00 k=131072 lr=5e-4"),
        (7, {"method.tau_ref": 0.0412}, 120, "t007 τref=.041"),
        (12, {"method.head": "none", "optim.warmup_ratio": 0.1}, 16, "t12 head=none warmup_ratio=.1"),
        (4, {}, None, "t04"),
    ],
)
def test_sweep_run_name(index: int, values: dict, total: int | None, name: str) -> None:
    assert names.sweep_run_name(index, values, total=total) == name


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: names.ablation_run_name("contrastive", 43), "contrastive s=43"),
        (lambda: names.ablation_run_name("no_queue", 42.0), "no_queue s=42"),
        (lambda: names.format_values({"optim.seed": 43.0, "model.pooling": "cls"}), "s=43 pooling=cls"),
    ],
)
def test_other_run_names(call, name: str) -> None:
    assert call() == name


@pytest.mark.parametrize(
    ("trial_id", "index"),
    [("6a1b2_00003", 3), ("sct_trainable_6a1b2_00012", 12), ("abc", None), ("00001_x", None)],
)
def test_trial_index_from_ray_trial_id(trial_id: str, index: int | None) -> None:
    assert names.trial_index(trial_id) == index


@pytest.mark.parametrize(
    ("trial_id", "tag", "index"),
    [
        ("41664cde", "1_lr=0.0005,queue_size=128", 0),  # Ray's searcher counts from 1, Optuna from 0
        ("41664cde", "12", 11),
        ("6a1b2_00003", "9_x=1", 3),  # a grid id's own counter wins
        ("41664cde", "", None),
        ("41664cde", "0_x=1", None),
        ("41664cde", "lr=1_x", None),
    ],
)
def test_trial_index_of_a_searcher_trial_from_its_experiment_tag(trial_id: str, tag: str, index: int | None) -> None:
    assert names.trial_index(trial_id, tag) == index


@pytest.mark.parametrize(
    ("kind", "trial_id", "choices", "name"),
    [
        ("sweep", "ab12c_00003", {"optim.lr": 3e-4, "method.queue_size": 65536, "sct_meta": {}}, "t03 lr=3e-4 k=65536"),
        ("sweep", "custom", {"method.tau_ref": 0.02}, "custom τref=.02"),
        ("ablation", "ab12c_00007", {"row": "contrastive", "seed": 43, "sct_base": {}}, "contrastive s=43"),
        ("seeds", "ab12c_00001", {"row": "best", "seed": 44}, "best s=44"),
    ],
)
def test_trial_run_name_dispatches_on_the_kind(kind: str, trial_id: str, choices: dict, name: str) -> None:
    assert names.trial_run_name(kind, trial_id, choices) == name


def test_a_searcher_trial_is_named_by_its_number() -> None:
    name = names.trial_run_name("sweep", "41664cde", {"optim.lr": 5e-4}, experiment_tag="2_lr=0.0005", total=12)
    assert name == "t01 lr=5e-4"


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        ("ablation", {"row": "sct"}, r"ablation trial: its config needs 'row' and 'seed', got keys \['row'\]"),
        ("grid", {}, "unknown trial kind 'grid': expected 'sweep', 'ablation' or 'seeds'"),
    ],
)
def test_trial_run_name_refuses_bad_input(kind: str, choices: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        names.trial_run_name(kind, "x_00001", choices)


def test_negative_trial_index_is_refused() -> None:
    with pytest.raises(ValueError, match="trial index must be >= 0, got -1"):
        names.trial_label(-1)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning"),
        ("http://host:8080/", "http://host:8080/#/experiments/7/runs?workflowType=machine_learning"),
    ],
)
def test_experiment_url_opens_the_runs_table(base: str, url: str) -> None:
    assert names.experiment_url(base, "7") == url


def test_experiment_tags_are_stored_on_a_real_experiment(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}")
    experiment_id = client.create_experiment(
        "sweep-bert-tiny", artifact_location=(tmp_path / "artifacts").resolve().as_uri(), tags=names.experiment_tags()
    )
    tags = client.get_experiment(experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    run = client.create_run(experiment_id, run_name=names.sweep_run_name(3, {"optim.lr": 3e-4}))
    assert client.get_run(run.info.run_id).info.run_name == "t03 lr=3e-4"
