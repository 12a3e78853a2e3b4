"""The online MLP head: block structure, shapes, the 'none' switch, argument errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sct.config import MethodConfig
from sct.heads import MLPHead, build_head


def test_mlp_head_structure_and_shape() -> None:
    head = build_head(MethodConfig(head_blocks=3, head_width=10), 16)
    assert isinstance(head, MLPHead) and len(head.blocks) == 3
    for block in head.blocks:
        first, act, second = block
        assert (first.in_features, first.out_features) == (16, 160)
        assert isinstance(act, nn.ReLU)
        assert (second.in_features, second.out_features) == (160, 16)
    assert head(torch.randn(5, 16)).shape == (5, 16)


def test_head_none_is_identity() -> None:
    head = build_head(MethodConfig(head="none"), 16)
    x = torch.randn(3, 16)
    assert head(x) is x
    assert not list(head.parameters())


def test_width_and_blocks_are_configurable() -> None:
    head = build_head(MethodConfig(head_blocks=1, head_width=2), 8)
    assert len(head.blocks) == 1 and head.blocks[0][0].out_features == 16
    assert sum(p.numel() for p in head.parameters()) == (8 * 16 + 16) + (16 * 8 + 8)


def test_head_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="MLPHead blocks must be an integer >= 1, got 0"):
        MLPHead(8, blocks=0)
    with pytest.raises(ValueError, match=r"expects inputs of dimension 8, got shape \(2, 4\)"):
        MLPHead(8)(torch.randn(2, 4))
