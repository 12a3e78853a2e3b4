"""The sentence encoder f(x): a PLM, mean pooling over non-pad tokens, and an optional tanh Dense (§3, §3.4).

SCT trains exactly this network; the MLP head of the online branch lives in :mod:`sct.objective` and is not
part of the exported model. When a distilled student's width d_s differs from the teacher's d_t, the released
recipe appends sentence-transformers' ``Dense(d_s -> d_t, tanh)`` and keeps it at inference, so ``dense`` is
part of the encoder. Vectors are returned un-normalised; the losses and the evaluator normalise them.

The on-disk format is sentence-transformers' (HF weights + tokenizer at the root, ``modules.json``,
``1_Pooling``, ``2_Dense``), so that ``SentenceTransformer(path)``, ``AutoModel.from_pretrained(path)`` and
:meth:`SentenceEncoder.from_pretrained` all load a saved encoder.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PretrainedConfig, PreTrainedModel
from transformers import PreTrainedTokenizerBase as Tokenizer

_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_ACTIVATIONS = {
    "tanh": ("torch.nn.modules.activation.Tanh", "torch.nn.Tanh"),
    "identity": ("torch.nn.modules.linear.Identity", "torch.nn.Identity"),
}
_DENSE_DIR = "2_Dense"


class SentenceEncoder(nn.Module):
    """PLM + mean pooling (+ optional ``tanh(Linear(d_s, d_t))``): ids (B, L) -> sentence vectors (B, dim).

    ``max_seq_length`` is the truncation length used when tokenising for this encoder (training views and
    evaluation alike); it is saved to ``sentence_bert_config.json``.
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
        if activation not in _ACTIVATIONS:
            raise ValueError(f"dense activation {activation!r} is not supported: allowed {list(_ACTIVATIONS)}")
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
        root = resolve_model_name(str(name_or_path))
        modules = _read_json(root, "modules.json") if _is_local(root) else _hub_json(name_or_path, "modules.json")
        sub, dense_dir = "", None
        if modules is not None:
            sub, dense_dir = _parse_modules(modules, name_or_path)
            if _is_local(root):
                _check_mean_pooling(Path(root), modules)
        source = str(Path(root) / sub) if _is_local(root) else str(name_or_path)
        kwargs = {} if _is_local(root) or not sub else {"subfolder": sub}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        except OSError as err:
            if _is_local(root):
                raise
            raise FileNotFoundError(
                f"model {name_or_path} is not a local directory and could not be loaded from the Hub: {err}"
            ) from err
        if _is_local(root) and not any((Path(source) / f).exists() for f in _WEIGHT_FILES):
            warnings.warn(
                f"no model weights in {source}: building a randomly initialised encoder from its config.json",
                stacklevel=2,
            )
            backbone = AutoModel.from_config(AutoConfig.from_pretrained(source))
        else:
            backbone = AutoModel.from_pretrained(source, **kwargs)
        st_config = (
            _read_json(Path(source), "sentence_bert_config.json")
            if _is_local(root)
            else _hub_json(name_or_path, f"{sub}/sentence_bert_config.json".lstrip("/"))
        )
        if max_seq_length is None:
            max_seq_length = (st_config or {}).get("max_seq_length") or _default_length(backbone, tokenizer)
        dense, activation = None, "tanh"
        if dense_dir is not None:
            dense, activation = _load_dense(root, dense_dir, name_or_path)
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
        hidden = int(self.backbone.config.hidden_size)
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ]
        _write_json(out / "sentence_bert_config.json", {"max_seq_length": self.max_seq_length, "do_lower_case": False})
        pooling = {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        }
        _write_json(out / "1_Pooling" / "config.json", pooling)
        if self.dense is not None:
            modules.append({"idx": 2, "name": "2", "path": _DENSE_DIR, "type": "sentence_transformers.models.Dense"})
            dense_cfg = {
                "in_features": self.dense.in_features,
                "out_features": self.dense.out_features,
                "bias": self.dense.bias is not None,
                "activation_function": _ACTIVATIONS[self.activation][0],
            }
            _write_json(out / _DENSE_DIR / "config.json", dense_cfg)
            from safetensors.torch import save_file

            state = {f"linear.{k}": v.detach().cpu().contiguous() for k, v in self.dense.state_dict().items()}
            save_file(state, str(out / _DENSE_DIR / "model.safetensors"))
        _write_json(out / "modules.json", modules)
        _write_json(out / "config_sentence_transformers.json", {"similarity_fn_name": "cosine", "prompts": {}})


