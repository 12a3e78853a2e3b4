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
