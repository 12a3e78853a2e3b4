"""Bytes and seconds the checkpoint policy writes per evaluation, before (state at every evaluation) and now.

    python benchmarks/checkpoint_io.py [--k 131072] [--shape mini]

Builds a random student of the paper's BERT-Tiny/Mini/Small shape with its SCT objective (head, two queues
of k vectors), an AdamW state after one step, then times one ``save_state`` (the resumable state) and one
``save_best`` (the exported model, weights only). Before: every evaluation wrote the state (twice per
improving evaluation counting the export). Now: the model on improvement, the state at most every
``run.checkpoint_every_s`` seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import BertConfig, BertTokenizerFast

from sct.checkpoint import Progress, save_best, save_state
from sct.config import SCTConfig
from sct.config_io import apply_overrides, config_to_dict
from sct.encoder import SentenceEncoder
from sct.objective import SCTObjective
from sct.storage import disk_usage

SHAPES = {"tiny": (2, 128, 2, 512), "mini": (4, 256, 4, 1024), "small": (4, 512, 8, 2048)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=131072)
    parser.add_argument("--shape", choices=list(SHAPES), default="mini")
    args = parser.parse_args()
    layers, hidden, heads, ffn = SHAPES[args.shape]
    config = BertConfig(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads, intermediate_size=ffn)
    encoder = SentenceEncoder.from_config(config)
    cfg = apply_overrides(SCTConfig(), {"method.queue_size": args.k})
    objective = SCTObjective(cfg, encoder)
    optimizer = torch.optim.AdamW([*encoder.parameters(), *objective.parameters()])
    loss = sum(p.sum() for p in encoder.parameters()) + sum(p.sum() for p in objective.parameters())
    loss.backward()
    optimizer.step()
    with tempfile.TemporaryDirectory() as tmp:
        vocab = Path(tmp) / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]) + "\n")
        tokenizer = BertTokenizerFast(vocab=str(vocab))
        modules = {"encoder": encoder, "objective": objective, "optimizer": optimizer}
        tick = time.perf_counter()
        state = save_state(Path(tmp) / "run", modules, Progress(step=1), config_to_dict(cfg))
        state_s, state_b = time.perf_counter() - tick, disk_usage(state)
        tick = time.perf_counter()
        save_best(Path(tmp) / "run", lambda path: encoder.save(path, tokenizer), 1.0, 1)
        model_s, model_b = time.perf_counter() - tick, disk_usage(Path(tmp) / "run" / "model")
    mb = 1 << 20
    print(f"BERT-{args.shape.capitalize()} shape, k={args.k}")
    print(f"resumable state: {state_b / mb:8.1f} MB  {state_s:6.2f} s")
    print(f"exported model:  {model_b / mb:8.1f} MB  {model_s:6.2f} s")
    print(f"per evaluation before: {state_b / mb:.1f} MB (+{model_b / mb:.1f} MB on improvement)")
    print(f"per evaluation now:    0 MB (+{model_b / mb:.1f} MB on improvement); the state once per checkpoint_every_s")


if __name__ == "__main__":
    main()
