"""Whether one trial's resources fit a node, before any trial starts (Ray would wait for them forever).

Ray places a trial on one node; a request no node can hold is not an error for Ray, which repeats "No
available node types can fulfill resource request" and never starts the trial. So the per-trial request is
compared with the largest node first, and the answer depends on who owns the nodes:

- a local Ray (no ``--address``) runs on this machine and cannot grow: the request is *fitted* to the machine
  with a printed warning. The YAML files are sized for GPU boxes; a laptop or CI user running a size's file
  (or ``--smoke``) wants the sweep to run, and there is no other machine to wait for.
- a cluster (``--address``) was sized by its owner: a request no node holds is *refused* (exit 2, one line
  naming ``--cpus-per-trial``/``--gpus-per-trial`` and the nodes' resources). Shrinking it silently would
  change what each trial gets and the timings the user planned around. An autoscaling cluster whose nodes are
  not up yet is refused too: start the nodes (or pass smaller requests) first.

A GPU share asked of a cluster without any GPU is dropped (trials on CPU), as the YAML files say.
"""

from __future__ import annotations

import os

from sct.errors import UserError

FLAGS = {"cpu": "--cpus-per-trial", "gpu": "--gpus-per-trial"}
RAY_NAMES = {"cpu": "CPU", "gpu": "GPU"}  # our request keys -> Ray's resource names; custom names are Ray's


def this_machine() -> dict[str, float]:
    """What a local Ray started here would offer: the CPUs this process may use and the CUDA devices."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        gpus = 0
    return {"CPU": float(cpus), "GPU": float(gpus)}


def describe_nodes(nodes: list[dict[str, float]]) -> str:
    """``1 node: CPU 2, GPU 0`` or ``3 nodes, the largest: CPU 8, GPU 1`` (CPU/GPU and the requested names)."""
    largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0)), default={})
    shown = ", ".join(f"{name} {largest.get(name, 0.0):g}" for name in ("CPU", "GPU"))
    return f"1 node: {shown}" if len(nodes) == 1 else f"{len(nodes)} nodes, the largest: {shown}"


def _fits(request: dict[str, float], node: dict[str, float]) -> bool:
    return all(node.get(RAY_NAMES.get(name, name), 0.0) >= amount for name, amount in request.items() if amount)


def fit(request: dict[str, float], nodes: list[dict[str, float]], local: bool) -> tuple[dict[str, float], list[str]]:
    """The per-trial ``request`` (``cpu``, ``gpu`` and custom names) as it will run, and the warnings to print.

    Raises ``UserError`` when no node can ever hold it: on a cluster (``local`` False) for any resource, on a
    local Ray for a custom resource (this machine has none)."""
    out, notes = dict(request), []
    if out.get("gpu") and not any(n.get("GPU") for n in nodes):
        notes.append(f"no GPU in the Ray cluster: running trials on CPU only ({out['cpu']:g} CPUs each)")
        out["gpu"] = 0.0
    if any(_fits(out, node) for node in nodes):
        return out, notes
    wanted = ", ".join(f"{RAY_NAMES.get(name, name)} {amount:g}" for name, amount in out.items() if amount)
    custom = [name for name in out if name not in FLAGS and out[name]]
    where = "this machine's local Ray" if local else "the Ray cluster"
    if not local or any(not any(n.get(name) for n in nodes) for name in custom):
        hint = "lower --cpus-per-trial/--gpus-per-trial" if not custom else "check --resources-per-trial"
        raise UserError(
            f"no node of {where} ({describe_nodes(nodes)}) can run a trial asking {wanted}: {hint}, or add nodes"
        )
    largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0)))
    for name in ("cpu", "gpu"):
        have = largest.get(RAY_NAMES[name], 0.0)
        if out.get(name, 0.0) > have:
            notes.append(
                f"a trial asks {name.upper()} {out[name]:g} but this machine has {have:g}: running each trial with "
                f"{have:g} (set {FLAGS[name]} to choose)"
            )
            out[name] = have
    return out, notes


def describe_check(request: dict[str, float], address: str | None) -> list[str]:
    """The dry run's lines: the fit against this machine for a local Ray; with ``--address`` only a promise,
    since the cluster's nodes are known once the driver joins it."""
    if address:
        return [f"  checked against the nodes of the cluster at {address} when the sweep starts (exit 2 if none fits)"]
    try:
        _, notes = fit(request, [this_machine()], local=True)
    except UserError as err:
        return [f"  will refuse to start: {err}"]
    if not notes:
        return [f"  fits this machine ({describe_nodes([this_machine()])})"]
    return [f"  warning: {note}" for note in notes]


def schedulable(request: dict[str, float], local: bool, nodes: list[dict[str, float]]) -> dict[str, float]:
    """:func:`fit` against the Ray cluster's ``nodes`` (:func:`sct.tune.run.lifecycle.ray_nodes`), its
    warnings printed; the request trials will use."""
    fitted, notes = fit(request, nodes, local)
    for note in notes:
        print(f"warning: {note}" if "no GPU" not in note else note)
    return fitted
