"""The runnable examples stay runnable and print what their docstrings promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_example() -> None:
    lines = _run("quickstart.py").splitlines()
    assert lines[:3] == [
        "building tokenizer(lowercase=True)",
        "building model(size='large')",
        "positive",
    ]
    prod = lines.index("building model(size='xl')")
    assert lines[prod + 1] == "NEGATIVE"
    assert lines[prod + 2] == "['positive', 'negative', 'positive']"
    assert lines[prod + 3] == "closed model(size='xl')"
    # the prod manager is a root of its own: its session gets its own tokenizer
    assert lines.count("building tokenizer(lowercase=True)") == 2
    # the default manager is closed at exit, after the call-time override ran
    assert lines[-2:] == ["positive", "closed model(size='large')"]


def test_async_example() -> None:
    out = _run("async_client.py").splitlines()
    assert out == [
        "connecting (timeout=5.0)",
        "['echo: question 0', 'echo: question 1', 'echo: question 2']",
        "disconnected",
    ]
