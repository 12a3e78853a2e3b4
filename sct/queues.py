"""Instance queues: fixed-size FIFO memories of past reference vectors (paper §3.2, "instance queue").

SCT scores every online vector against k past reference vectors D plus the current batch's reference
vectors. The released code keeps D as a tensor and rebuilds it each step with ``torch.cat((D, batch))[B:]``,
which re-allocates and copies the whole k x d queue per step. Here the queue is a ring buffer written in
place: ``ptr`` points at the oldest row, ``enqueue`` overwrites the oldest B rows and advances ``ptr``.
The softmax over the candidates is invariant to their order, so the loss reads ``vectors`` as stored;
``ordered()`` gives the released code's oldest-first order for tests and inspection.

Both ``vectors`` and ``ptr`` are buffers, so the queue state is saved in checkpoints (``state_dict``); a host
copy of ``ptr`` lets ``enqueue`` run without reading the device (no GPU sync per step).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class InstanceQueue(nn.Module):
    """A (size, dim) ring buffer of L2-normalised vectors, initialised to random unit rows.

    Args:
        size: number of slots k (>= 1). Any batch size works with any k: no ``k % B == 0`` assumption.
        dim: vector dimension d.
        generator: optional RNG for a reproducible random initialisation.
    """

    vectors: Tensor
    ptr: Tensor

    def __init__(self, size: int, dim: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"InstanceQueue size must be an integer >= 1, got {size!r}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"InstanceQueue dim must be an integer >= 1, got {dim!r}")
        init = torch.randn(size, dim, generator=generator)  # (k, d)
        self.register_buffer("vectors", nn.functional.normalize(init, dim=1))  # (k, d)
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self._start: int | None = 0  # host copy of ptr: enqueue never reads the device (no sync per step)

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super()._load_from_state_dict(*args, **kwargs)
        self._start = None  # re-read ptr once after loading a state

    def _pointer(self) -> int:
        if self._start is None:
            self._start = int(self.ptr)
        return self._start

    @property
    def size(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Write ``keys`` (B, d) over the oldest B slots, in place (exact FIFO, wrap-around).

        When B > k only the last k keys survive, exactly as ``cat((D, keys))[B:]`` would keep them.
        """
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"enqueue expects keys of shape (B, {self.dim}), got {tuple(keys.shape)}")
        k = self.size
        keys = keys.detach().to(device=self.vectors.device, dtype=self.vectors.dtype)
        if keys.shape[0] == 0:
            return
        if keys.shape[0] >= k:
            # Keep the newest k keys; after a full turn the oldest slot is the one at ptr again.
            start = self._pointer()
            newest = keys[-k:]  # (k, d)
            self.vectors[start:] = newest[: k - start]
            self.vectors[:start] = newest[k - start :]
            return
        b = keys.shape[0]
        start = self._pointer()
        first = min(b, k - start)
        self.vectors[start : start + first] = keys[:first]  # (first, d)
        if first < b:
            self.vectors[: b - first] = keys[first:]  # (B - first, d) wraps to the front
        self._start = (start + b) % k
        self.ptr.fill_(self._start)

    def ordered(self) -> Tensor:
        """The queue oldest first, (k, d): what the released code's concatenated tensor holds."""
        start = int(self.ptr)
        return torch.cat((self.vectors[start:], self.vectors[:start]))  # (k, d)

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"
