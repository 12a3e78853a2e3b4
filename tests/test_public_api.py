"""The package's public names resolve to the objects the modules define (lazily: ``import sct`` stays cheap)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sct


@pytest.mark.parametrize("name", sct.__all__)
def test_every_public_name_is_the_module_object(name) -> None:
    module = __import__(sct._EXPORTS[name], fromlist=[name])
    assert getattr(sct, name) is getattr(module, name)


def test_unknown_name_and_cheap_import() -> None:
    with pytest.raises(AttributeError, match="module 'sct' has no attribute 'nope'"):
        sct.nope  # noqa: B018
    code = "import sys, sct; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


NO_RAY = [
    "sct.data",
    "sct.trainer",
    "sct.data.run_data",
    "sct.data.paper_data",
    "sct.data.preview",
    "sct.data.__main__",
    "sct.data.backtranslation.job",
    "sct.data.backtranslation.local",
    "sct.data.backtranslation.inputs",
]


def test_the_data_and_training_code_imports_no_ray() -> None:
    """Ray only where work runs on Ray: the Ray Data runner is imported by the code paths that use it. One
    interpreter imports the modules in turn and names the first one after which Ray is loaded."""
    code = (
        "import importlib, sys\n"
        f"for name in {NO_RAY!r}:\n"
        "    importlib.import_module(name)\n"
        "    if any(m == 'ray' or m.startswith('ray.') for m in sys.modules):\n"
        "        print(name); break\n"
        "else:\n"
        "    print('none')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none", f"importing {done.stdout.strip()} loads Ray"


def test_the_ray_data_runner_does_import_ray() -> None:
    """The check above can fail: the one module of sct.data that needs Ray loads it."""
    pytest.importorskip("ray")
    code = "import sys, sct.data.backtranslation.ray_runner; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
