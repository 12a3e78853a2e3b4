"""``python -m sct.data backtranslate`` end to end with tiny random Marian models (in-process executor):
three columns in input order, each distinct sentence translated once, a SIGKILL mid-run and the resumed
output, refusals. The Ray Data executor: tests/data/test_backtranslate_ray.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sct.data.__main__ import main
from sct.data.backtranslation import translator
from sct.data.backtranslation.job import Job, Progress, dedupe
from sct.data.backtranslation.settings import Generation, Pivot
from sct.data.backtranslation.translator import RoundTrip
from sct.data.sources import load_texts
from sct.errors import UserError
from tests.conftest import REPO, tiny_vocab
from tests.data import tiny_marian
from tests.process_guard import Guarded

GENERATION = Generation(num_beams=1, max_length=12, batch_size=4)
# One torch thread per replica: on a shared 2-core machine two spinning threads make a decode step ~20x slower.
ONE_THREAD = ["--cpus-per-worker", "1"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tests translate in-process with one thread (as ``--cpus-per-worker 1`` does); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("marian")
    return tiny_marian(root / "m0", seed=0), tiny_marian(root / "m1", seed=1)


def pivots(models: tuple[Path, Path]) -> tuple[Pivot, Pivot]:
    m0, m1 = models
    return Pivot("de", str(m0), str(m1)), Pivot("fr", str(m1), str(m0))


def pivot_flags(models: tuple[Path, Path]) -> list[str]:
    return [flag for p in pivots(models) for flag in ("--pivot", f"{p.name}:{p.forward}:{p.back}")]


def sentences(count: int) -> list[str]:
    """``count`` distinct short sentences over the tiny vocabulary (deterministic)."""
    words = [w for w in tiny_vocab() if w.isalpha()]
    return [f"the {words[i % len(words)]} {words[(7 * i + 3) % len(words)]} is {words[(i // 5) % len(words)]} ."
            for i in range(count)]  # fmt: skip


def test_dedupe_keeps_first_occurrences_and_maps_every_input() -> None:
    unique, index = dedupe(["b", "a", "b", "c", "a"])
    assert unique == ["b", "a", "c"] and index.tolist() == [0, 1, 0, 2, 1]


def test_end_to_end_three_columns_in_input_order(models, tmp_path, capsys) -> None:
    inputs = ["a man plays the guitar .", "", "the  dog\truns", "a man plays the guitar .", "rain", "the dog runs"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(inputs) + "\n", encoding="utf-8")
    out = tmp_path / "views.tsv"
    argv = ["backtranslate", str(source), str(out), "--runner", "local", "--num-beams", "1", "--max-length", "12",
            "--shard-size", "2", "--progress-every", "0", *ONE_THREAD, *pivot_flags(models)]  # fmt: skip
    assert main(argv) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    cleaned = ["a man plays the guitar .", "the dog runs", "a man plays the guitar .", "rain", "the dog runs"]
    assert [line.split("\t")[0] for line in lines] == cleaned  # blank dropped, whitespace normalised, order kept
    unique = list(dict.fromkeys(cleaned))
    de, fr = RoundTrip(pivots(models), GENERATION)(unique)
    expected = {x: (t, t2 or x) for x, t, t2 in zip(unique, de, fr, strict=True)}
    assert [tuple(line.split("\t")[1:]) for line in lines] == [expected[x] for x in cleaned]
    assert de != fr and de != unique  # the two pivots give two different views
    assert not out.with_name("views.tsv.parts").exists()
    pairs = load_texts(str(out))
    assert pairs.original == cleaned and pairs.translations is not None
    captured = capsys.readouterr()
    assert "5 sentences, 3 distinct" in captured.err and "sentences/s, ETA" in captured.err
    assert f"wrote {out}: 5 lines x<TAB>T(x)<TAB>T′(x); 3 distinct sentences translated" in captured.out


def test_each_distinct_sentence_is_translated_once(models, tmp_path, monkeypatch) -> None:
    seen: list[str] = []
    original = translator.RoundTrip.__call__

    def counting(self, texts):  # noqa: ANN001, ANN202
        seen.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(translator.RoundTrip, "__call__", counting)
    inputs = sentences(7) * 3
    source = tmp_path / "in.txt"
    source.write_text("\n".join(inputs), encoding="utf-8")
    argv = ["backtranslate", str(source), str(tmp_path / "out.tsv"), "--runner", "local", "--num-beams", "1",
            "--max-length", "8", "--shard-size", "3", *ONE_THREAD, *pivot_flags(models)]  # fmt: skip
    assert main(argv) == 0
    assert sorted(seen) == sorted(set(inputs))
    assert len((tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()) == 21


def _command(source: Path, out: Path, models: tuple[Path, Path]) -> list[str]:
    return [sys.executable, "-m", "sct.data", "backtranslate", str(source), str(out), "--runner", "local",
            "--num-beams", "1", "--max-length", "12", "--batch-size", "4", "--shard-size", "4",
            "--progress-every", "0", *ONE_THREAD, *pivot_flags(models)]  # fmt: skip


def test_a_killed_run_resumes_from_its_shards_to_one_line_per_input_in_order(models, tmp_path, capsys) -> None:
    distinct = sentences(40)
    inputs = distinct + distinct[::3]  # 40 distinct sentences in 10 shards of 4, and 14 repeats
    source = tmp_path / "in.txt"
    source.write_text("\n".join(inputs) + "\n", encoding="utf-8")
    out = tmp_path / "views.tsv"
    parts = tmp_path / "views.tsv.parts"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = Guarded(_command(source, out, models), tmp_path, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(parts.glob("shard-*.tsv"))) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = len(list(parts.glob("shard-*.tsv")))
    assert not out.exists() and 2 <= done_at_kill < 10, f"the kill came at {done_at_kill} of 10 shards"
    assert main(_command(source, out, models)[3:]) == 0  # the same command again (in-process)
    assert f"backtranslate: {done_at_kill} of 10 shards already done in {parts}: skipped" in capsys.readouterr().err
    lines = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(inputs) and [line[0] for line in lines] == inputs
    de, fr = RoundTrip(pivots(models), Generation(num_beams=1, max_length=12, batch_size=4))(distinct)
    expected = {x: [x, t or x, t2 or x] for x, t, t2 in zip(distinct, de, fr, strict=True)}
    assert lines == [expected[x] for x in inputs]  # the resumed file is the uninterrupted one: nothing lost or mixed


def test_shards_of_another_job_are_refused_not_mixed(models, tmp_path) -> None:
    out = tmp_path / "views.tsv"
    Job(out, sentences(5), pivots(models), GENERATION).open()
    other = Job(out, sentences(5), pivots(models), Generation(num_beams=2, max_length=12))
    with pytest.raises(
        UserError, match=r"views\.tsv\.parts holds shards of another job \(generation\.num_beams: 1 -> 2\)"
    ):
        other.open()
    with pytest.raises(UserError, match=r"inputs_sha256"):
        Job(out, sentences(6)[1:], pivots(models), GENERATION).open()


def test_an_existing_output_is_refused_without_overwrite(models, tmp_path, capsys) -> None:
    (tmp_path / "in.txt").write_text("a dog\n", encoding="utf-8")
    (tmp_path / "out.tsv").write_text("keep me\n", encoding="utf-8")
    argv = ["backtranslate", str(tmp_path / "in.txt"), str(tmp_path / "out.tsv"), "--runner", "local", *ONE_THREAD]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().endswith("out.tsv exists: pass --overwrite to make it again, or another OUT")
    assert (tmp_path / "out.tsv").read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pivot", "de-only"], r"--pivot 'de-only': expected NAME:FORWARD_MODEL:BACK_MODEL"),
        (["--pivot", "de:{m0}:{m1}"], r"--pivot given 1 time\(s\): the three-column training format .* exactly two"),
        (["--pivot", "de:{m0}:{m1}", "--pivot", "fr:{bert}:{m0}"],
         r"--pivot fr: the forward model .* is a bert model, not a sequence-to-sequence translation model"),
        (["--pivot", "de:{m0}:{m1}", "--pivot", "fr:./no/such:{m0}"], r"--pivot fr: cannot load the forward model"),
        (["--num-beams", "0"], r"--num-beams 0: allowed >= 1"),
    ],
)  # fmt: skip
def test_bad_flags_exit_2_with_one_line(models, tiny_model_dir, tmp_path, capsys, flags, message) -> None:
    (tmp_path / "in.txt").write_text("a dog\n", encoding="utf-8")
    names = {"m0": models[0], "m1": models[1], "bert": tiny_model_dir}
    argv = ["backtranslate", str(tmp_path / "in.txt"), str(tmp_path / "out.tsv"), "--runner", "local", *ONE_THREAD]
    assert main(argv + [flag.format(**names) for flag in flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_inputs_from_tsv_columns_and_dataset_columns(models, tmp_path) -> None:
    import datasets

    from sct.data.backtranslation.inputs import read_sentences

    (tmp_path / "pairs.tsv").write_text("a dog\ta cat\n\nthe man\tthe  woman\n", encoding="utf-8")
    assert read_sentences(str(tmp_path / "pairs.tsv"), ["2", "1"]) == ["a cat", "a dog", "the woman", "the man"]
    ds = datasets.Dataset.from_dict({"premise": ["p1", "p2"], "hypothesis": ["h1", ""], "label": [0, 1]})
    ds.save_to_disk(tmp_path / "nli")
    assert read_sentences(str(tmp_path / "nli"), ["premise", "hypothesis"]) == ["p1", "h1", "p2"]
    with pytest.raises(UserError, match=r"no string column \['label'\]"):
        read_sentences(str(tmp_path / "nli"), ["label"])


def test_progress_names_rate_and_eta(capsys) -> None:
    progress = Progress(total=100, done=20, every_s=0.0)
    progress.start -= 2.0  # 2 s ago
    progress.add(10)
    line = capsys.readouterr().err.strip()
    assert line.startswith("backtranslate: 30/100 sentences (30.0%), 5.0 sentences/s, ETA 00:00:1")
