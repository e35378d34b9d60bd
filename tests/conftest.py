"""Test helpers shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daidai.manager import _Process


@pytest.fixture(autouse=True)
def _close_leftover_managers() -> Iterator[None]:
    """Every test starts with no open manager and no default manager instances."""
    yield
    with _Process.lock:
        leftovers = list(reversed(_Process.open))
        default = _Process.default
    for manager in leftovers:
        manager.close()
    if default is not None:
        default.close()


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_python(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """Run a script in a fresh interpreter (in ``tmp_path``) that imports this checkout's
    daidai; for behaviour that only shows at interpreter exit."""

    def run(code: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        paths = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
