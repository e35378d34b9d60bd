"""``daidai list``, ``daidai graph`` and ``daidai plugins``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROJECT = {
    "pyproject.toml": "[project]\nname = 'proj'\n",
    "pkg/__init__.py": "",
    "pkg/helpers.py": "PREFIX = '>'\n",
    "pkg/models.py": '''
        from typing import Annotated

        from daidai import artifact, predictor

        from .helpers import PREFIX


        @artifact(scope="session")
        def model() -> str:
            """The real model.

            Loaded from far away."""
            return "real"


        @artifact
        def tokenizer() -> str:
            """Splits on spaces."""
            return "split"


        @predictor
        def classify(
            text: str, m: Annotated[str, model], tok: Annotated[str, tokenizer]
        ) -> str:
            """Classify a text."""
            return PREFIX + m + text
        ''',
    "pkg/sub/__init__.py": "",
    "pkg/sub/extra.py": '''
        from daidai import artifact

        from ..helpers import PREFIX


        @artifact(scope="call")
        def prefix() -> str:
            """The prefix, relatively imported."""
            return PREFIX
        ''',
    "app/daidai_conf.py": '''
        from daidai import artifact


        @artifact
        def model() -> str:
            """A fake model for the app."""
            return "fake"
        ''',
    "app/main.py": '''
        from typing import Annotated

        from daidai import predictor

        from pkg.models import classify, model

        print("main.py says hello at import")


        @predictor
        def serve(text: str, c: Annotated[object, classify], m: Annotated[str, model]) -> str:
            """Serve the app."""
            return str(c)
        ''',
    "app/broken.py": "import module_that_does_not_exist\n",
    "app/sub/daidai_conf.py": '''
        from daidai import artifact


        @artifact
        def tokenizer() -> str:
            """Tokenizer for sub only."""
            return "sub"
        ''',
    "tools/json.py": '''
        from daidai import artifact


        @artifact
        def settings() -> dict[str, int]:
            """Named like a stdlib module."""
            return {}
        ''',
    ".hidden/secret.py": "raise RuntimeError('hidden dirs are never imported')\n",
    ".venv/lib/venvmod.py": "raise RuntimeError('.venv is never imported')\n",
    "node_modules/nodemod.py": "raise RuntimeError('node_modules is never imported')\n",
    "app/__main__.py": "raise RuntimeError('__main__ is never imported')\n",
}


def write_tree(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
    return base


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "proj", PROJECT)


def run(
    *args: str, cwd: Path, pythonpath: tuple[Path, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT), str(ROOT / "plugins"), *map(str, pythonpath)]
    environ = {k: v for k, v in os.environ.items() if k != "DAIDAI_PLUGINS"}
    environ.update(PYTHONPATH=os.pathsep.join(paths), DAIDAI_DISABLE_PLUGIN_AUTOLOAD="1", **env)
    return subprocess.run(
        [sys.executable, "-m", "daidai", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=120,
    )


def listed(path: str, cwd: Path) -> list[dict[str, Any]]:
    result = run("list", path, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def by_location(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["location"]: e for e in entries}


# ---------------------------------------------------------------------------------- list
def test_list_groups_by_file_with_kind_scope_location_and_docstring(proj: Path) -> None:
    result = run("list", "app", cwd=proj)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sections = re.findall(r"^-- (.+) --$", out, flags=re.MULTILINE)
    assert sections == [
        "app/daidai_conf.py",
        "app/main.py",
        "app/sub/daidai_conf.py",
        "pkg/models.py",
    ]
    lines = out.splitlines()

    def line_of(location: str) -> str:
        return next(line for line in lines if location in line)

    fake = line_of("app/daidai_conf.py:4")
    assert re.match(r"artifact\s+model\s+namespace\s+app/daidai_conf\.py:4\s", fake)
    assert fake.endswith("[in effect] A fake model for the app.")
    real = line_of("pkg/models.py:8")
    assert re.match(r"artifact\s+model\s+session\s+pkg/models\.py:8\s", real)
    # only the docstring's first line, and the definition that replaces it here
    assert real.endswith("[overridden by app/daidai_conf.py:4] The real model.")
    serve = line_of("app/main.py:10")
    assert re.match(r"predictor\s+serve\s+call\s+app/main\.py:10\s+Serve the app\.$", serve)
    assert "[only for app/sub/ and below] Tokenizer for sub only." in line_of(
        "app/sub/daidai_conf.py:4"
    )
    # the section of a file lists its components, and nothing from elsewhere
    section = out.split("-- pkg/models.py --")[1]
    assert [line.split()[1] for line in section.strip().splitlines()] == [
        "model",
        "tokenizer",
        "classify",
    ]


def test_the_closest_definition_is_in_effect_for_the_path(proj: Path) -> None:
    app = by_location(listed("app", proj))
    assert app["app/daidai_conf.py:4"]["status"] == "in effect"
    assert app["pkg/models.py:8"]["status"] == "overridden"
    assert app["pkg/models.py:8"]["overridden_by"] == "app/daidai_conf.py:4"
    assert app["app/sub/daidai_conf.py:4"]["status"] == "local"
    assert app["pkg/models.py:16"]["status"] == "in effect"  # tokenizer: sub's is not visible

    worker = """
        from typing import Annotated

        from daidai import predictor

        from pkg.models import tokenizer


        @predictor
        def work(text: str, tok: Annotated[str, tokenizer]) -> str:
            return text
        """
    write_tree(proj, {"app/sub/worker.py": worker})
    sub = by_location(listed("app/sub", proj))
    assert sub["app/sub/worker.py:8"]["dependencies"][0]["target"] == "app/sub/daidai_conf.py:4"
    assert sub["app/sub/daidai_conf.py:4"]["status"] == "in effect"
    assert sub["pkg/models.py:16"]["overridden_by"] == "app/sub/daidai_conf.py:4"
    assert sub["app/daidai_conf.py:4"]["status"] == "in effect"  # visible from app/sub too

    # from the project root the app's daidai_conf.py only applies to app/
    top = by_location(listed(".", proj))
    assert top["pkg/models.py:8"]["status"] == "in effect"
    assert top["app/daidai_conf.py:4"]["status"] == "local"


def test_a_farther_daidai_conf_is_overridden_by_a_closer_one(tmp_path: Path) -> None:
    conf = '''
        from daidai import artifact


        @artifact
        def config() -> str:
            """{doc}"""
            return "{doc}"
        '''
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "daidai_conf.py": conf.format(doc="top"),
            "a/daidai_conf.py": conf.format(doc="a"),
            "a/b/daidai_conf.py": conf.format(doc="b"),
        },
    )
    entries = by_location(listed("a/b", tmp_path))
    assert entries["a/b/daidai_conf.py:4"]["status"] == "in effect"
    assert entries["a/daidai_conf.py:4"]["overridden_by"] == "a/b/daidai_conf.py:4"
    assert entries["daidai_conf.py:4"]["overridden_by"] == "a/b/daidai_conf.py:4"
    entries = by_location(listed("a", tmp_path))
    assert entries["a/daidai_conf.py:4"]["status"] == "in effect"
    assert entries["daidai_conf.py:4"]["overridden_by"] == "a/daidai_conf.py:4"
    assert entries["a/b/daidai_conf.py:4"]["status"] == "local"


def test_json_describes_every_component(proj: Path) -> None:
    entries = by_location(listed("app", proj))
    serve = entries["app/main.py:10"]
    assert serve["kind"] == "predictor"
    assert serve["name"] == "serve"
    assert serve["scope"] == "call"
    assert serve["file"] == "app/main.py"
    assert serve["line"] == 10
    assert serve["doc"] == "Serve the app."
    assert Path(serve["path"]).resolve() == (proj / "app" / "main.py").resolve()
    assert serve["error"] is None
    # dependencies name the definition actually received: the app's model, not pkg's
    assert serve["dependencies"] == [
        {"param": "c", "name": "classify", "target": "pkg/models.py:22"},
        {"param": "m", "name": "model", "target": "app/daidai_conf.py:4"},
    ]


def test_packages_are_imported_by_dotted_name_so_relative_imports_work(proj: Path) -> None:
    result = run("list", "pkg/sub", "--json", cwd=proj)
    assert result.returncode == 0
    assert result.stderr == ""
    (prefix,) = json.loads(result.stdout)
    assert prefix["name"] == "prefix"
    assert prefix["scope"] == "call"
    assert prefix["id"] == "pkg.sub.extra:prefix"
    assert prefix["doc"] == "The prefix, relatively imported."


def test_a_single_file_can_be_listed(proj: Path) -> None:
    entries = listed("pkg/models.py", proj)
    assert [e["name"] for e in entries] == ["model", "tokenizer", "classify"]


def test_listing_does_not_depend_on_the_working_directory(proj: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_inside = listed("app", proj)
    from_outside = listed(str(proj / "app"), elsewhere)
    assert from_outside == from_inside


def test_a_failing_module_is_a_warning_and_listing_continues(proj: Path) -> None:
    result = run("list", ".", cwd=proj)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: cannot import app/broken.py: ModuleNotFoundError: "
        "No module named 'module_that_does_not_exist'"
    ]
    assert "serve" in result.stdout
    assert "-- tools/json.py --" in result.stdout  # named like a stdlib module: still found
    # hidden directories, .venv, node_modules and __main__.py were never imported
    assert "never imported" not in result.stderr


def test_module_output_does_not_corrupt_json(proj: Path) -> None:
    result = run("list", "app", "--json", cwd=proj)
    assert result.returncode == 0
    json.loads(result.stdout)
    assert "main.py says hello at import" in result.stderr


def test_nothing_to_list(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "", "plain.py": "X = 1\n"})
    result = run("list", cwd=tmp_path)
    assert result.returncode == 0
    assert "no artifacts or predictors are visible from" in result.stdout
    assert listed(".", tmp_path) == []


def test_python_dash_m_and_the_console_script_agree(proj: Path) -> None:
    script = Path(sys.executable).parent / ("daidai.exe" if os.name == "nt" else "daidai")
    if not script.exists():
        pytest.skip("the daidai console script is not installed in this environment")
    module = run("list", "app", cwd=proj)
    environ = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    console = subprocess.run(
        [str(script), "list", "app"], capture_output=True, text=True, cwd=proj, env=environ
    )
    assert module.returncode == console.returncode == 0
    assert module.stdout == console.stdout
    assert "-- app/main.py --" in module.stdout


# --------------------------------------------------------------------------------- graph
def test_graph_is_mermaid_by_default_with_safe_ids_and_effective_edges(proj: Path) -> None:
    result = run("graph", "app", cwd=proj)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "graph TD"
    nodes = dict(re.findall(r'^\s+(\S+)\["(.*)"\]$', result.stdout, flags=re.MULTILINE))
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node) for node in nodes)

    def node(location: str) -> str:
        return next(n for n, label in nodes.items() if location in label)

    assert nodes[node("app/daidai_conf.py:4")].startswith("model<br/>artifact, namespace")
    assert "overridden by app/daidai_conf.py:4" in nodes[node("pkg/models.py:8")]
    edges = set(re.findall(r"^\s+(\w+) -->\|(\w+)\| (\w+)$", result.stdout, flags=re.MULTILINE))
    serve, classify = node("app/main.py:10"), node("pkg/models.py:22")
    assert (serve, "m", node("app/daidai_conf.py:4")) in edges  # the app's override
    assert (serve, "c", classify) in edges
    assert (classify, "m", node("pkg/models.py:8")) in edges  # pkg does not see app's conf
    assert (classify, "tok", node("pkg/models.py:16")) in edges
    assert len(edges) == 4
    assert run("graph", "app", cwd=proj).stdout == result.stdout  # deterministic


def test_graph_as_dot(proj: Path) -> None:
    result = run("graph", "app", "--format", "dot", cwd=proj)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("digraph daidai {\n")
    assert out.rstrip().endswith("}")
    assert '"serve@app/main.py:10" -> "model@app/daidai_conf.py:4" [label="m"];' in out
    assert '"classify@pkg/models.py:22" -> "model@pkg/models.py:8" [label="m"];' in out
    assert re.search(r'"model@pkg/models.py:8" \[label=".*", style=dashed\];', out)
    assert '[label="model\\nartifact, namespace\\napp/daidai_conf.py:4"];' in out


def test_unresolvable_annotations_are_shown_with_a_note(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "mod.py": '''
                from __future__ import annotations

                from typing import Annotated

                from daidai import artifact, predictor


                @artifact
                def base() -> int:
                    return 1


                @predictor
                def later(x: Annotated[int, NotDefinedAnywhere], b: Annotated[int, base]) -> int:
                    """Names something that does not exist."""
                    return x
                ''',
        },
    )
    result = run("graph", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    note = "note: annotations unresolved (NameError: name 'NotDefinedAnywhere' is not defined)"
    assert note in result.stdout
    dot = run("graph", "--format", "dot", cwd=tmp_path)
    assert dot.returncode == 0
    assert note in dot.stdout
    (_, later) = listed(".", tmp_path)
    assert later["error"] == "NameError: name 'NotDefinedAnywhere' is not defined"
    text = run("list", cwd=tmp_path).stdout
    assert "[annotations unresolved: NameError" in text


# ------------------------------------------------------------------------------- plugins
PLUGIN = """
    from daidai.plugins import hookimpl


    class Shout:
        name = "shout"
        safe = True

        def accepts(self, value):
            return isinstance(value, str)

        def dumps(self, value):
            return value.upper().encode()

        def loads(self, data):
            return data.decode()


    @hookimpl
    def daidai_register_serializers(register):
        register("shout", Shout())
    """

CONF_PLUGIN = """
    from daidai import artifact
    from daidai.plugins import hookimpl


    @hookimpl
    def daidai_register_serializers(register):
        register("whisper", object())


    @artifact
    def thing() -> int:
        return 1
    """


@pytest.fixture
def plugin_dirs(tmp_path: Path) -> tuple[Path, Path]:
    modules = write_tree(tmp_path / "modules", {"shoutplug.py": PLUGIN})
    project = write_tree(
        tmp_path / "project", {"pyproject.toml": "", "daidai_conf.py": CONF_PLUGIN}
    )
    return modules, project


def test_plugins_lists_layers_hooks_and_registrations(plugin_dirs: tuple[Path, Path]) -> None:
    modules, project = plugin_dirs
    result = run("plugins", cwd=project, pythonpath=(modules,), DAIDAI_PLUGINS="shoutplug")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    heads = [line.split() for line in lines if not line.startswith(" ")]
    assert heads[0][:2] == ["daidai.core", "builtin"]
    layers = [head[1] for head in heads]
    assert layers == sorted(layers, key=["builtin", "entrypoint", "manager", "conf"].index)
    assert heads[-2][:4] == ["shoutplug", "entrypoint", "hooks:", "daidai_register_serializers"]
    assert heads[-1][:4] == ["daidai_conf.py", "conf", "hooks:", "daidai_register_serializers"]
    shout = lines.index(next(line for line in lines if line.startswith("shoutplug")))
    assert lines[shout + 1].split() == ["serializers:", "shout"]
    assert lines[-1].split() == ["serializers:", "whisper"]


def test_plugins_as_json(plugin_dirs: tuple[Path, Path]) -> None:
    modules, project = plugin_dirs
    result = run(
        "plugins", "--json", cwd=project, pythonpath=(modules,), DAIDAI_PLUGINS="shoutplug"
    )
    assert result.returncode == 0, result.stderr
    infos = {info["name"]: info for info in json.loads(result.stdout)}
    assert infos["shoutplug"] == {
        "name": "shoutplug",
        "layer": "entrypoint",
        "hooks": ["daidai_register_serializers"],
        "registered": {"serializers": ["shout"]},
    }
    assert infos["daidai_conf.py"]["layer"] == "conf"
    assert infos["daidai.core"]["layer"] == "builtin"
    assert all(
        info["layer"] == "builtin"
        for name, info in infos.items()
        if name.startswith("daidai_builtin")
    )


def test_a_plugin_that_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    result = run("plugins", cwd=tmp_path, DAIDAI_PLUGINS="no_such_plugin_module")
    assert result.returncode == 1
    assert "no_such_plugin_module" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------ usage and errors
@pytest.mark.parametrize("command", ["list", "graph", "plugins"])
def test_a_missing_path_exits_1_with_a_clear_message(tmp_path: Path, command: str) -> None:
    result = run(command, "does/not/exist", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"daidai {command}: error: 'does/not/exist' does not exist"


@pytest.mark.parametrize(
    "args", [["list", "--nope"], ["graph", "--format", "png"], ["list", "a", "b"], ["nope"]]
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: daidai" in result.stderr


@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        ("list", "daidai_conf.py"),
        ("graph", "--format {mermaid,dot}"),
        ("plugins", "load order"),
    ],
)
def test_every_command_has_help(tmp_path: Path, command: str, phrase: str) -> None:
    result = run(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert phrase in " ".join(result.stdout.split())
    top = run("--help", cwd=tmp_path)
    assert command in top.stdout


def test_same_names_in_unrelated_modules_never_shadow_each_other(tmp_path: Path) -> None:
    module = """
        from daidai import artifact


        @artifact
        def model() -> str:
            return "x"
        """
    write_tree(tmp_path, {"pyproject.toml": "", "a/one.py": module, "b/two.py": module})
    entries = listed(".", tmp_path)
    assert [(e["location"], e["status"]) for e in entries] == [
        ("a/one.py:4", "in effect"),
        ("b/two.py:4", "in effect"),
    ]
    text = run("list", cwd=tmp_path).stdout
    assert "[" not in text


def test_a_daidai_conf_on_another_branch_only_applies_there(proj: Path) -> None:
    conf = '''
        from daidai import artifact


        @artifact
        def tokenizer() -> str:
            """The subpackage's own replacement."""
            return "pkg"
        '''
    user = """
        from typing import Annotated

        from daidai import predictor

        from pkg.models import tokenizer


        @predictor
        def use(tok: Annotated[str, tokenizer]) -> str:
            return tok
        """
    more = """
        from typing import Annotated

        from daidai import predictor

        from pkg.sub.user import use


        @predictor
        def more(u: Annotated[object, use]) -> object:
            return u
        """
    write_tree(proj, {"pkg/sub/daidai_conf.py": conf, "pkg/sub/user.py": user, "app/more.py": more})
    entries = by_location(listed("app", proj))
    # use (in pkg/sub/) receives pkg/sub's replacement; for app/ it is not in effect
    assert entries["pkg/sub/user.py:8"]["dependencies"][0]["target"] == "pkg/sub/daidai_conf.py:4"
    assert entries["pkg/sub/daidai_conf.py:4"]["status"] == "local"
    assert entries["pkg/models.py:16"]["status"] == "in effect"
