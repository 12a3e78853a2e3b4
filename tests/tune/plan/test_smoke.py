"""``--smoke`` settings come from :mod:`sct.tune.plan.smoke`: the config, the sweep space and the trial resources."""

from __future__ import annotations

import argparse

from sct.tune.plan.options import add_common_args, base_overrides, trial_resources
from sct.tune.plan.smoke import SMOKE_OVERRIDES, SMOKE_QUEUE_SIZE, SMOKE_TRIAL_CPUS, smoke_space
from sct.tune.plan.spaces import load_space


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_common_args(parser)
    return parser.parse_args(list(argv))


def test_a_smoke_sweep_searches_around_the_smoke_queue(tmp_path) -> None:
    space = smoke_space(load_space("bert-tiny"))
    (queue,) = [p for p in space.params if p.key == "method.queue_size"]
    assert SMOKE_QUEUE_SIZE in queue.values and SMOKE_OVERRIDES["method.queue_size"] == SMOKE_QUEUE_SIZE
    assert [p["method.queue_size"] for p in space.points if "method.queue_size" in p] == [SMOKE_QUEUE_SIZE]
    assert space.budget["num_samples"] == 2


def test_smoke_overrides_yield_to_flags_and_resources_to_resource_flags(tmp_path) -> None:
    overrides = base_overrides(parse("--smoke", "--set", "optim.max_steps=9"), tmp_path)
    assert overrides["optim.max_steps"] == 9 and overrides["eval.every_steps"] == SMOKE_OVERRIDES["eval.every_steps"]
    assert "optim.max_steps" not in base_overrides(parse(), tmp_path)
    assert trial_resources({"cpu": 4}, parse("--smoke"))["cpu"] == SMOKE_TRIAL_CPUS
    assert trial_resources({"cpu": 4}, parse("--smoke", "--cpus-per-trial", "2"))["cpu"] == 2
