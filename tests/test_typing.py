"""Typing (DESIGN.md 1.8): ``mypy --strict`` accepts the README's examples and catches mistakes.

``tests/typing_cases/readme_examples.py`` holds the README's examples written with
``Annotated`` plus ``assert_type`` checks; it must type-check cleanly and also run. Each
``tests/typing_cases/wrong_*.py`` file marks the lines mypy must reject with
``# expected error``; mypy must report errors on exactly those lines, so the test fails both
when the decorators lose their types (``Any`` accepts everything) and when mypy fails for an
unrelated reason (such as not finding daidai).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "typing_cases"
ROOT = Path(__file__).parent.parent
ERROR_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(path: Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(cache_dir),
            "--no-color-output",
            "--show-error-codes",
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def expected_error_lines(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {number for number, text in enumerate(lines, start=1) if "# expected error" in text}


def reported_error_lines(output: str) -> dict[int, str]:
    return {int(m["line"]): m["message"] for m in ERROR_LINE.finditer(output)}


@pytest.mark.parametrize("case", ["readme_examples.py", "readme_quickstart_files.py"])
def test_readme_examples_pass_mypy_strict(case: str, mypy_cache: Path) -> None:
    result = run_mypy(CASES / case, mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_readme_examples_run(tmp_path: Path) -> None:
    """The typed examples are real code: running them exercises what mypy checked."""
    result = subprocess.run(
        [sys.executable, "-W", "error", str(CASES / "readme_examples.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "readme examples ran" in result.stdout


@pytest.mark.parametrize(
    ("case", "must_mention"),
    [
        ("wrong_return.py", ['"str", not "int"']),
        ("wrong_generator.py", ['"Conn", not "Iterator[Conn]"']),
        ("wrong_async.py", ['"Awaitable[Model]", not "Model"']),
        ("wrong_assignment.py", ['expression has type "str"', 'expression has type "Model"']),
    ],
)
def test_mypy_rejects_wrong_types(case: str, must_mention: list[str], mypy_cache: Path) -> None:
    path = CASES / case
    expected = expected_error_lines(path)
    assert expected, f"{case} marks no line with '# expected error'"
    result = run_mypy(path, mypy_cache)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    reported = reported_error_lines(result.stdout)
    assert set(reported) == expected, output
    for text in must_mention:
        assert text in output, output
