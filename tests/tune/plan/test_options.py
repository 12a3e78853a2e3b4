"""The flags sct.sweep and sct.ablate share: the trial function is no user flag; the tests' stand-in is swapped
in by tests/tune/fake_sweep.py."""

from __future__ import annotations

import pytest

from sct import ablate, sweep
from sct.tune.plan import options
from tests.tune import fake_sweep


@pytest.mark.parametrize(("command", "argv"), [(sweep, ["bert-tiny"]), (ablate, ["table4", "--model", "bert-tiny"])])
def test_no_trainer_flag_in_the_help(command, argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit):
        command.main(["--help"])
    assert "--trainer" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit:
        command.main([*argv, "--trainer", "x:y"])
    assert exit.value.code == 2 and "unrecognized arguments: --trainer x:y" in capsys.readouterr().err


def test_fake_sweep_takes_the_last_trainer_and_restores_the_real_one() -> None:
    spec, rest = fake_sweep.split_trainer(["bert-tiny", "--trainer", "a:b", "--smoke", "--trainer=c:d"])
    assert (spec, rest) == ("c:d", ["bert-tiny", "--smoke"])
    with fake_sweep.trainer(spec):
        assert options.TRAINER == "c:d"
    assert options.TRAINER == "sct.trainer:train"
