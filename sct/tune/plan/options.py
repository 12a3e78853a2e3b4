"""The flags ``sct.sweep`` and ``sct.ablate`` share, and what they mean for the plan: the base config's
overrides (smoke settings < config flags and ``--set`` < ``--seed``), the resources per trial, the options of
the experiment's spec."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from sct import cli
from sct.config import SCTConfig
from sct.config_io import config_to_dict
from sct.tune.experiment import Experiment
from sct.tune.plan.smoke import SMOKE_OVERRIDES, SMOKE_TRIAL_CPUS
from sct.tune.plan.spec import KEEP_MODELS, TrialPayload

TRAINER = "sct.trainer:train"  # what every trial runs (MODULE:FUNCTION); tests/tune/fake_sweep.py swaps it


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``sct.sweep`` and ``sct.ablate`` (config flags come from :mod:`sct.cli`)."""
    cli.add_config_args(parser, max_steps=False)
    add = parser.add_argument
    add("--storage", default="./sct_runs", help="experiment root, shared by all nodes (default ./sct_runs)")
    add("--tracking-uri", help="MLflow tracking URI (default sqlite:///<storage>/mlflow.db)")
    add("--experiment", help="experiment name (Ray experiment dir and MLflow experiment)")
    add("--address", default=os.environ.get("RAY_ADDRESS"), help="running Ray cluster (default $RAY_ADDRESS)")
    add("--max-concurrent", type=int, help="trials running at once")
    add("--cpus-per-trial", type=float, help="CPUs per trial (default from the YAML file)")
    add("--gpus-per-trial", type=float, help="GPU fraction per trial (default from the YAML file)")
    add(
        "--resources-per-trial",
        type=_custom_resources,
        metavar="JSON",
        help="custom Ray resources per trial, e.g. '{\"worker_node\": 0.5}': trials run only on nodes started "
        "with ray start --resources",
    )
    add("--seed", type=int, help="training seed (and the Optuna sampler's seed)")
    add("--resume", action="store_true", help="continue an interrupted experiment")
    add("--dry-run", action="store_true", help="print the plan and exit without starting Ray")
    add("--smoke", action="store_true", help="a few steps and trials: checks the set-up in minutes on a CPU")
    add("--dashboard", action="store_true", help="start Ray's dashboard with a local Ray (off by default)")
    add("--verbose", action="store_true", help="Ray's own progress table and the libraries' warnings too")
    add("--register", metavar="NAME", help="also register the best model in MLflow's model registry as NAME")
    add(
        "--keep-models",
        choices=KEEP_MODELS,
        help="trial models kept when the experiment ends: every finished trial's (all, the default) or the best "
        "trial's of the sweep / of each ablation row (best, the default with --smoke); metrics and MLflow runs "
        "are always kept",
    )
    cli.add_debug_arg(parser)


def trial_payload(
    exp: Experiment, kind: str, base: SCTConfig, size: str | None, resources: dict[str, float], **grid: Any
) -> TrialPayload:
    """What every trial of ``exp`` reads: the resolved base config, where trials live, the trial function
    (:data:`TRAINER`) and its threads; ``grid``: a grid's ``rows`` and ``paper_delta``."""
    return TrialPayload(
        base=config_to_dict(base),
        kind=kind,
        trials_root=str(exp.trials_root),
        size=size,
        train_fn=TRAINER,
        cpus=resources["cpu"],
        **grid,
    )


def spec_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ExperimentSpec fields that come straight from the common flags."""
    return {
        "dashboard": args.dashboard,
        "verbose": args.verbose,
        "register": args.register,
        "keep_models": keep_models(args),
        "live_view": not getattr(args, "study_size", None),  # a study's size driver: the study shows the view
    }


def keep_models(args: argparse.Namespace) -> str:
    """``--keep-models`` as given, else ``best`` for a ``--smoke`` run (a set-up check: its models are not
    results worth the disk) and ``all`` otherwise."""
    return args.keep_models or ("best" if args.smoke else "all")


def describe_keep(keep: str) -> str:
    """The dry run's line about the trial models an experiment keeps."""
    which = "the best trial's of the sweep / of each row" if keep == "best" else "every finished trial's"
    return f"trial models kept at the end: {which} (--keep-models {keep}; default all, best with --smoke)"


def base_overrides(args: argparse.Namespace, storage: Path) -> dict[str, Any]:
    """Smoke settings < config flags and ``--set`` < ``--seed``; the data cache under the storage root."""
    out = (SMOKE_OVERRIDES if args.smoke else {}) | cli.config_overrides(args)
    if args.seed is not None:
        out["optim.seed"] = args.seed
    out.setdefault("data.cache_dir", str(storage / "cache"))
    return out


def trial_resources(resources: dict[str, float], args: argparse.Namespace) -> dict[str, float]:
    """Per-trial resources from the YAML file, 1 CPU for smoke runs, overridden by the resource flags."""
    out = {"cpu": float(resources.get("cpu", 1.0)), "gpu": float(resources.get("gpu", 0.0))}
    if args.smoke:
        out["cpu"] = SMOKE_TRIAL_CPUS
    if args.cpus_per_trial is not None:
        out["cpu"] = args.cpus_per_trial
    if args.gpus_per_trial is not None:
        out["gpu"] = args.gpus_per_trial
    return out | (getattr(args, "resources_per_trial", None) or {})


def describe_resources(resources: dict[str, float]) -> str:
    """``cpu 1, gpu 0.25, worker_node 1`` for the plan printed by ``--dry-run``."""
    return ", ".join(f"{name} {amount:g}" for name, amount in resources.items())


def _custom_resources(text: str) -> dict[str, float]:
    """``--resources-per-trial``: a JSON object of custom resource names to amounts (not CPU/GPU)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in value.values()):
        raise argparse.ArgumentTypeError('expected a JSON object of positive amounts, e.g. {"worker_node": 0.5}')
    reserved = sorted(k for k in value if k.lower() in ("cpu", "gpu", "memory"))
    if reserved:
        raise argparse.ArgumentTypeError(f"{reserved[0]!r}: use --cpus-per-trial / --gpus-per-trial")
    return {str(k): float(v) for k, v in value.items()}
