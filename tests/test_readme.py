"""README command blocks paste cleanly: bash parses them, no comment breaks a line continuation, and every
``python -m sct.<cmd> --flag`` exists in that command's argparse parser.

The checkers are tested on small inputs first (``test_checker_*``); the tests marked ``readme`` then apply
them to README.md itself and name the README line of every problem, so a failure says what to fix there.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PARSERS = {
    "data": "sct.data.__main__",
    "train": "sct.train",
    "evaluate": "sct.evaluate.__main__",
    "sweep": "sct.sweep",
    "ablate": "sct.ablate",
    "report": "sct.report",
}
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_COMMENT_AFTER_BACKSLASH = re.compile(r"\\[ \t]+#")
_OPERATORS = {"&&", "||", "|", ";", "&", "(", ")"}


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, first content line (1-based, in the file) and dedented lines."""

    language: str
    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def code_blocks(markdown: str) -> list[Block]:
    """Every fenced block of ``markdown`` (indented fences inside list items included), dedented."""
    blocks: list[Block] = []
    current: tuple[str, str, int, list[str]] | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = _FENCE.match(line)
        if current is None and fence:
            current = (fence.group(1), fence.group(2), number + 1, [])
        elif current is not None and fence and not fence.group(2):
            indent, language, first, body = current
            blocks.append(Block(language, first, tuple(b[len(indent) :] if b.startswith(indent) else b for b in body)))
            current = None
        elif current is not None:
            current[3].append(line)
    return blocks


def bash_syntax_error(script: str) -> str | None:
    """``bash -n``'s complaint about ``script``, or None when it parses."""
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    return result.stderr.strip() or None if result.returncode else None


def broken_continuations(block: Block) -> list[str]:
    """Lines where a comment follows (or swallows) a backslash continuation: pasted, the command stops there."""
    problems = []
    for offset, line in enumerate(block.lines):
        swallowed = line.rstrip().endswith("\\") and re.search(r"(^|\s)#", line)
        if _COMMENT_AFTER_BACKSLASH.search(line) or swallowed:
            problems.append(f"README.md:{block.line + offset}: comment after a '\\' continuation: {line.strip()}")
    return problems


