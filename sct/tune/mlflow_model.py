"""Where MLflow models logged before :mod:`sct.tune.tracking.model` existed find their class.

A logged model pickles its ``python_model`` by reference (module and class name): those logged earlier name
``sct.tune.mlflow_model.SentenceEncoderModel``, so this name stays importable and resolves to the one class.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from sct.tune.tracking import model

    return getattr(model, name)
