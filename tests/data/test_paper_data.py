"""``data.train=paper-nli``: the NLI sentences back-translated once into the cache, then reused; the offline
refusal; what dry runs say. The Hub datasets and opus-mt models are replaced by local stand-ins (two tiny
``datasets`` dirs with premise/hypothesis columns, tiny random Marian models), keyed like the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from sct import ablate
from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.data import paper_data
from sct.data.__main__ import main
from sct.data.backtranslation import translator
from sct.data.backtranslation.settings import Generation, Pivot
from sct.data.run_data import prepare_run_data
from sct.errors import UserError
from sct.inputs import resolve_inputs
from tests.conftest import FIXTURES
from tests.data.test_backtranslate import ONE_THREAD, models, one_thread

__all__ = ["models", "one_thread"]  # fixtures shared with test_backtranslate
SNLI = {"premise": ["a man plays .", "a man plays .", "two dogs run ."], "hypothesis": ["a man sings .", "a man sits .",
        "dogs run ."], "label": [0, 1, 2]}  # fmt: skip
MNLI = {"premise": ["the car is red ."], "hypothesis": ["a man plays ."], "label": [1]}


@pytest.fixture
def stand_ins(models, tmp_path, monkeypatch) -> Path:
    """NLI_INPUTS, the pivots and the generation settings of the paper's data pointed at local stand-ins."""
    for name, rows in (("snli", SNLI), ("mnli", MNLI)):
        datasets.Dataset.from_dict(rows).save_to_disk(tmp_path / name)
    inputs = tuple((str(tmp_path / name), "train", ("premise", "hypothesis")) for name in ("snli", "mnli"))
    monkeypatch.setattr(paper_data, "NLI_INPUTS", inputs)
    m0, m1 = (str(m) for m in models)
    monkeypatch.setattr(paper_data, "DEFAULT_PIVOTS", (Pivot("de", m0, m1), Pivot("fr", m1, m0)))
    monkeypatch.setattr(paper_data, "PAPER_GENERATION", Generation(num_beams=1, max_length=8))
    return tmp_path / "cache"


def paper_config(cache: Path, model: Path) -> SCTConfig:
    overrides = {"data.train": "paper-nli", "data.cache_dir": str(cache), "model.name": str(model)}
    return apply_overrides(SCTConfig(), overrides, "test")


