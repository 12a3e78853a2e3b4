"""The sentence encoder f(x): a PLM, mean pooling over non-pad tokens, and an optional tanh Dense (§3, §3.4).

SCT trains exactly this network; the MLP head of the online branch lives in :mod:`sct.objective` and is not
part of the exported model. When a distilled student's width d_s differs from the teacher's d_t, the released
recipe appends sentence-transformers' ``Dense(d_s -> d_t, tanh)`` and keeps it at inference, so ``dense`` is
part of the encoder. Vectors are returned un-normalised; the losses and the evaluator normalise them.

The on-disk format is sentence-transformers' (HF weights + tokenizer at the root, ``modules.json``,
``1_Pooling``, ``2_Dense``), so that ``SentenceTransformer(path)``, ``AutoModel.from_pretrained(path)`` and
:meth:`SentenceEncoder.from_pretrained` all load a saved encoder (:mod:`sct.st_format` reads and writes it).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PretrainedConfig, PreTrainedModel
from transformers import PreTrainedTokenizerBase as Tokenizer

from sct import st_format
from sct.errors import UserError
from sct.hub import has_weights, model_source
from sct.st_format import ACTIVATIONS, is_local


class SentenceEncoder(nn.Module):
    """PLM + mean pooling (+ optional ``tanh(Linear(d_s, d_t))``): ids (B, L) -> sentence vectors (B, dim).

    ``max_seq_length`` is where :func:`sct.evaluate.embedding.encode_sentences` (and sentence-transformers,
    which reads it from ``sentence_bert_config.json``) truncates inputs: the evaluation length. The training
    views are tokenised at ``model.max_length`` by :mod:`sct.data.tokenized`, independently of it.
    """

    def __init__(
        self,
        backbone: PreTrainedModel,
        dense: nn.Linear | None = None,
        max_seq_length: int = 32,
        *,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"dense activation {activation!r} is not supported: allowed {list(ACTIVATIONS)}")
        if max_seq_length < 1:
            raise ValueError(f"max_seq_length must be >= 1, got {max_seq_length}")
        hidden = backbone.config.hidden_size
        if dense is not None and dense.in_features != hidden:
            raise ValueError(f"dense in_features {dense.in_features} != backbone hidden size {hidden}")
        self.backbone = backbone
        self.dense = dense
        self.activation = activation
        self.max_seq_length = int(max_seq_length)

    @property
    def dim(self) -> int:
        """Output dimension: the Dense's out_features, else the backbone's hidden size."""
        return self.dense.out_features if self.dense is not None else int(self.backbone.config.hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, L) ids and mask -> (B, dim): mean of the last hidden states over non-pad tokens, not normalised."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        hidden = out.last_hidden_state  # (B, L, H)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)  # (B, H)
        if self.dense is not None:
            pooled = self.dense(pooled)  # (B, dim)
            if self.activation == "tanh":
                pooled = torch.tanh(pooled)
        return pooled

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(
        cls, config: PretrainedConfig, projection_dim: int | None = None, max_seq_length: int = 32
    ) -> SentenceEncoder:
        """A randomly initialised encoder of ``config``'s architecture (+ a new tanh Dense if projected)."""
        backbone = AutoModel.from_config(config)
        return cls(backbone, _new_dense(config.hidden_size, projection_dim), max_seq_length)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, projection_dim: int | None = None, *, max_seq_length: int | None = None
    ) -> tuple[SentenceEncoder, Tokenizer]:
        """(encoder, tokenizer) from a hub id, an HF dir, a sentence-transformers dir or a config-only dir.

        A sentence-transformers layout contributes its transformer sub-folder, its single Dense module and
        ``max_seq_length``; a directory without weights builds a random init with a warning naming it.
        ``projection_dim`` different from the output width and no Dense present adds a new tanh Dense.
        """
        root = model_source(str(name_or_path))
        modules = (
            st_format.read_json(root, "modules.json")
            if is_local(root)
            else st_format.hub_json(name_or_path, "modules.json")
        )
        sub, dense_dir = "", None
        if modules is not None:
            sub, dense_dir = st_format.parse_modules(modules, name_or_path)
            if is_local(root):
                st_format.check_mean_pooling(Path(root), modules)
        source = str(Path(root) / sub) if is_local(root) else str(name_or_path)
        if is_local(root) and not (Path(source) / "config.json").is_file():
            raise UserError(
                f"{source} is not a model directory: expected config.json (a Hugging Face model) or modules.json "
                "(a sentence-transformers model)"
            )
        kwargs = {} if is_local(root) or not sub else {"subfolder": sub}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        except OSError as err:
            if is_local(root):
                raise
            raise FileNotFoundError(
                f"model {name_or_path} is not a local directory and could not be loaded from the Hub: {err}"
            ) from err
        if is_local(root) and not has_weights(source):
            warnings.warn(
                f"no model weights in {source}: building a randomly initialised encoder from its config.json",
                stacklevel=2,
            )
            backbone = AutoModel.from_config(AutoConfig.from_pretrained(source))
        else:
            backbone = AutoModel.from_pretrained(source, **kwargs)
        st_config = (
            st_format.read_json(Path(source), "sentence_bert_config.json")
            if is_local(root)
            else st_format.hub_json(name_or_path, f"{sub}/sentence_bert_config.json".lstrip("/"))
        )
        if max_seq_length is None:
            max_seq_length = (st_config or {}).get("max_seq_length") or length_limit(backbone.config, tokenizer)
        dense, activation = None, "tanh"
        if dense_dir is not None:
            dense, activation = st_format.load_dense(root, dense_dir, name_or_path)
        hidden = int(backbone.config.hidden_size)
        out_dim = dense.out_features if dense is not None else hidden
        if projection_dim is not None and projection_dim != out_dim:
            if dense is not None:
                raise ValueError(
                    f"projection_dim={projection_dim} conflicts with the Dense ({dense.in_features} -> "
                    f"{dense.out_features}) already in {name_or_path}"
                )
            dense = _new_dense(hidden, projection_dim)
        return cls(backbone, dense, int(max_seq_length), activation=activation), tokenizer

    # ------------------------------------------------------------------ export
    def save(self, path: str | Path, tokenizer: Tokenizer) -> None:
        """Write a dir that SentenceTransformer, AutoModel.from_pretrained and from_pretrained all load."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(out)
        tokenizer.save_pretrained(out)
        st_format.write_layout(
            out, int(self.backbone.config.hidden_size), self.max_seq_length, self.dense, self.activation
        )


def _new_dense(hidden: int, projection_dim: int | None) -> nn.Linear | None:
    if projection_dim is None or projection_dim == hidden:
        return None
    if projection_dim < 1:
        raise ValueError(f"projection_dim must be >= 1, got {projection_dim}")
    return nn.Linear(hidden, projection_dim)


def length_limit(config: PretrainedConfig, tokenizer: Tokenizer) -> int:
    """min(tokenizer.model_max_length, max_position_embeddings, 512): the longest input a model takes whole."""
    limits = [512, getattr(config, "max_position_embeddings", 512) or 512]
    if isinstance(tokenizer.model_max_length, int) and tokenizer.model_max_length < 100_000:
        limits.append(tokenizer.model_max_length)
    return int(min(limits))