def _new_dense(hidden: int, projection_dim: int | None) -> nn.Linear | None:
    if projection_dim is None or projection_dim == hidden:
        return None
    if projection_dim < 1:
        raise ValueError(f"projection_dim must be >= 1, got {projection_dim}")
    return nn.Linear(hidden, projection_dim)


def _default_length(backbone: PreTrainedModel, tokenizer: Tokenizer) -> int:
    """min(tokenizer.model_max_length, max_position_embeddings, 512): usable length of a plain HF model."""
    limits = [512, getattr(backbone.config, "max_position_embeddings", 512) or 512]
    if isinstance(tokenizer.model_max_length, int) and tokenizer.model_max_length < 100_000:
        limits.append(tokenizer.model_max_length)
    return int(min(limits))


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def resolve_model_name(name: str) -> str:
    """A local directory (returned as a path string) or a hub id; a path-like name that is absent fails."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise FileNotFoundError(f"model path {name} is a file; expected a model directory or a hub id")
    if _looks_like_path(name):
        raise FileNotFoundError(
            f"model directory {name} does not exist (expected a local model directory or a Hugging Face hub id)"
        )
    return name


def _is_local(root: str) -> bool:
    return Path(root).is_dir()


def _read_json(directory: Path | str, name: str) -> dict | list | None:
    file = Path(directory) / name
    if not file.exists():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{file} is not valid JSON: {err}") from err


def _hub_json(repo_id: str, filename: str) -> dict | list | None:
    """A JSON file from a hub repo, or None when the repo has no such file (or the hub is unreachable)."""
    from huggingface_hub import hf_hub_download

    try:
        return _read_json(Path(hf_hub_download(repo_id, filename)).parent, Path(filename).name)
    except Exception:  # noqa: BLE001 - absent file / offline: behave like a plain HF model
        return None


def _write_json(file: Path, obj: object) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _parse_modules(modules: object, where: str) -> tuple[str, str | None]:
    """(transformer sub-folder, Dense sub-folder or None) from a modules.json list."""
    if not isinstance(modules, list):
        raise ValueError(f"modules.json of {where} must be a list of modules")
    kinds = {m.get("type", "").rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
    allowed = {"Transformer", "Pooling", "Dense", "Normalize"}
    unknown = sorted(set(kinds) - allowed)
    dense_count = sum(m.get("type", "").endswith(".Dense") for m in modules)
    if unknown or "Transformer" not in kinds or dense_count > 1:
        raise ValueError(
            f"modules.json of {where} has modules {sorted(kinds)}: supported are a Transformer, "
            f"mean Pooling, at most one Dense and Normalize"
        )
    return kinds["Transformer"], kinds.get("Dense")


def _check_mean_pooling(root: Path, modules: list) -> None:
    """SCT pools by the mean over tokens; a CLS / max pooled model would be silently changed otherwise."""
    for module in modules:
        if module.get("type", "").endswith(".Pooling"):
            cfg = _read_json(root / module.get("path", ""), "config.json") or {}
            mode = cfg.get("pooling_mode", "mean" if cfg.get("pooling_mode_mean_tokens", True) else "other")
            if mode not in ("mean", ["mean"]):
                raise ValueError(f"{root / module.get('path', '')}: pooling {cfg} is not mean pooling")


def _load_dense(root: str, sub: str, where: str) -> tuple[nn.Linear, str]:
    """A sentence-transformers Dense module (config.json + model.safetensors | pytorch_model.bin)."""
    if _is_local(root):
        directory = Path(root) / sub
    else:
        from huggingface_hub import snapshot_download

        directory = Path(snapshot_download(where, allow_patterns=[f"{sub}/*"])) / sub
    cfg = _read_json(directory, "config.json")
    if not isinstance(cfg, dict):
        raise FileNotFoundError(f"Dense module config {directory / 'config.json'} is missing")
    name = cfg.get("activation_function", _ACTIVATIONS["tanh"][0])
    activation = next((key for key, names in _ACTIVATIONS.items() if name in names), None)
    if activation is None:
        raise ValueError(f"{directory / 'config.json'}: activation_function {name!r} not supported (Tanh, Identity)")
    dense = nn.Linear(int(cfg["in_features"]), int(cfg["out_features"]), bias=bool(cfg.get("bias", True)))
    if (directory / "model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(str(directory / "model.safetensors"))
    elif (directory / "pytorch_model.bin").exists():
        state = torch.load(directory / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(
            f"Dense weights missing in {directory}: expected model.safetensors or pytorch_model.bin"
        )
    dense.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
    return dense, activation
