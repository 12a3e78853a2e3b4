"""InstanceQueue: random unit init, exact FIFO against the released ``cat(queue, keys)[B:]``, checkpoints."""

from __future__ import annotations

import io

import pytest
import torch

from sct.queues import InstanceQueue


def test_init_is_random_unit_rows_and_seeded() -> None:
    a = InstanceQueue(50, 8, generator=torch.Generator().manual_seed(3))
    b = InstanceQueue(50, 8, generator=torch.Generator().manual_seed(3))
    assert a.vectors.shape == (50, 8) and int(a.ptr) == 0
    torch.testing.assert_close(a.vectors.norm(dim=1), torch.ones(50))
    torch.testing.assert_close(a.vectors, b.vectors)
    assert not torch.allclose(a.vectors, InstanceQueue(50, 8).vectors)


@pytest.mark.parametrize(
    ("size", "batches"),
    [
        (10, [3, 3, 3, 3, 3, 2]),  # k % B != 0, wraps twice, last smaller batch
        (7, [4, 4, 4, 1, 6]),
        (5, [8, 2, 5, 12]),  # B > k keeps the newest k, B == k
        (1, [1, 3, 1]),
    ],
)
def test_fifo_matches_released_concatenation(size: int, batches: list[int]) -> None:
    queue = InstanceQueue(size, 4)
    reference = queue.ordered().clone()  # (k, d) oldest first
    counter = 0
    for b in batches:
        keys = torch.arange(counter, counter + b, dtype=torch.float32)[:, None].repeat(1, 4)  # (B, 4)
        counter += b
        storage = queue.vectors.data_ptr()
        queue.enqueue(keys)
        reference = torch.cat((reference, keys))[b:]  # the released update
        assert queue.vectors.data_ptr() == storage  # written in place, no re-allocation
        torch.testing.assert_close(queue.ordered(), reference, rtol=0, atol=0)


def test_state_round_trips_through_torch_save() -> None:
    queue = InstanceQueue(9, 3, generator=torch.Generator().manual_seed(0))
    queue.enqueue(torch.randn(5, 3))
    buffer = io.BytesIO()
    torch.save(queue.state_dict(), buffer)
    buffer.seek(0)
    restored = InstanceQueue(9, 3)
    restored.load_state_dict(torch.load(buffer))
    assert int(restored.ptr) == 5
    torch.testing.assert_close(restored.vectors, queue.vectors, rtol=0, atol=0)
    more = torch.randn(7, 3)
    queue.enqueue(more)
    restored.enqueue(more)
    torch.testing.assert_close(restored.ordered(), queue.ordered(), rtol=0, atol=0)
    assert set(queue.state_dict()) == {"vectors", "ptr"}


def test_enqueue_detaches_and_casts() -> None:
    queue = InstanceQueue(4, 2)
    keys = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    queue.enqueue(keys)
    assert queue.vectors.dtype == torch.float32 and not queue.vectors.requires_grad
    torch.testing.assert_close(queue.vectors[:2], keys.detach().float())


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="size must be an integer >= 1, got 0"):
        InstanceQueue(0, 4)
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        InstanceQueue(4, -1)
    with pytest.raises(ValueError, match=r"enqueue expects keys of shape \(B, 4\), got \(2, 3\)"):
        InstanceQueue(4, 4).enqueue(torch.zeros(2, 3))
