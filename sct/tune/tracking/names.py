"""Names and tags of MLflow runs and experiments, in one place, so the MLflow UI says what each run is.

A sweep child is named by its trial number and the values Optuna chose (``t03 lr=3e-4 k=65536 τref=.02
τθ=.03``), an ablation child by its row and seed (``contrastive s=43``), a seed re-run of a sweep's best
config ``best s=44``, and the parent run after the experiment. Inputs are plain values (no Ray objects), so
the driver, the trainable and the report all name a run the same way.

The MLflow 3.x UI opens an experiment on its GenAI pages unless told otherwise: :func:`experiment_tags`
marks the experiment as model training and :func:`experiment_url` builds the link that opens its runs
table in the "Machine learning" view (see the docstrings for why both are needed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sct.tune.vocabulary import ABLATION, SEEDS, SWEEP, TRIAL_NUMBER

# Short labels of the searched flat config keys; any other key is labelled by its last component.
SHORT_KEYS: dict[str, str] = {
    "optim.lr": "lr",
    "method.queue_size": "k",
    "method.tau_ref": "τref",
    "method.tau_online": "τθ",
    "optim.seed": "s",
}
# Keys whose values are counts: printed as integers even when Optuna hands back a float.
INTEGER_KEYS = frozenset({"method.queue_size", "optim.seed", "optim.batch_size", "optim.epochs"})
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND_ML = "custom_model_development"
ML_WORKFLOW_QUERY = "workflowType=machine_learning"
_TRIAL_COUNTER = re.compile(r"_(\d+)$")
_TAG_COUNTER = re.compile(r"^(\d+)(?:_|$)")


def short_number(value: Any) -> str:
    """A value as it reads best in a run name: floats to 2 significant digits, no leading zero, short exponent.

    ``3e-4`` -> ``3e-4``, ``0.0312`` -> ``.031``, ``2.5`` -> ``2.5``, ``65536`` -> ``65536``, ``-0.5`` ->
    ``-.5``; integers, booleans and strings are printed as they are.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 100:
        return f"{value:.0f}"
    if size >= 1:
        text = f"{value:.2g}"
        return f"{value:.0f}" if "e" in text else text
    if size >= 0.01:
        text = f"{value:.2g}"
        return text.replace("0.", ".", 1)
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def short_key(key: str) -> str:
    """The label of flat config key ``key`` in a run name (``method.tau_ref`` -> ``τref``)."""
    return SHORT_KEYS.get(key, key.rsplit(".", 1)[-1])


def format_value(key: str, value: Any) -> str:
    """``value`` of ``key`` as in a run name: counts as integers, other numbers by :func:`short_number`."""
    if key in INTEGER_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            return str(int(round(value)))
    return short_number(value)


def format_values(values: Mapping[str, Any]) -> str:
    """``lr=3e-4 k=65536 τref=.02 τθ=.03``: searched values in the order given, ``label=value`` each."""
    return " ".join(f"{short_key(key)}={format_value(key, value)}" for key, value in values.items())


def trial_label(index: int, total: int | None = None) -> str:
    """``t03``: trial ``index`` zero-padded to two digits (more when ``total`` needs them)."""
    if index < 0:
        raise ValueError(f"trial index must be >= 0, got {index}")
    width = max(2, len(str(max(total - 1, 0)))) if total else 2
    return f"t{index:0{width}d}"


def trial_index(trial_id: str, experiment_tag: str = "") -> int | None:
    """The trial's 0-based order in its experiment, or None. Ray's grid search ends the trial id with it
    (``6a1b2_00003`` -> 3); Ray 2.60's searcher (Optuna) gives random ids and puts a counter from 1 at the
    start of the trial's ``experiment_tag`` instead (``4_lr=0.0003`` -> 3, as Optuna numbers that trial)."""
    match = _TRIAL_COUNTER.search(trial_id)
    if match:
        return int(match.group(1))
    match = _TAG_COUNTER.match(experiment_tag)
    return int(match.group(1)) - 1 if match and int(match.group(1)) > 0 else None


def experiment_tag(trial: Any) -> str:
    """A Ray trial's ``experiment_tag`` (``4_lr=0.0003,...``; "" when absent), for :func:`trial_index`."""
    return str(getattr(trial, "experiment_tag", "") or "")


def sweep_run_name(index: int, values: Mapping[str, Any], *, total: int | None = None) -> str:
    """A sweep child: ``t03 lr=3e-4 k=65536 τref=.02 τθ=.03`` (trial number, then the searched values)."""
    label = trial_label(index, total)
    return f"{label} {format_values(values)}" if values else label


def ablation_run_name(row: str, seed: int) -> str:
    """An ablation child: ``contrastive s=43`` (grid row, then the seed)."""
    return f"{row} s={int(seed)}"


def trial_run_name(
    kind: str, trial_id: str, choices: Mapping[str, Any], *, total: int | None = None, experiment_tag: str = ""
) -> str:
    """The child-run name of one Tune trial, from plain values: the trainable's one call.

    ``kind`` is ``sweep``, ``ablation`` or ``seeds``; ``choices`` the trial's own config entries (the
    searched flat keys and ``trial`` for a sweep, ``row`` and ``seed`` for a grid). The sweep's trial number is
    its number in the Optuna study (``trial``), else its creation order (:func:`trial_index`, from ``trial_id``
    or the trial's ``experiment_tag``).
    """
    if kind == SWEEP:
        number = choices.get(TRIAL_NUMBER)  # the study's trial number, set by the searcher
        index = int(number) if number is not None else trial_index(trial_id, experiment_tag)
        values = {k: v for k, v in choices.items() if "." in k}
        return (
            sweep_run_name(index, values, total=total) if index is not None else f"{trial_id} {format_values(values)}"
        )
    if kind in (ABLATION, SEEDS):
        if "row" not in choices or "seed" not in choices:
            raise ValueError(f"{kind} trial: its config needs 'row' and 'seed', got keys {sorted(choices)}")
        return ablation_run_name(str(choices["row"]), int(choices["seed"]))
    raise ValueError(f"unknown trial kind {kind!r}: expected 'sweep', 'ablation' or 'seeds'")


def experiment_tags() -> dict[str, str]:
    """Tags for a new experiment: ``mlflow.experimentKind = custom_model_development`` (model training).

    The MLflow 3 UI stores an experiment's kind in this tag (its "experiment type" prompt writes it) and,
    where it reads it, opens ``custom_model_development`` experiments on the runs table instead of the GenAI
    Overview/Traces pages. Newer UIs (3.17 checked) take the kind from the sidebar's GenAI / Machine learning
    toggle instead, a per-browser setting defaulting to GenAI: give people :func:`experiment_url`.
    """
    return {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND_ML}


def experiment_url(ui_base: str, experiment_id: str) -> str:
    """The link that opens the experiment's runs table in the UI's machine-learning view.

    ``ui_base`` is where ``mlflow ui`` / ``mlflow server`` listens (``http://127.0.0.1:5000``). The
    ``workflowType=machine_learning`` query parameter overrides the browser's GenAI default for this page;
    older UIs ignore it and still land on the runs tab the URL names.
    """
    base = ui_base.rstrip("/")
    return f"{base}/#/experiments/{experiment_id}/runs?{ML_WORKFLOW_QUERY}"
