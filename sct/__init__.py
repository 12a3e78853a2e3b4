"""sct — Self-Supervised Cross-View Training (SCT) of small sentence encoders.

The public API, imported lazily so that ``import sct`` (and every CLI) stays cheap::

    from sct import SCTConfig, SentenceEncoder, evaluate_encoder, resolve_inputs, UserError
    from sct.trainer import train

``train`` is not re-exported here: ``sct.train`` is the ``python -m sct.train`` command module, and a package
attribute that is a function or a module depending on import order would be a trap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SCTConfig": "sct.config",
    "UserError": "sct.errors",
    "resolve_inputs": "sct.inputs",
    "apply_overrides": "sct.config_io",
    "resolve_config": "sct.config_io",
    "SentenceEncoder": "sct.encoder",
    "evaluate_encoder": "sct.evaluate.evaluator",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sct' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