def test_the_paper_data_is_made_once_and_trains_on_t_and_t_prime(stand_ins, tiny_model_dir, monkeypatch) -> None:
    cfg = paper_config(stand_ins, tiny_model_dir)
    assert "not made yet" in paper_data.describe(cfg)
    data = prepare_run_data(cfg, show_progress=False, translate=None)
    views = paper_data.paper_views_file(stand_ins)
    lines = [line.split("\t") for line in views.read_text(encoding="utf-8").splitlines()]
    pairs = [pair for rows in (SNLI, MNLI) for pair in zip(rows["premise"], rows["hypothesis"], strict=True)]
    distinct = list(dict.fromkeys(s for pair in pairs for s in pair))  # premise, hypothesis, row by row; SNLI, MNLI
    assert [line[0] for line in lines] == distinct == [
        "a man plays .", "a man sings .", "a man sits .", "two dogs run .", "dogs run .", "the car is red ."
    ]  # fmt: skip
    assert (list(data.dataset.texts1), list(data.dataset.texts2)) == ([t for _, t, _ in lines], [t for *_, t in lines])
    meta = json.loads(views.with_name("meta.json").read_text(encoding="utf-8"))
    assert (meta["read"], meta["lines"]) == (8, 6)
    assert paper_data.describe(cfg) == f"paper-nli: cached at {views} (6 lines x<TAB>T(x)<TAB>T′(x))"

    def no_translation(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the cached views were translated again")

    monkeypatch.setattr(translator.RoundTrip, "__init__", no_translation)
    again = prepare_run_data(cfg, show_progress=False)
    assert again.dataset.fingerprint == data.dataset.fingerprint
    de, fr = paper_data.DEFAULT_PIVOTS
    other_pivots = (Pivot("de", de.back, de.forward), fr)
    monkeypatch.setattr(paper_data, "DEFAULT_PIVOTS", other_pivots)  # other models: another cache entry
    assert paper_data.paper_views_file(stand_ins) != views


def test_the_cli_makes_the_paper_cache_and_preview_shows_its_views(stand_ins, tiny_model_dir, capsys) -> None:
    argv = ["backtranslate", "paper-nli", "--cache-dir", str(stand_ins), "--runner", "local", *ONE_THREAD]
    assert main([*argv, "--num-beams", "1", "--max-length", "8"]) == 0
    views = paper_data.paper_views_file(stand_ins)
    assert views.is_file() and f"wrote {views}" in capsys.readouterr().out
    lines = [line.split("\t") for line in views.read_text(encoding="utf-8").splitlines()]
    preview = ["preview", "--set", "data.train=paper-nli", "--set", f"data.cache_dir={stand_ins}", "-n", "3"]
    for augmentation, columns in (("auto", (1, 2)), ("same", (1, 1)), ("dropout", (0, 0))):
        assert main([*preview, "--set", f"data.augmentation={augmentation}"]) == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines() == [f"{line[columns[0]]}\t{line[columns[1]]}" for line in lines[:3]]
        assert "paper-nli: 3 column(s); data.augmentation=" in captured.err


def test_the_cli_refuses_other_settings_for_the_paper_cache(stand_ins, capsys) -> None:
    argv = ["backtranslate", "paper-nli", "--cache-dir", str(stand_ins), "--runner", "local", "--num-beams", "5"]
    assert main(argv) == 2
    assert "paper-nli's cache holds the default pivots and settings: give OUT" in capsys.readouterr().err


def test_offline_without_the_cache_is_one_line_naming_train_data(stand_ins, tiny_model_dir, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(paper_data, "NLI_INPUTS", (("sct-tests/no-such-nli", "train", ("premise",)),))
    cfg = apply_overrides(
        paper_config(stand_ins, tiny_model_dir), {"eval.sts_dir": str(FIXTURES / "sts"), "eval.test_tasks": ["stsb"]}
    )
    message = (
        r"'data.train' = 'paper-nli' .* is not made yet .* the Hugging Face Hub is unreachable to make it: offline, "
        r"pass --train-data FILE \(BSL's back_translated_nli"
    )
    with pytest.raises(UserError, match=message):
        resolve_inputs(cfg)
    views = paper_data.paper_views_file(stand_ins)
    views.parent.mkdir(parents=True)
    views.write_text("x\tT\tT2\n", encoding="utf-8")
    assert resolve_inputs(cfg).data.train == "paper-nli"  # cached: offline is fine


def test_preview_before_the_paper_data_exists_names_the_command(stand_ins, capsys) -> None:
    assert main(["preview", "--set", f"data.cache_dir={stand_ins}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("make them with `python -m sct.data backtranslate paper-nli`, or pass --train-data FILE")


def test_ablate_dry_run_says_whether_the_paper_cache_exists(stand_ins, tiny_model_dir, capsys) -> None:
    argv = ["table4", "--model", "bert-tiny", "--storage", str(stand_ins.parent / "runs"), "--dry-run",
            "--rows", "sct,aug_same,aug_dropout", "--sts-dir", str(FIXTURES / "sts"), "--set",
            f"model.name={tiny_model_dir}", "--set", "eval.test_tasks=[stsb]"]  # fmt: skip
    assert ablate.main(argv) == 0
    out = capsys.readouterr().out
    cache = stand_ins.parent / "runs" / "cache"
    assert f"paper-nli: not made yet ({paper_data.paper_views_file(cache)}): ~1,100,000 distinct" in out
    assert "est. " in out and "--train-data FILE skips it" in out
    assert "sct: (baseline config)  paper Δ n/a (custom model)  views (T(x), T′(x))" in out
    assert "aug_same: {'data.augmentation': 'same'}  paper Δ n/a (custom model)  views (T(x), T(x))" in out
    assert "aug_dropout: {'data.augmentation': 'dropout'}  paper Δ n/a (custom model)  views (x, x)" in out
    assert "WARNING" not in out


def test_a_training_run_on_the_default_data_makes_it_first(stand_ins, tiny_model_dir, stsb_dir, tmp_path) -> None:
    from sct.trainer import train
    from tests.test_trainer import tiny_config

    cfg = tiny_config(tiny_model_dir, stsb_dir, tmp_path / "run", stand_ins, **{"data.train": "paper-nli",
                      "data.augmentation": "auto", "optim.batch_size": 4, "optim.max_steps": 2})  # fmt: skip
    metrics = train(cfg, show_progress=False)
    assert metrics["steps"] == 2 and paper_data.paper_views_file(stand_ins).is_file()
    saved = (tmp_path / "run" / "config.yaml").read_text(encoding="utf-8")
    assert "train: paper-nli" in saved  # the run records the data's name, not a cache path


def test_sweep_dry_run_says_the_paper_cache_exists(stand_ins, tiny_model_dir, capsys) -> None:
    from sct import sweep

    storage = stand_ins.parent / "runs"
    views = paper_data.paper_views_file(storage / "cache")
    views.parent.mkdir(parents=True)
    views.write_text("x\tT\tT2\n", encoding="utf-8")
    argv = ["bert-tiny", "--smoke", "--dry-run", "--storage", str(storage), "--sts-dir", str(FIXTURES / "sts"),
            "--set", f"model.name={tiny_model_dir}", "--set", "eval.test_tasks=[stsb]"]  # fmt: skip
    assert sweep.main(argv) == 0
    assert f"  paper-nli: cached at {views} (? lines x<TAB>T(x)<TAB>T′(x))" in capsys.readouterr().out


def test_a_sweep_driver_makes_the_paper_views_on_the_ray_it_starts(stand_ins, tiny_model_dir, monkeypatch) -> None:
    """The driver's prepare step hands Ray Data its own Ray start (init_ray with this experiment), called only
    when the views must be made and no Ray is up."""
    import inspect
    from types import SimpleNamespace

    pytest.importorskip("ray")
    from sct.data.backtranslation import ray_runner
    from sct.tune.run import lifecycle

    starter = lifecycle.ray_starter(SimpleNamespace(address="HOST:6379", dashboard=False, experiment="EXP"))
    bound = inspect.signature(lifecycle.init_ray).bind(*starter.args, **starter.keywords)
    assert bound.arguments == {"address": "HOST:6379", "dashboard": False, "experiment": "EXP"}

    class Started(Exception):
        pass

    def start() -> None:
        raise Started

    monkeypatch.setattr(ray_runner.ray, "is_initialized", lambda: False)
    with pytest.raises(Started):
        lifecycle.prepare_data([paper_config(stand_ins, tiny_model_dir)], start)
    views = paper_data.paper_views_file(stand_ins)
    views.parent.mkdir(parents=True, exist_ok=True)
    views.write_text("x\tT\tT2\n", encoding="utf-8")
    lifecycle.prepare_data([paper_config(stand_ins, tiny_model_dir)], start)  # cached: no Ray needed
