"""Ablation grids: the shipped tables load, each row changes only what it names, bad rows are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sct.config import SCTConfig
from sct.config_io import flatten
from sct.tune.plan.grids import load_grid

SHIPPED = {"table4": 13, "table6": 6, "table7": 8, "queue_size": 12}


def changed_keys(a: SCTConfig, b: SCTConfig) -> set[str]:
    fa, fb = flatten(a), flatten(b)
    return {k for k in fa if fa[k] != fb[k]}


@pytest.mark.parametrize(("name", "count"), SHIPPED.items())
def test_each_row_changes_only_what_it_names(name: str, count: int) -> None:
    grid = load_grid(name)
    assert len(grid.rows) == count and grid.baseline in [r.name for r in grid.rows]
    teacher = "/abs/teacher" if "${teacher}" in grid.common.values() else None
    common = grid.common_config(SCTConfig(), teacher)
    for row in grid.rows:
        resolved = grid.row_config(SCTConfig(), row.name, teacher)
        expected = {k for k, v in row.overrides.items() if flatten(common)[k] != (teacher if v == "${teacher}" else v)}
        assert changed_keys(resolved, common) == expected
        filled = {k: teacher if v == "${teacher}" else v for k, v in row.overrides.items()}
        assert all(flatten(resolved)[k] == v for k, v in filled.items())


def test_table4_rows_are_the_papers_switches() -> None:
    grid = load_grid("table4")
    overrides = {r.name: r.overrides for r in grid.rows}
    assert overrides["sct"] == {} and overrides["no_queue"] == {"method.queues": "none"}
    assert {r.overrides.get("data.augmentation") for r in grid.rows} >= {"dropout", "mlm", "synonym"}


TINY, SMALL = "bert-tiny", "bert-small"
# (grid, the row's overrides) -> published (BERT-Tiny, BERT-Small) Δ against the baseline (arXiv 2311.03228).
PAPER = {
    "table4": {
        (): (0.0, 0.0),
        (("method.objective", "contrastive"),): (-5.30, -10.52),
        (("method.pairing", "identical"),): (-7.82, -3.69),
        (("method.reference", "momentum"),): (-1.29, -1.06),
        (("method.divergence", "ce"),): (-0.20, -0.32),
        (("method.head", "none"),): (-1.77, -3.67),
        (("method.queues", "one"),): (-2.85, -1.21),
        (("method.queues", "frozen"),): (-3.85, -2.76),
        (("method.queues", "none"),): (-3.38, -2.29),
        (("data.augmentation", "mlm"),): (-3.82, -1.87),
        (("data.augmentation", "synonym"),): (-7.95, -3.15),
        (("data.augmentation", "dropout"),): (-5.42, -3.11),
        (("data.augmentation", "same"),): (-5.66, -2.47),
    },
    "table6": {
        (): (0.0, 0.0),
        (("method.objective", "contrastive"),): (-6.03, -3.26),
        (("method.pairing", "identical"),): (-3.97, -1.43),
        (("method.reference", "momentum"),): (-3.62, -0.97),
        (("method.divergence", "ce"),): (-3.43, -0.98),
        (("method.head", "none"),): (-4.14, -2.46),
    },
}
BASELINE = {"table4": (69.73, 72.56), "table6": (76.43, 78.16)}


@pytest.mark.parametrize("name", PAPER)
def test_grid_rows_carry_the_papers_numbers(name: str) -> None:
    grid = load_grid(name)
    by_overrides = {tuple(sorted(r.overrides.items())): r.name for r in grid.rows}
    assert set(by_overrides) == set(PAPER[name])  # exactly the paper's rows, no more
    for overrides, (tiny, small) in PAPER[name].items():
        row = by_overrides[overrides]
        assert grid.paper_delta(row, TINY) == pytest.approx(tiny) and grid.paper_delta(row, SMALL) == pytest.approx(
            small
        )
    assert (grid.row(grid.baseline).paper_score[TINY], grid.row(grid.baseline).paper_score[SMALL]) == BASELINE[name]
    assert load_grid("table7").row("cd_sct").paper_score == dict(zip((TINY, SMALL), BASELINE["table6"], strict=True))


def test_queue_size_notes_mark_the_best_k() -> None:
    notes = {r.overrides["method.queue_size"]: r.note for r in load_grid("queue_size").rows}
    assert "BERT-Tiny" in notes[131072] and "BERT-Small" in notes[65536] and "all models" in notes[16384]


def test_table7_paper_delta_comes_from_published_scores() -> None:
    grid = load_grid("table7")
    assert grid.common == {"distill.teacher": "${teacher}"} and grid.baseline == "cd_sct"
    assert grid.paper_delta("cd_sct", "bert-tiny") == 0.0
    assert grid.paper_delta("congen", "bert-small") == pytest.approx(77.31 - 78.16)
    assert grid.paper_delta("mse", "bert-mini") is None
    assert grid.row_config(SCTConfig(), "ckd", "/t").distill.loss == "ckd"


def test_queue_size_grid_spans_figure4() -> None:
    ks = [r.overrides["method.queue_size"] for r in load_grid("queue_size").rows]
    assert ks[0] == 128 and ks[-1] == 262144 and all(b == 2 * a for a, b in zip(ks, ks[1:], strict=False))


def test_teacher_grids_need_a_teacher() -> None:
    with pytest.raises(ValueError, match="grid 'table6' needs a teacher: pass --teacher"):
        load_grid("table6").row_config(SCTConfig(), "sct_distill")


def write(tmp_path: Path, rows: list) -> str:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "rows": rows}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"name": "sct", "note": "x"}, {"name": "lstm", "overrides": {"method.objective": "lstm"}, "note": "x"}],
            r"row 'lstm' is not available \(variant not implemented\): .*method.objective.*'lstm'.*allowed one of",
        ),
        ([{"name": "sct"}], r"row 'sct' has no paper number: give paper_delta/paper_score or a note"),
        ([{"name": "a", "note": "x"}, {"name": "a", "note": "y"}], r"duplicate row name 'a'"),
        ([{"name": "a", "note": "x", "paper_delta": {"bert-huge": 1}}], r"key 'rows\[0\].paper_delta.bert-huge'"),
        ([{"name": "a", "note": "x", "extra": 1}], r"unknown key 'rows\[0\].extra'"),
        ([], r"key 'rows' has invalid value \[\]"),
    ],
)
def test_bad_grids_are_refused(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_grid(write(tmp_path, rows))
