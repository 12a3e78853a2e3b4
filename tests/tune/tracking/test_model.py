"""log_sentence_model in a real sqlite MLflow store: the run lists the model, pyfunc predicts our embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sct.encoder import SentenceEncoder
from sct.errors import UserError
from sct.evaluate.embedding import encode_sentences

SENTENCES = ["a man plays a guitar", "a dog runs in the park", "two children are eating food"]


@pytest.fixture(scope="module")
def exported_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT exported in our format (sentence-transformers layout, with a Dense projection)."""
    torch.manual_seed(1)
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir), projection_dim=16, max_seq_length=16)
    path = tmp_path_factory.mktemp("exported") / "best_model"
    encoder.save(path, tokenizer)
    return path


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(tracking URI, experiment id) in a fresh sqlite store (one per module: creating the schema is slow)."""
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow").resolve()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    location = (root / "mlartifacts").as_uri()
    return uri, MlflowClient(tracking_uri=uri).create_experiment("sweep", artifact_location=location)


@pytest.fixture()
def store(experiment: tuple[str, str]) -> tuple[str, str, str]:
    """(tracking URI, experiment id, run id) of a new RUNNING run."""
    from mlflow.tracking import MlflowClient

    uri, experiment_id = experiment
    run = MlflowClient(tracking_uri=uri).create_run(experiment_id, run_name="sweep")
    return uri, experiment_id, run.info.run_id


def test_logged_model_is_an_output_of_the_run_and_predicts_the_encoder_embeddings(exported_dir, store) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    from sct.tune.tracking.model import log_sentence_model

    uri, experiment_id, run_id = store
    before = mlflow.get_tracking_uri()
    model_uri = log_sentence_model(uri, run_id, exported_dir)
    assert mlflow.get_tracking_uri() == before  # the global URI is restored

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"  # logging a model does not end the run
    model_ids = [output.model_id for output in run.outputs.model_outputs]
    assert len(model_ids) == 1 and model_uri == f"models:/{model_ids[0]}"
    logged = client.get_logged_model(model_ids[0])
    assert (logged.source_run_id, logged.experiment_id, logged.name) == (run_id, experiment_id, "sentence_encoder")

    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pyfunc.load_model(model_uri)
        from_list = model.predict(SENTENCES)
        import pandas as pd

        from_frame = model.predict(pd.DataFrame({"sentence": SENTENCES}))
    finally:
        mlflow.set_tracking_uri(before)
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(exported_dir))
    expected = encode_sentences(encoder, tokenizer, SENTENCES).numpy()
    assert from_list.shape == (3, 16)
    assert abs(from_list - expected).max() < 1e-5 and abs(from_frame - expected).max() < 1e-5


def test_register_name_creates_a_model_version(exported_dir, store) -> None:
    from mlflow.tracking import MlflowClient

    from sct.tune.tracking.model import log_sentence_model

    uri, _, run_id = store
    model_uri = log_sentence_model(uri, run_id, exported_dir, register_name="sct-bert-tiny")
    versions = MlflowClient(tracking_uri=uri).search_model_versions("name = 'sct-bert-tiny'")
    assert [str(v.version) for v in versions] == ["1"]
    assert versions[0].run_id == run_id and versions[0].source == model_uri


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        ([1, "a"], r"model input holds int values \(1\): pass strings only"),
        ({"a": ["x"], "b": ["y"]}, r"model input has columns \['a', 'b'\]: pass one column"),
    ],
)
def test_bad_model_input_is_a_user_error(model_input, message: str) -> None:
    import pandas as pd

    from sct.tune.tracking.model import sentences_of

    value = pd.DataFrame(model_input) if isinstance(model_input, dict) else model_input
    with pytest.raises(UserError, match=message):
        sentences_of(value)


def test_the_model_class_is_built_once_and_pickled_by_reference() -> None:
    import cloudpickle

    from sct.tune.tracking import model as mlflow_model

    first = mlflow_model._model_class()
    assert mlflow_model.SentenceEncoderModel is first is mlflow_model._model_class()
    blob = cloudpickle.dumps(first())
    assert b"sct.tune.tracking.model" in blob and b"load_context" not in blob  # a name, not the code


def test_input_forms_give_the_same_sentences() -> None:
    import numpy as np
    import pandas as pd

    from sct.tune.tracking.model import sentences_of

    for value in (SENTENCES, tuple(SENTENCES), pd.Series(SENTENCES), np.array(SENTENCES), pd.DataFrame(SENTENCES)):
        assert sentences_of(value) == SENTENCES
    assert sentences_of("one") == ["one"]


def test_a_directory_without_a_model_is_refused(tmp_path: Path, store) -> None:
    from sct.tune.tracking.model import log_sentence_model

    uri, _, run_id = store
    with pytest.raises(UserError, match=r"model directory .*: no modules.json or config.json"):
        log_sentence_model(uri, run_id, tmp_path)


@pytest.mark.parametrize("projection_dim", [None, 16])
def test_the_signature_width_is_read_from_the_config_files(
    tiny_model_dir: Path, tmp_path: Path, projection_dim
) -> None:
    """The logged signature's width equals the loaded encoder's ``dim``, with and without a Dense."""
    from sct.tune.tracking.model import _embedding_dim

    encoder, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir), projection_dim=projection_dim)
    encoder.save(tmp_path / "model", tokenizer)
    assert _embedding_dim(tmp_path / "model") == encoder.dim
    assert _embedding_dim(Path(tiny_model_dir)) == encoder.backbone.config.hidden_size  # a plain HF directory


def test_models_logged_under_the_old_module_name_still_find_their_class() -> None:
    import pickle

    from sct.tune.tracking import model

    blob = pickle.dumps(model.SentenceEncoderModel, protocol=0)  # by reference: the module and class names
    blob = blob.replace(b"sct.tune.tracking.model", b"sct.tune.mlflow_model")
    assert pickle.loads(blob) is model.SentenceEncoderModel


def test_on_a_local_store_the_logged_model_holds_the_same_files_not_a_copy(exported_dir, store) -> None:
    """The logged model's files are hard links to the logged directory's: the weights are on disk once."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from sct.storage import disk_usage
    from sct.tune.tracking.model import log_sentence_model

    uri, _, run_id = store
    model_id = log_sentence_model(uri, run_id, exported_dir).removeprefix("models:/")
    location = MlflowClient(tracking_uri=uri).get_logged_model(model_id).artifact_location
    logged = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{location}/artifacts/{exported_dir.name}"))
    files = sorted(p.relative_to(exported_dir) for p in exported_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".safetensors" for p in files)
    assert sorted(p.relative_to(logged) for p in logged.rglob("*") if p.is_file()) == files
    for path in files:
        assert (logged / path).samefile(exported_dir / path), path
    model_files = disk_usage(logged.parents[1])  # MLmodel, the pickle, the environment files
    assert disk_usage(exported_dir, logged.parents[1]) == disk_usage(exported_dir) + model_files - disk_usage(logged)
