"""``daidai_conf.py`` discovery (DESIGN.md 1.6)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from daidai import ConfigError
from daidai.discovery import confs_for

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """A project with a package ``pkg_<test>``: a base tokenizer and an override below it."""
    name = "pkg_" + request.node.name.replace("[", "_").replace("]", "_").replace("-", "_")
    root = tmp_path / "proj"
    write(root / "pyproject.toml", "[project]\nname = 'demo'\n")
    write(root / name / "__init__.py", "")
    write(
        root / name / "models.py",
        """
        from typing import Annotated
        from daidai import artifact, predictor

        @artifact
        def tokenizer() -> str:
            return "base"

        @predictor
        def tokenize(text: str, t: Annotated[str, tokenizer]) -> str:
            return f"{t}:{text}"
        """,
    )
    write(root / name / "sub" / "__init__.py", "")
    write(
        root / name / "sub" / "daidai_conf.py",
        f"""
        from typing import Annotated
        from daidai import artifact
        from {name}.models import tokenizer as base_tokenizer

        IMPORTS = globals().setdefault("IMPORTS", [])
        IMPORTS.append(1)

        @artifact
        def tokenizer(base: Annotated[str, base_tokenizer]) -> str:
            return base + "+sub"
        """,
    )
    write(
        root / name / "sub" / "use.py",
        f"""
        from typing import Annotated
        from daidai import predictor
        from {name}.models import tokenizer

        @predictor
        def use(text: str, t: Annotated[str, tokenizer]) -> str:
            return f"{{t}}:{{text}}"
        """,
    )
    write(
        root / name / "sub" / "deeper" / "use2.py",
        f"""
        from typing import Annotated
        from daidai import predictor
        from {name}.models import tokenizer

        @predictor
        def use2(text: str, t: Annotated[str, tokenizer]) -> str:
            return f"{{t}}:{{text}}"
        """,
    )
    write(root / name / "sub" / "deeper" / "__init__.py", "")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    return root / name


def test_closest_daidai_conf_definition_wins_for_dependents_below_it(project: Path) -> None:
    name = project.name
    use = importlib.import_module(f"{name}.sub.use").use
    use2 = importlib.import_module(f"{name}.sub.deeper.use2").use2
    tokenize = importlib.import_module(f"{name}.models").tokenize
    # the override depends on its own name and gets the definition it replaces
    assert use("x") == "base+sub:x"
    assert use2("x") == "base+sub:x"  # a subdirectory sees its parents' daidai_conf.py
    assert tokenize("x") == "base:x"  # above the conf, the original definition


def test_discovery_does_not_depend_on_the_working_directory(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = f"import {project.name}.sub.use as m; print(m.use('x'))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project.parent), str(ROOT)])}
    for cwd in (elsewhere, project.parent, project / "sub"):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "base+sub:x"


def test_a_conf_already_imported_under_its_package_name_is_not_imported_twice(
    project: Path,
) -> None:
    conf = importlib.import_module(f"{project.name}.sub.daidai_conf")
    use = importlib.import_module(f"{project.name}.sub.use").use
    assert use("x") == "base+sub:x"
    assert conf.IMPORTS == [1]
    found = confs_for(project / "sub" / "use.py")
    assert [c.module for c in found] == [conf]


def test_two_definitions_of_one_name_in_one_conf_is_an_error_naming_both(
    project: Path,
) -> None:
    write(
        project / "sub" / "daidai_conf.py",
        """
        from daidai import artifact

        @artifact
        def tokenizer() -> str:
            return "one"

        @artifact(name="tokenizer")
        def another_tokenizer() -> str:
            return "two"
        """,
    )
    use = importlib.import_module(f"{project.name}.sub.use").use
    with pytest.raises(ConfigError, match=r"defines 'tokenizer' twice: at line 4 and at line 8"):
        use("x")


def test_no_project_root_means_only_the_module_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "loose" / "daidai_conf.py", "")
    write(tmp_path / "loose" / "mod.py", "")
    write(tmp_path / "loose" / "inner" / "mod.py", "")
    # without a pyproject.toml or .git, discovery never walks above the module's directory
    assert confs_for(tmp_path / "loose" / "inner" / "mod.py") == []
    assert len(confs_for(tmp_path / "loose" / "mod.py")) == 1


def test_hooks_in_a_daidai_conf_apply_at_and_below_its_directory_only(project: Path) -> None:
    write(
        project / "sub" / "daidai_conf.py",
        """
        from daidai.plugins import hookimpl

        SEEN = []

        @hookimpl
        def daidai_record_call(record):
            SEEN.append(record.component.name)
        """,
    )
    use = importlib.import_module(f"{project.name}.sub.use").use
    use2 = importlib.import_module(f"{project.name}.sub.deeper.use2").use2
    tokenize = importlib.import_module(f"{project.name}.models").tokenize
    assert tokenize("x") == "base:x"  # defined above the conf: not recorded
    assert use("x") == "base:x"
    assert use2("y") == "base:y"
    conf = confs_for(project / "sub" / "use.py")[0].module
    assert conf.SEEN == ["use", "use2"]