def commands(block: Block) -> list[tuple[int, str]]:
    """(README line, command text) of each logical command: comments dropped, continuations joined."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, line in enumerate(block.lines):
        code = re.sub(r"(^|\s)#.*$", "", line).rstrip()  # what the author meant, even where bash disagrees
        if pending is None:
            pending = (block.line + offset, "")
        joined = pending[1] + " " + code.removesuffix("\\")
        if code.endswith("\\"):
            pending = (pending[0], joined)
        else:
            if joined.strip():
                out.append((pending[0], joined.strip()))
            pending = None
    if pending is not None and pending[1].strip():
        out.append((pending[0], pending[1].strip()))
    return out


def sct_invocations(command: str) -> list[tuple[str, list[str]]]:
    """(sct sub-command, its ``--flags``) for every ``python -m sct.<cmd>`` in a shell command."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    out = []
    for i in range(len(tokens) - 2):
        if tokens[i].startswith("python") and tokens[i + 1] == "-m" and tokens[i + 2].startswith("sct."):
            flags = []
            for token in tokens[i + 3 :]:
                if token in _OPERATORS:
                    break
                if token.startswith("--"):
                    flags.append(token.split("=", 1)[0])
            out.append((tokens[i + 2].removeprefix("sct."), flags))
    return out


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every flag of ``parser`` and of its sub-commands (``python -m sct.data backtranslate --pivot``)."""
    known = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                known |= option_strings(sub)
    return known


def unknown_flags(line: int, command: str) -> list[str]:
    """Problems with the sct commands of ``command``: unknown sub-command or flags its parser lacks."""
    problems = []
    for name, flags in sct_invocations(command):
        if name not in PARSERS:
            problems.append(f"README.md:{line}: python -m sct.{name}: not one of {sorted(PARSERS)}")
            continue
        known = option_strings(importlib.import_module(PARSERS[name]).build_parser())
        problems += [f"README.md:{line}: python -m sct.{name} has no flag {f}" for f in flags if f not in known]
    return problems


# ---------------------------------------------------------------- the checkers on small inputs
@pytest.mark.parametrize(
    ("line", "broken"),
    [
        ("python -m sct.sweep bert-tiny --smoke \\   # 2 trials", True),
        ("python -m sct.sweep bert-tiny --smoke   # comment \\", True),
        ("python -m sct.sweep bert-tiny --smoke \\", False),
        ("pip install -e . && python -m pytest   # a comment, no continuation", False),
        ("echo 'a#b' \\", False),
    ],
)
def test_checker_finds_comments_that_break_continuations(line: str, broken: bool) -> None:
    assert bool(broken_continuations(Block("bash", 7, (line, "  --set x=1")))) is broken


def test_checker_joins_continuations_and_finds_flags() -> None:
    block = Block("bash", 3, ("python -m sct.train --model m \\   # why", "    --output o --set=a=1  # end", "ls -l"))
    assert commands(block) == [(3, "python -m sct.train --model m      --output o --set=a=1"), (5, "ls -l")]
    joined = "ray job submit -- python -m sct.sweep s --storage /x && python -m sct.report e --format md | cat"
    assert sct_invocations(joined) == [("sweep", ["--storage"]), ("report", ["--format"])]
    assert unknown_flags(9, "python -m sct.evaluate m --sts-dir d --nope 1") == [
        "README.md:9: python -m sct.evaluate has no flag --nope"
    ]
    assert unknown_flags(9, "python -m sct.data backtranslate in out --pivot a:b:c --nope 1") == [
        "README.md:9: python -m sct.data has no flag --nope"
    ]
    assert unknown_flags(9, "python -m sct.nothing x") == [
        "README.md:9: python -m sct.nothing: not one of ['ablate', 'data', 'evaluate', 'report', 'sweep', 'train']"
    ]


def test_checker_reads_indented_fences_and_bash_syntax() -> None:
    markdown = "text\n\n   ```bash\n   ray job submit -- \\\n     python -m sct.sweep s\n   ```\n"
    (block,) = code_blocks(markdown)
    assert (block.language, block.line, block.lines) == ("bash", 4, ("ray job submit -- \\", "  python -m sct.sweep s"))
    if shutil.which("bash"):
        assert bash_syntax_error(block.text) is None
        assert "syntax error" in (bash_syntax_error("if then fi (\n") or "")


# ---------------------------------------------------------------- README.md itself
BASH_BLOCKS = [b for b in code_blocks(README.read_text(encoding="utf-8")) if b.language in ("bash", "sh", "shell")]


@pytest.mark.readme
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.parametrize("block", BASH_BLOCKS, ids=lambda b: f"line{b.line}")
def test_readme_bash_block_parses(block: Block) -> None:
    assert bash_syntax_error(block.text) is None


@pytest.mark.readme
@pytest.mark.parametrize("block", BASH_BLOCKS, ids=lambda b: f"line{b.line}")
def test_readme_bash_block_has_no_comment_after_a_continuation(block: Block) -> None:
    assert broken_continuations(block) == []


@pytest.mark.readme
@pytest.mark.parametrize("block", BASH_BLOCKS, ids=lambda b: f"line{b.line}")
def test_readme_sct_flags_exist(block: Block) -> None:
    assert [p for line, command in commands(block) for p in unknown_flags(line, command)] == []


@pytest.mark.readme
def test_readme_has_bash_blocks_and_its_python_blocks_compile() -> None:
    assert len(BASH_BLOCKS) >= 5
    for block in code_blocks(README.read_text(encoding="utf-8")):
        if block.language == "python":
            compile(block.text, f"README.md:{block.line}", "exec")


def named_and_trained_sizes(command: str) -> tuple[str | None, str | None]:
    """(the size a sweep/ablate command names, ``model.name=DIR`` it sets) of one README command."""
    tokens = shlex.split(command)
    if len(tokens) < 4 or tokens[:2] != ["python", "-m"] or tokens[2] not in ("sct.sweep", "sct.ablate"):
        return None, None
    flag = tokens.index("--model") + 1 if "--model" in tokens[:-1] else None
    named = tokens[3] if tokens[2] == "sct.sweep" else (tokens[flag] if flag else None)
    model = next((t.split("=", 1)[1] for t in tokens if t.startswith("model.name=")), None)
    return named, model


@pytest.mark.readme
def test_readme_offline_examples_are_named_for_the_shape_they_train() -> None:
    """``sct.sweep bert-tiny --set model.name=DIR`` must not train another size's shape under bert-tiny's name."""
    from sct.inputs import model_size

    checked = 0
    for block in BASH_BLOCKS:
        for line, command in commands(block):
            named, model = named_and_trained_sizes(command)
            path = README.parent / model if model else None
            if named and path is not None and path.is_dir():
                assert model_size(str(path)) == named, f"README.md:{line}: {named} trains a {model_size(str(path))}"
                checked += 1
    if not checked:
        pytest.skip("no offline example whose model directory exists here (../shared absent)")


TORCH_PIN = re.compile(r"torch==([0-9][0-9A-Za-z.+]*)")


@pytest.mark.readme
def test_readme_installs_the_cpu_wheel_and_names_the_cuda_line() -> None:
    """PyPI's Linux torch is the CUDA build: the set-up line takes PyTorch's CPU index, the CUDA line is named
    for the machine it fits, and the README, CI and the cluster section pin the same release."""
    text = README.read_text(encoding="utf-8")
    setup = commands(BASH_BLOCKS[0])[0][1]
    assert "pip install torch==" in setup and "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert "without an NVIDIA GPU" in text and "Linux machine with an NVIDIA GPU" in text
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    pins = set(TORCH_PIN.findall(text)) | set(TORCH_PIN.findall(ci))
    assert len(pins) == 1, pins
    installs = [c for b in BASH_BLOCKS for _, c in commands(b) if re.search(r"pip install [^&]*torch==", c)]
    assert installs and all("--index-url" in c for c in installs), installs  # no bare PyPI torch in a paste block
