"""The sentence-transformers directory format, read and written by :class:`sct.encoder.SentenceEncoder`.

A saved encoder is the HF backbone (weights + tokenizer) at the root plus ``modules.json``, ``1_Pooling``
(mean pooling), an optional ``2_Dense`` (the tanh Dense of §3.4) and ``sentence_bert_config.json``
(``max_seq_length``). This module tells local paths from hub ids, parses and checks that layout when
loading (only Transformer, mean Pooling, one Dense and Normalize are accepted: anything else would silently
change the model) and writes it when saving, so that ``SentenceTransformer(path)`` loads what SCT trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

ACTIVATIONS = {
    "tanh": ("torch.nn.modules.activation.Tanh", "torch.nn.Tanh"),
    "identity": ("torch.nn.modules.linear.Identity", "torch.nn.Identity"),
}
DENSE_DIR = "2_Dense"


def is_local(root: str) -> bool:
    return Path(root).is_dir()


def read_json(directory: Path | str, name: str) -> dict | list | None:
    file = Path(directory) / name
    if not file.exists():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{file} is not valid JSON: {err}") from err


def hub_json(repo_id: str, filename: str) -> dict | list | None:
    """A JSON file from a hub repo, or None when the repo has no such file (or the hub is unreachable)."""
    from huggingface_hub import hf_hub_download

    try:
        return read_json(Path(hf_hub_download(repo_id, filename)).parent, Path(filename).name)
    except Exception:  # noqa: BLE001 - absent file / offline: behave like a plain HF model
        return None


def write_json(file: Path, obj: object) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def parse_modules(modules: object, where: str) -> tuple[str, str | None]:
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


def check_mean_pooling(root: Path, modules: list) -> None:
    """SCT pools by the mean over tokens; a CLS / max pooled model would be silently changed otherwise."""
    for module in modules:
        if module.get("type", "").endswith(".Pooling"):
            cfg = read_json(root / module.get("path", ""), "config.json") or {}
            mode = cfg.get("pooling_mode", "mean" if cfg.get("pooling_mode_mean_tokens", True) else "other")
            if mode not in ("mean", ["mean"]):
                raise ValueError(f"{root / module.get('path', '')}: pooling {cfg} is not mean pooling")


def load_dense(root: str, sub: str, where: str) -> tuple[nn.Linear, str]:
    """A sentence-transformers Dense module (config.json + model.safetensors | pytorch_model.bin)."""
    if is_local(root):
        directory = Path(root) / sub
    else:
        from huggingface_hub import snapshot_download

        directory = Path(snapshot_download(where, allow_patterns=[f"{sub}/*"])) / sub
    cfg = read_json(directory, "config.json")
    if not isinstance(cfg, dict):
        raise FileNotFoundError(f"Dense module config {directory / 'config.json'} is missing")
    name = cfg.get("activation_function", ACTIVATIONS["tanh"][0])
    activation = next((key for key, names in ACTIVATIONS.items() if name in names), None)
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


def write_layout(out: Path, hidden: int, max_seq_length: int, dense: nn.Linear | None, activation: str) -> None:
    """The sentence-transformers files beside a saved backbone: modules, mean Pooling, the Dense if any."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    write_json(out / "sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
    pooling = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    write_json(out / "1_Pooling" / "config.json", pooling)
    if dense is not None:
        modules.append({"idx": 2, "name": "2", "path": DENSE_DIR, "type": "sentence_transformers.models.Dense"})
        dense_cfg = {
            "in_features": dense.in_features,
            "out_features": dense.out_features,
            "bias": dense.bias is not None,
            "activation_function": ACTIVATIONS[activation][0],
        }
        write_json(out / DENSE_DIR / "config.json", dense_cfg)
        from safetensors.torch import save_file

        state = {f"linear.{k}": v.detach().cpu().contiguous() for k, v in dense.state_dict().items()}
        save_file(state, str(out / DENSE_DIR / "model.safetensors"))
    write_json(out / "modules.json", modules)
    write_json(out / "config_sentence_transformers.json", {"similarity_fn_name": "cosine", "prompts": {}})
