"""The loss ladder benchmark's versions compute the released loss and queue update (checked inside ``main``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ladder():
    from benchmarks import loss_ladder

    return loss_ladder


def test_every_version_matches_the_naive_port_and_is_timed(ladder, capsys) -> None:
    ladder.main(["--k", "300", "--batch", "16", "--dim", "8", "--repeats", "5", "--no-compile"])
    out = capsys.readouterr().out
    assert "all versions equal v0 to 1e-5" in out
    assert all(f" {name} " in out for name in ("v0_naive", "v2_ring_buffer", "v4_stacked", "v6_fused_chunked"))


def test_a_wrong_version_is_caught(ladder, monkeypatch) -> None:
    wrong = ladder.kl_log_targets
    monkeypatch.setattr(ladder, "kl_plain", lambda online, target, cands: 1.001 * wrong(online, target, cands))
    with pytest.raises(AssertionError, match="v1_no_clones loss differs from v0"):
        ladder.main(["--k", "300", "--batch", "16", "--dim", "8", "--repeats", "5", "--no-compile"])


def test_repeats_below_five_are_refused(ladder) -> None:
    with pytest.raises(SystemExit):
        ladder.main(["--k", "300", "--repeats", "3"])
