"""The cross-size table's cells and the plot, from results built in code (the recorded-runs test is
tests/tune/test_sizes_study.py)."""

from __future__ import annotations

from pathlib import Path

from sct.tune.report.size_plot import size_plot
from sct.tune.report.sizes import SizeResult, notes, sizes_table


def result(name: str, size: str | None, lr: float, gpu_hours: float | None = 0.5) -> SizeResult:
    point = {"optim.lr": lr, "method.queue_size": 65536.0, "method.tau_ref": 0.02, "method.tau_online": 0.05}
    top = [point, {**point, "optim.lr": lr * 2}, {**point, "method.tau_ref": 0.07}]
    metrics = {"best_stsb_dev": 80.123, "test_avg": 70.0} | {f"test_{t}": 70.0 for t in ("sts12", "stsb")}
    return SizeResult(name, size, point, metrics, top, 3, 2.0, gpu_hours, 1, ["sts12", "stsb"])


def test_rows_smallest_model_first_with_the_papers_values() -> None:
    table = sizes_table([result("b", "bert-small", 1e-4), result("a", "bert-tiny", 2e-4, None)])
    assert [row["size"] for row in table] == ["bert-tiny", "bert-small"]
    tiny, small = table
    assert (tiny["lr"], tiny["paper_lr"], tiny["k"], small["paper_k"]) == ("0.0002", "0.0005", "65536", "65536")
    assert (small["paper_tau_ref"], small["paper_tau_online"], small["params_M"]) == ("0.02", "0.03", "28.8")
    assert (small["stsb_dev"], small["test_stsb"], small["paper_stsb"], small["paper_avg7"]) == (
        "80.12", "70.00", "75.33", "72.56",
    )  # fmt: skip
    assert small["avg7"] == "n/a" and tiny["gpu_hours"] == "n/a" and small["gpu_hours"] == "0.5"


def test_custom_model_has_no_paper_values_and_notes_name_partial_tests() -> None:
    (row,) = sizes_table([result("c", None, 1e-4)])
    assert row["size"] == "custom" and row["paper_lr"] == row["paper_avg7"] == row["params_M"] == "n/a"
    assert any("c (sts12, stsb)" in note for note in notes([result("c", None, 1e-4)]))


def test_plot_needs_a_paper_size(tmp_path: Path) -> None:
    assert size_plot([result("c", None, 1e-4)], tmp_path / "none.png") is None
    path = size_plot([result("a", "bert-tiny", 2e-4), result("b", "bert-mini", 1e-4)], tmp_path / "sizes.png")
    assert path is not None and path.stat().st_size > 10_000
