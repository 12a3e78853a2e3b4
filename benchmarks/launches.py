"""Launch-count proxy of the loss + queue step: naive port vs per-term plain kernel vs paired kernel.

On CUDA the loss + queue step is launch-bound (B = 128, d = 128 on an H200: ~1.7 ms for well under 1 GFLOP),
so what decides it is how many ops are dispatched and kernels launched, not FLOPs. This script measures
that on any device. Each row is one step of both view terms of L_SCT (KL, cross pairing, two queues,
w = 0.5), forward + backward + queue update, exactly as ``benchmarks/step.py``'s ``loss_fast`` /
``loss_naive`` rows (the online grads accumulate step to step in every row alike):

- ``naive``: ``benchmarks/naive_loss.py`` (the released arithmetic; queues renewed by ``cat(...)[B:]``);
- ``plain``: :func:`sct.losses.cross_view_loss` with the per-term plain kernel (the eager CUDA path before
  the paired kernel) and :class:`sct.queues.InstanceQueue` ring buffers;
- ``paired``: the same with :func:`sct.losses.paired.paired_candidate_loss` (the eager CUDA path now);
- ``chunked``: the same with the chunked kernel (the CPU path; on CPU only).

The kernel of each row is forced by patching the two selection functions around the timed call, so all
rows run on any device. Counted per step with ``torch.profiler`` (one profiled step after warm-up):

- ``aten``: every ``aten::`` op the dispatcher ran, nested calls included (the host-side overhead proxy);
- ``kernels``: ops that would be device kernels: an ``aten::`` op counts if none of its ``aten::`` children
  counts and it is not a view or an allocation (its schema returns an alias without writing, e.g.
  ``view``/``transpose``/``expand``/``detach``/a no-op ``to``; or it is ``empty``/``empty_strided``/
  ``resize_``/``set_``). So ``cat`` counts once, ``to`` counts its ``copy_``, ``cross_entropy`` counts its
  ``_log_softmax`` and ``nll_loss_forward``; a ``to`` that wraps a Python number (``x * 0.5``) is host work
  and does not count. A proxy: an op that runs a fill and then its own kernel counts once, a large CPU
  ``sum`` counts twice (``fill_`` + ``copy_`` of its per-thread partials), and a CUDA library call may
  launch more than one kernel;
- ``cuda`` (``--device cuda`` only): the kernels, memcpys and memsets the GPU actually ran, from the
  profiler's device events — the real launch count.

Timings: medians (and minima) of ``--repeats`` samples per row, rows interleaved within each repeat so a
shared machine's load hits every row alike; each sample runs ``inner`` steps (enough for ~5 ms of the naive
row) and reports ms per step. Usage::

    python benchmarks/launches.py [--device cpu|cuda] [--shapes 8,16,64 128,128,16384] [--repeats 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from naive_loss import naive_cross_view_loss  # noqa: E402

from sct.losses import candidates, cross_view_loss, paired  # noqa: E402
from sct.losses.candidates import chunked_candidate_loss  # noqa: E402
from sct.losses.fused import plain_candidate_loss  # noqa: E402
from sct.queues import InstanceQueue  # noqa: E402

ROWS = ("naive", "plain", "paired", "chunked")
TAU_ONLINE, TAU_TARGET = 0.04, 0.03
FORCED = {  # row -> (per-term kernel, paired kernel or None)
    "plain": (plain_candidate_loss, None),
    "paired": (plain_candidate_loss, paired.paired_candidate_loss),
    "chunked": (chunked_candidate_loss, None),
}
NO_KERNEL = {  # allocations and host-side helpers: no kernel on any device
    "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::new_empty", "aten::new_empty_strided",
    "aten::resize_", "aten::set_", "aten::lift_fresh",
}  # fmt: skip


@contextmanager
def forced(row: str) -> Iterator[None]:
    """Run ``row``'s kernel whatever the device (module attributes restored on exit)."""
    if row not in FORCED:
        yield
        return
    per_term, pair = FORCED[row]
    saved = candidates.select_kernel, paired.select_pair_kernel
    candidates.select_kernel = lambda device, compiling=None: per_term
    paired.select_pair_kernel = lambda device, compiling=None: pair
    try:
        yield
    finally:
        candidates.select_kernel, paired.select_pair_kernel = saved


def make_step(row: str, b: int, d: int, k: int, device: torch.device) -> Callable[[], None]:
    """One step of ``row``: loss of both views, backward, queue update (as benchmarks/step.py)."""
    torch.manual_seed(0)
    online = [F.normalize(torch.randn(b, d, device=device), dim=1).requires_grad_() for _ in range(2)]
    targets = [F.normalize(torch.randn(b, d, device=device), dim=1) for _ in range(2)]
    if row == "naive":
        state = [F.normalize(torch.randn(k, d, device=device), dim=1) for _ in range(2)]

        def naive() -> None:
            loss, state[0], state[1] = naive_cross_view_loss(
                *online, *targets, *state, tau_online=TAU_ONLINE, tau_target=TAU_TARGET
            )
            loss.backward()

        return naive
    queues = [InstanceQueue(k, d).to(device) for _ in range(2)]

    def fast() -> None:
        loss = cross_view_loss(
            *online, *targets, *(q.vectors for q in queues), tau_online=TAU_ONLINE, tau_target=TAU_TARGET
        )
        loss.backward()
        for queue, target in zip(queues, targets, strict=True):
            queue.enqueue(target)

    return fast


_view_cache: dict[str, bool] = {}


