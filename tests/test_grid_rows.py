"""Every row of every shipped ablation grid trains: its config builds, its views are made, one SCTObjective
forward + backward on a tiny encoder gives a finite loss and gradients. The rows are read from the grid files,
so a new row is tested without editing this file. The extras some rows need (a masked LM, WordNet) are tiny
fixtures built in tmp, so no row is skipped."""

from __future__ import annotations

import pytest
import torch
from transformers import BertForMaskedLM

from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.data.augment import make_views, resolve_augmentation
from sct.data.sources import TextPairs
from sct.encoder import SentenceEncoder
from sct.objective import SCTObjective
from sct.tune.plan.grids import load_grid
from sct.tune.plan.spaces import PACKAGE_DIR
from tests.conftest import tiny_bert_config
from tests.data.test_synonym_views import write_wordnet

B, DIM = 6, 32
ROWS = [
    (path.stem, row.name)
    for path in sorted((PACKAGE_DIR / "ablations").glob("*.yaml"))
    for row in load_grid(str(path)).rows
]


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer) -> dict[str, str]:
    """``data.*`` overrides that make the MLM and synonym views available offline."""
    root = tmp_path_factory.mktemp("extras")
    torch.manual_seed(0)
    BertForMaskedLM(tiny_bert_config(len(tiny_tokenizer))).save_pretrained(root / "mlm")
    tiny_tokenizer.save_pretrained(root / "mlm")
    return {"data.mlm_model": str(root / "mlm"), "data.wordnet_dir": str(write_wordnet(root / "wordnet"))}


def tokenize(tokenizer, texts1: list[str], texts2: list[str]) -> dict[str, torch.Tensor]:
    batch = {}
    for view, texts in ((1, texts1), (2, texts2)):
        enc = tokenizer(texts, padding=True, return_tensors="pt")
        batch[f"input_ids_{view}"], batch[f"attention_mask_{view}"] = enc["input_ids"], enc["attention_mask"]
    return batch


@pytest.mark.parametrize(("grid", "row"), ROWS, ids=[f"{g}:{r}" for g, r in ROWS])
def test_every_grid_row_trains_one_step(grid: str, row: str, extras, tiny_tokenizer, sentences) -> None:
    small = {"method.queue_size": 64, "method.head_blocks": 1, "method.head_width": 2} | extras
    base = apply_overrides(SCTConfig(), small, "test")
    cfg = load_grid(grid).row_config(base, row, teacher="teacher-placeholder")
    x, t, t_prime = sentences[:B], sentences[B : 2 * B], sentences[2 * B : 3 * B]  # stand-ins for x, T(x), T′(x)
    pairs = TextPairs(x, t, "fixture", "fixture sentences", texts3=t_prime)
    texts1, texts2 = make_views(resolve_augmentation(cfg.data.augmentation, pairs), pairs, cfg)
    assert len(texts1) == len(texts2) == B
    torch.manual_seed(0)
    encoder = SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer), hidden=DIM))
    objective = SCTObjective(cfg, encoder, teacher_dim=DIM if cfg.distilling else None)
    teacher = None
    if cfg.distilling:
        teacher = tuple(torch.nn.functional.normalize(torch.randn(B, DIM), dim=1) for _ in range(2))
    out = objective(encoder, tokenize(tiny_tokenizer, texts1, texts2), teacher)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    grads = [p.grad for p in encoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    objective.update(out, encoder)
