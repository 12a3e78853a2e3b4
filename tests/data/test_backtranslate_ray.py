"""The Ray Data executor on a local Ray (2 CPUs): two model replicas, the same file as the in-process
executor, and only the unfinished shards of an interrupted job translated."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.data.__main__ import main
from sct.data.backtranslation.job import Job, run_job
from sct.data.backtranslation.local import local_executor
from sct.data.backtranslation.settings import Generation
from sct.data.backtranslation.translator import RoundTrip
from tests.data.test_backtranslate import ONE_THREAD, models, one_thread, pivot_flags, pivots, sentences
from tests.tune.local_ray import local_ray_session

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.heavy  # Ray Data on a local Ray with two translator replicas: ~50 s
__all__ = ["models", "one_thread"]  # fixtures shared with test_backtranslate
SETTINGS = ["--num-beams", "1", "--max-length", "10", "--batch-size", "4", "--shard-size", "4", *ONE_THREAD]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    with local_ray_session(num_cpus=2):  # own temp dir, guarded: no Ray process outlives the tests
        yield


def test_ray_data_writes_what_the_in_process_executor_writes(models, tmp_path, capsys) -> None:
    distinct = sentences(24)
    inputs = distinct + distinct[:6]
    (tmp_path / "in.txt").write_text("\n".join(inputs), encoding="utf-8")
    out = tmp_path / "ray.tsv"
    argv = ["backtranslate", str(tmp_path / "in.txt"), str(out), "--runner", "ray", "--workers", "2"]
    assert main([*argv, *SETTINGS, *pivot_flags(models)]) == 0
    err = capsys.readouterr().err
    assert "backtranslate: Ray Data, 2 model replica(s), 1 CPU each" in err
    assert "24/24 sentences (100.0%)" in err
    de, fr = RoundTrip(pivots(models), Generation(num_beams=1, max_length=10, batch_size=4))(distinct)
    expected = {x: [x, t or x, t2 or x] for x, t, t2 in zip(distinct, de, fr, strict=True)}
    lines = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [expected[x] for x in inputs]


def test_ray_data_continues_an_interrupted_job(models, tmp_path: Path, capsys) -> None:
    distinct = sentences(20)
    (tmp_path / "in.txt").write_text("\n".join(distinct), encoding="utf-8")
    out = tmp_path / "views.tsv"
    job = Job(out, distinct, pivots(models), Generation(num_beams=1, max_length=10, batch_size=4), shard_size=4)
    local = local_executor(threads=1)

    def two_shards_then_stop(job: Job, pending: list[int]):  # noqa: ANN202 - an interrupted executor
        for number, batch in enumerate(local(job, pending[:2])):
            yield batch
            if number == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(job, two_shards_then_stop)
    assert len(job.pending()) == 3 and not out.exists()
    from sct.data.backtranslation.ray_runner import ray_executor

    outcome = run_job(job, ray_executor(workers=1, cpus_per_worker=1))
    assert (outcome.skipped_shards, outcome.translated) == (2, 12)  # only the 3 unfinished shards went to Ray
    assert "2 of 5 shards already done" in capsys.readouterr().err
    assert [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()] == distinct