def is_view_or_alloc(name: str) -> bool:
    """Whether the ``aten::`` op ``name`` launches no kernel: an allocation, a host-side op that returns no
    tensor (``promote_types``, ``size``), or a view (its tensor-returning overloads all return aliases of
    an input without writing them: ``view``, ``slice``, ``transpose``, ``expand``, ``detach``, ``to``...)."""
    if name in NO_KERNEL:
        return True
    if name not in _view_cache:
        packet = getattr(torch.ops.aten, name.removeprefix("aten::"), None)
        schemas = [] if packet is None else [getattr(packet, overload)._schema for overload in packet.overloads()]
        tensor_schemas = [s for s in schemas if any("Tensor" in str(r.type) for r in s.returns)]
        if not tensor_schemas:
            views = packet is not None and name != "aten::_local_scalar_dense"  # .item(): a device-to-host copy
        else:
            views = all(
                all(r.alias_info is not None and not r.alias_info.is_write for r in s.returns) for s in tensor_schemas
            )
        _view_cache[name] = views
    return _view_cache[name]


def is_scalar_wrap(event, parent) -> bool:  # noqa: ANN001 (profiler FunctionEvents)
    """A ``to`` of a 0-dim input inside another op: a Python number wrapped as a CPU scalar tensor and cast
    (e.g. ``x * 0.5``); host work on every device, so not a launch."""
    if event.name != "aten::to" or parent is None or parent.name == "aten::to":
        return False
    shapes = getattr(event, "input_shapes", None) or [[0]]
    return list(shapes[0]) == []


def kernel_ops(event, parent=None) -> list[str]:  # noqa: ANN001 (profiler FunctionEvents)
    """The kernel-like ops under (and including) ``event``, per the module docstring's rule."""
    if is_scalar_wrap(event, parent):
        return []
    below = [
        name for child in event.cpu_children if child.name.startswith("aten::") for name in kernel_ops(child, event)
    ]
    if below:
        return below
    return [] if is_view_or_alloc(event.name) else [event.name]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def count_ops(step: Callable[[], None], row: str, device: torch.device) -> dict[str, object]:
    """Profile one step of ``row``: aten ops, kernel-like ops (with their names), device events on CUDA."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof, forced(row):
        step()
        sync(device)
    events = prof.events()
    aten = [e for e in events if e.name.startswith("aten::")]
    roots = [e for e in aten if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")]
    kernels = [name for root in roots for name in kernel_ops(root)]
    on_device = [e for e in events if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA]
    cuda = len(on_device) if device.type == "cuda" else None
    return {"aten": len(aten), "kernels": len(kernels), "names": kernels, "cuda": cuda}


def time_rows(steps: dict[str, Callable[[], None]], device: torch.device, repeats: int) -> dict[str, list[float]]:
    """ms per step: ``repeats`` samples per row, rows interleaved in each repeat, ``inner`` steps a sample."""
    for row, step in steps.items():  # warm-up (allocator, BLAS handles, first-call paths)
        with forced(row):
            for _ in range(3):
                step()
    sync(device)
    start = time.perf_counter()
    with forced("naive"):
        steps["naive"]()
    sync(device)
    inner = max(1, round(0.005 / (time.perf_counter() - start)))
    times: dict[str, list[float]] = {row: [] for row in steps}
    for _ in range(repeats):
        for row, step in steps.items():
            with forced(row):
                sync(device)
                start = time.perf_counter()
                for _ in range(inner):
                    step()
                sync(device)
                times[row].append(1000 * (time.perf_counter() - start) / inner)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--shapes", nargs="+", default=["8,16,64", "128,128,16384"], help="B,d,k triples")
    parser.add_argument("--rows", nargs="+", choices=ROWS, help="default: all (chunked on CPU only)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--names", action="store_true", help="also print each row's kernel-like ops in order")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    rows = args.rows or [row for row in ROWS if row != "chunked" or device.type == "cpu"]
    if "naive" not in rows:
        parser.error("--rows must include naive (the baseline of the ratios)")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} repeats={args.repeats}")
    print(
        f"{'B,d,k':>14} {'row':<8} {'median ms':>10} {'min ms':>8} {'aten':>6} {'kernels':>8} {'cuda':>6} "
        f"{'naive/row':>10}"
    )
    for shape in args.shapes:
        b, d, k = (int(x) for x in shape.split(","))
        steps = {row: make_step(row, b, d, k, device) for row in rows}
        times = time_rows(steps, device, args.repeats)
        counts = {row: count_ops(step, row, device) for row, step in steps.items()}
        med = {row: statistics.median(t) for row, t in times.items()}
        for row in rows:
            c = counts[row]
            cuda = "-" if c["cuda"] is None else str(c["cuda"])
            print(
                f"{shape:>14} {row:<8} {med[row]:>10.3f} {min(times[row]):>8.3f} {c['aten']:>6} {c['kernels']:>8} "
                f"{cuda:>6} {med['naive'] / med[row]:>9.2f}x",
                flush=True,
            )
        if "plain" in med and "paired" in med:
            kernels = f"{counts['plain']['kernels']} -> {counts['paired']['kernels']} kernel-like ops"
            print(f"{shape:>14} plain/paired = {med['plain'] / med['paired']:.2f}x ({kernels})", flush=True)
        if args.names:
            for row in rows:
                print(f"{shape:>14} {row}: {' '.join(n.removeprefix('aten::') for n in counts[row]['names'])}")


if __name__ == "__main__":
    main()
