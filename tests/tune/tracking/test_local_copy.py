"""The logged model's copy on a local artifact store becomes hard links to the logged directory's files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sct.storage import disk_usage
from sct.tune.tracking.local_copy import link_identical, local_path


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///srv/runs/mlartifacts/1/models/m-1/artifacts", "/srv/runs/mlartifacts/1/models/m-1/artifacts"),
        ("file://localhost/srv/a%20b", "/srv/a b"),
        ("/srv/runs/mlartifacts", "/srv/runs/mlartifacts"),
        ("mlflow-artifacts:/1/models/m-1/artifacts", None),
        ("http://mlflow:5000/api/2.0/mlflow-artifacts/artifacts/1", None),
        ("s3://bucket/1/models/m-1/artifacts", None),
        ("file://otherhost/srv/runs", None),
    ],
)
def test_only_a_local_store_has_a_local_path(uri: str, path: str | None) -> None:
    assert local_path(uri) == (Path(path) if path else None)


def test_identical_files_become_links_and_the_others_keep_their_copy(tmp_path: Path) -> None:
    source, copy = tmp_path / "best_model", tmp_path / "store" / "artifacts" / "best_model"
    (source / "1_Pooling").mkdir(parents=True)
    (source / "model.safetensors").write_bytes(b"w" * 10_000)
    (source / "1_Pooling" / "config.json").write_text("{}")
    (source / "changed.json").write_text('{"a": 1}')
    shutil.copytree(source, copy)
    (copy / "changed.json").write_text('{"a": 2}')  # same size, other bytes
    (copy / "extra.txt").write_text("only in the store")
    assert disk_usage(source, copy) == 2 * disk_usage(source) + len("only in the store")

    assert link_identical(source, copy) == 10_000 + 2
    assert (copy / "model.safetensors").samefile(source / "model.safetensors")
    assert (copy / "1_Pooling" / "config.json").samefile(source / "1_Pooling" / "config.json")
    assert not (copy / "changed.json").samefile(source / "changed.json")
    assert (copy / "changed.json").read_text() == '{"a": 2}' and (copy / "extra.txt").is_file()
    assert sorted(p.name for p in copy.iterdir()) == ["1_Pooling", "changed.json", "extra.txt", "model.safetensors"]
    assert disk_usage(source, copy) == disk_usage(source) + len('{"a": 2}') + len("only in the store")
    assert link_identical(source, copy) == 0  # already one file: nothing more to free

    shutil.rmtree(source)  # deleting one name leaves the other whole
    assert (copy / "model.safetensors").read_bytes() == b"w" * 10_000
