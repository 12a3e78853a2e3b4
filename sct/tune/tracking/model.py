"""The best model of a sweep or ablation as an MLflow model: the run's "Models" column links to it.

An exported SCT model is a sentence-transformers directory. Logged as a plain artifact folder, MLflow does not
know it is a model; here it becomes an MLflow 3 *logged model* (a ``pyfunc`` wrapping the directory as an
artifact) attached to the run as an output, and optionally a registered model version. Loading it needs
torch, transformers and ``sct`` (not sentence-transformers): ``predict`` encodes with
:class:`sct.encoder.SentenceEncoder`, exactly like ``python -m sct.evaluate`` does::

    model = mlflow.pyfunc.load_model(model_uri)
    vectors = model.predict(["a man plays a guitar", "a dog runs"])  # (2, d) float32, L2-normalised
"""

from __future__ import annotations

import importlib.metadata
import logging
import warnings
from pathlib import Path
from typing import Any

from sct.errors import UserError
from sct.tune.tracking import client as store_client
from sct.tune.tracking.local_copy import link_identical, local_path

ARTIFACT_KEY = "model_dir"
MODEL_NAME = "sentence_encoder"
_REQUIREMENTS = ("torch", "transformers", "numpy", "pandas")


def _model_class() -> type:
    """The ``mlflow.pyfunc.PythonModel`` subclass, built on first use so importing this module needs no MLflow."""
    if "SentenceEncoderModel" in globals():  # one class per process: pickles refer to it by name
        return globals()["SentenceEncoderModel"]
    import mlflow.pyfunc

    class SentenceEncoderModel(mlflow.pyfunc.PythonModel):
        """``predict(sentences) -> (n, d) float32`` L2-normalised embeddings of an exported SCT model."""

        # predict takes lists, Series and DataFrames: the logged signature is the schema, not type hints. This
        # MLflow switch skips the type-hint wrapper (and its "Add type hints" warning, which no filter silences).
        _skip_type_hint_validation = True

        def load_context(self, context: Any) -> None:
            from sct.encoder import SentenceEncoder

            self.encoder, self.tokenizer = SentenceEncoder.from_pretrained(context.artifacts[ARTIFACT_KEY])
            self.encoder.eval()

        def predict(self, context, model_input, params=None):  # no type hints: MLflow would read them as a schema
            """Embeddings of ``model_input``: a list of strings, a pandas Series, or a one-column DataFrame."""
            from sct.evaluate.embedding import encode_sentences

            batch_size = int((params or {}).get("batch_size", 64))
            vectors = encode_sentences(self.encoder, self.tokenizer, sentences_of(model_input), batch_size=batch_size)
            return vectors.numpy()

    SentenceEncoderModel.__module__, SentenceEncoderModel.__qualname__ = __name__, "SentenceEncoderModel"
    globals()["SentenceEncoderModel"] = SentenceEncoderModel
    return SentenceEncoderModel


def __getattr__(name: str) -> Any:
    """``SentenceEncoderModel`` on demand: MLflow pickles the model by reference and finds the class here."""
    if name == "SentenceEncoderModel":
        return _model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sentences_of(model_input: Any) -> list[str]:
    """The sentences in a pyfunc input: list/tuple, numpy array, Series, or the first column of a DataFrame."""
    if isinstance(model_input, str):
        return [model_input]
    if hasattr(model_input, "columns"):  # a DataFrame: MLflow turns a list into one when a schema is given
        if len(model_input.columns) != 1:
            raise UserError(
                f"model input has columns {list(model_input.columns)}: pass one column of sentences (or a list)"
            )
        model_input = model_input.iloc[:, 0]
    if hasattr(model_input, "tolist"):
        model_input = model_input.tolist()
    sentences = list(model_input)
    bad = [s for s in sentences if not isinstance(s, str)]
    if bad:
        raise UserError(f"model input holds {type(bad[0]).__name__} values ({bad[0]!r}): pass strings only")
    return sentences


def _signature(dim: int) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, dim))]),
        params=ParamSchema([ParamSpec("batch_size", "integer", 64)]),
    )


def _requirements() -> list[str]:
    out = []
    for name in _REQUIREMENTS:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out


def _no_pickle_note(record: logging.LogRecord) -> bool:
    """Drops MLflow's note that a Python object is pickled: ours is pickled by reference (see _model_class)."""
    return "Passing a Python object as `python_model`" not in record.getMessage()


def _embedding_dim(model_dir: Path) -> int:
    """The model's output width, read from its config files (as :attr:`sct.encoder.SentenceEncoder.dim` is
    defined: the Dense's out_features, else the backbone's hidden size), without loading its weights."""
    from transformers import AutoConfig

    from sct import st_format

    modules = st_format.read_json(model_dir, "modules.json")
    sub, dense = st_format.parse_modules(modules, str(model_dir)) if modules is not None else ("", None)
    if dense is not None:
        return int(st_format.read_json(model_dir / dense, "config.json")["out_features"])  # type: ignore[index]
    return int(AutoConfig.from_pretrained(str(model_dir / sub)).hidden_size)


def log_sentence_model(
    tracking_uri: str,
    run_id: str,
    model_dir: str | Path,
    *,
    register_name: str | None = None,
    name: str = MODEL_NAME,
) -> str:
    """Log ``model_dir`` (an exported SCT / sentence-transformers model) as an MLflow model of run ``run_id``.

    The run keeps its status; the model shows in its "Models" column and on the experiment's Models tab.
    ``register_name`` also creates a version of that registered model. Returns the model URI
    (``models:/<model_id>``) that ``mlflow.pyfunc.load_model`` takes. The files are in the model at
    ``artifacts/<model_dir's name>``; on a local artifact store they are hard links to ``model_dir``'s
    (:mod:`sct.tune.tracking.local_copy`), so logging costs no second copy of the weights.
    """
    import mlflow
    import mlflow.pyfunc
    from mlflow.entities import LoggedModelStatus
    from mlflow.models import Model

    directory = Path(model_dir).resolve()
    if not (directory / "modules.json").is_file() and not (directory / "config.json").is_file():
        raise UserError(f"model directory {directory}: no modules.json or config.json; pass an exported SCT model")
    client = store_client(tracking_uri)
    run = client.get_run(run_id)
    # Created here, in the run's experiment: Model.log alone files it under the *active* experiment (Default).
    logged = client.create_logged_model(
        run.info.experiment_id,
        name=name,
        source_run_id=run_id,
        params=dict(run.data.params),
        model_type="sentence-encoder",
    )
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)  # Model.log resolves the store from the global URI
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    pyfunc_logger.addFilter(_no_pickle_note)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
            info = Model.log(
                artifact_path=None,
                name=name,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                model_id=logged.model_id,
                python_model=_model_class()(),  # pickled by reference: sct must be importable where it loads
                artifacts={ARTIFACT_KEY: str(directory)},
                signature=_signature(_embedding_dim(directory)),
                pip_requirements=_requirements(),  # explicit: skips MLflow's slow requirement inference
                registered_model_name=register_name,
                await_registration_for=0,
            )
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    finally:
        pyfunc_logger.removeFilter(_no_pickle_note)
        mlflow.set_tracking_uri(previous)
    store = local_path(client.get_logged_model(logged.model_id).artifact_location)
    if store is not None:  # a local artifact store: its copy of the files becomes hard links to ``directory``
        link_identical(directory, store / info.flavors["python_function"]["artifacts"][ARTIFACT_KEY]["path"])
    return info.model_uri
