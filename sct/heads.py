"""The online MLP head h of SCT (paper §3.1, Figure 2): a predictor on top of the student encoder.

The released code stacks blocks ``Linear(d, w*d) -> ReLU -> Linear(w*d, d)`` (w = 10, three blocks by
default) on the online branch only, BYOL-style: the reference branch and the exported encoder have no
head. ``method.head == "none"`` is the Table 4 "w/o MLP" row: the head is the identity.
"""

from __future__ import annotations

from torch import Tensor, nn

from sct.config import MethodConfig


class MLPBlock(nn.Sequential):
    """``Linear(d, w*d) -> ReLU -> Linear(w*d, d)``: maps (B, d) -> (B, d)."""

    def __init__(self, dim: int, width: int) -> None:
        super().__init__(nn.Linear(dim, width * dim), nn.ReLU(), nn.Linear(width * dim, dim))


class MLPHead(nn.Module):
    """``blocks`` stacked :class:`MLPBlock` s of hidden size ``width * dim``; (B, d) -> (B, d)."""

    def __init__(self, dim: int, *, blocks: int = 3, width: int = 10) -> None:
        super().__init__()
        for name, value, low in (("dim", dim, 1), ("blocks", blocks, 1), ("width", width, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"MLPHead {name} must be an integer >= {low}, got {value!r}")
        self.dim = dim
        self.blocks = nn.Sequential(*(MLPBlock(dim, width) for _ in range(blocks)))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.dim:
            raise ValueError(f"MLPHead expects inputs of dimension {self.dim}, got shape {tuple(x.shape)}")
        return self.blocks(x)  # (B, d)


def build_head(method: MethodConfig, dim: int) -> nn.Module:
    """The head selected by ``method.head`` (validated on construction): :class:`MLPHead` or ``nn.Identity``."""
    if method.head == "mlp":
        return MLPHead(dim, blocks=method.head_blocks, width=method.head_width)
    return nn.Identity()
