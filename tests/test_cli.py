"""The command line: ``daidai demo`` and ``python -m daidai``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from daidai.cli import main
from daidai.demo import run

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_demo_prints_setups_calls_and_teardowns_in_order() -> None:
    out = io.StringIO()
    run(out)
    text = out.getvalue()
    lines = [line.strip() for line in text.splitlines()]
    # preload builds the dependency chain, dependencies first
    order = [i for i, line in enumerate(lines) if line.startswith("setup")]
    assert [lines[i].split(":")[0] for i in order[:3]] == [
        "setup    corpus",
        "setup    vocabulary",
        "setup    model",
    ]
    # the nested predictor shares the call-scoped trace with its caller
    assert text.count("teardown trace of one call: explain -> classify=") == 4
    # the nested manager builds its own model but not a second corpus
    assert text.count("setup    corpus") == 1
    assert "setup    model: naive Bayes, smoothing=0.1" in text
    assert text.index("teardown model (smoothing=0.1)") < text.index("4. Cold versus warm")
    assert text.index("teardown model (smoothing=1.0)") > text.index("5. Leaving the prod")
    assert "explain('boring, wooden and awful') -> negative" in text


def test_console_script_runs_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from daidai.cli import main; sys.exit(main(['demo']))"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    assert "daidai demo" in result.stdout
    assert result.stdout.rstrip().endswith("done.")


def test_python_dash_m_daidai_is_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daidai", "demo"], capture_output=True, text=True, env=_env()
    )
    assert result.returncode == 0, result.stderr
    assert "teardown model (smoothing=1.0)" in result.stdout


def test_no_command_prints_help_and_fails(capsys: object) -> None:
    assert main([]) == 2
