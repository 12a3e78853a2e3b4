"""KL -> CE (Table 4) cannot change training: with stop-gradient targets p, CE(p, q) - KL(p || q) = H(p) does not
depend on the weights, so both losses give the same gradients and two real runs end with the same weights.

The reported losses differ by H(p) > 0, which shows the switch reached the run. The runs evaluate once, at
their last step, so the exported best model ``<output>/model`` is the final encoder; it is compared through
``SentenceEncoder.from_pretrained`` (what users load), not through the trainer's state.
"""

from __future__ import annotations

import torch

from sct.encoder import SentenceEncoder
from sct.trainer import train
from tests.test_trainer import tiny_config

STEPS = 6


def final_weights(cfg) -> tuple[dict[str, torch.Tensor], float]:
    """The exported encoder's weights and the loss reported at the (only) evaluation."""
    losses: list[float] = []
    train(cfg, lambda step, metrics, ckpt: losses.append(metrics["loss"]), show_progress=False)
    encoder, _ = SentenceEncoder.from_pretrained(str(cfg.run.output_dir + "/model"))
    return {name: p.detach().clone() for name, p in encoder.state_dict().items()}, losses[-1]


def test_kl_and_ce_runs_end_with_the_same_weights(tiny_model_dir, stsb_dir, tmp_path) -> None:
    runs, loss = {}, {}
    for divergence in ("kl", "ce"):
        cfg = tiny_config(
            tiny_model_dir,
            stsb_dir,
            tmp_path / divergence,
            tmp_path / "cache",
            **{"method.divergence": divergence, "optim.max_steps": STEPS, "eval.every_steps": STEPS},
        )
        runs[divergence], loss[divergence] = final_weights(cfg)
    start, _ = SentenceEncoder.from_pretrained(str(tiny_model_dir))
    moved = max((runs["kl"][k] - v).abs().max().item() for k, v in start.state_dict().items() if k in runs["kl"])
    assert moved > 1e-4  # the runs trained: equal weights are not the untouched initial ones
    assert loss["ce"] > loss["kl"] + 1e-3  # CE = KL + H(p): the switch was applied
    assert runs["kl"].keys() == runs["ce"].keys()
    for name, kl in runs["kl"].items():
        torch.testing.assert_close(runs["ce"][name], kl, atol=1e-5, rtol=1e-5, msg=name)
