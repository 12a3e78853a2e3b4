"""Pure tensor losses of SCT: the cross-view loss (L_SCT) and the distillation losses (Table 7)."""

from sct.losses.candidates import candidate_loss
from sct.losses.cross_view import cross_view_loss, loss_kind
from sct.losses.distill import cd_loss, ckd_loss, congen_loss, mse_loss

__all__ = ["candidate_loss", "cd_loss", "ckd_loss", "congen_loss", "cross_view_loss", "loss_kind", "mse_loss"]
