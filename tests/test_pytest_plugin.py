"""The pytest plugin (``daidai.testing.pytest_plugin``), exercised through ``pytester``.

Every run is a subprocess: daidai's registry and managers are process-wide, and the plugin is
loaded exactly as users get it, through the ``pytest11`` entry point.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
    from typing import Annotated
    from daidai import artifact, predictor

    events: list[str] = []
    seen: dict[str, object] = {}

    @artifact(scope="session")
    def model():
        events.append("setup model")
        yield {"kind": "real"}
        events.append("teardown model")

    @artifact(scope="session")
    def pipeline(m: Annotated[dict, model]):
        events.append(f"setup pipeline({m['kind']})")
        yield {"model": m}
        events.append(f"teardown pipeline({m['kind']})")

    @artifact
    def ns_thing():
        events.append("setup ns_thing")
        yield object()
        events.append("teardown ns_thing")

    @artifact(scope="call")
    def call_thing(p: Annotated[dict, pipeline]):
        events.append("setup call_thing")
        yield {"pipeline": p}
        events.append("teardown call_thing")

    @predictor
    def kind(p: Annotated[dict, pipeline]) -> str:
        return p["model"]["kind"]

    @predictor
    def get_pipeline(p: Annotated[dict, pipeline]) -> dict:
        return p

    @predictor
    def get_ns(t: Annotated[object, ns_thing]) -> object:
        return t

    @predictor
    def get_call(c: Annotated[dict, call_thing]) -> dict:
        return c
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with ``app.py`` (the artifacts above) importable from every test."""
    pytester.makepyfile(app=APP)
    pytester.makeini("[pytest]\npythonpath = .\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


# ----------------------------------------------------------------- artifacts as fixtures
def test_artifacts_are_fixtures_with_mapped_scopes(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_scopes="""
        import app

        first = {}

        def test_one(model, pipeline, ns_thing, call_thing):
            assert model == {"kind": "real"} and pipeline["model"] is model
            assert app.get_pipeline() is pipeline and app.get_ns() is ns_thing
            assert app.get_call() is call_thing  # the test is one call scope
            first.update(model=model, ns=ns_thing, call=call_thing)

        def test_two(model, ns_thing, call_thing):
            assert model is first["model"] and ns_thing is first["ns"]
            assert call_thing is not first["call"]
            assert "teardown call_thing" in app.events
            assert app.events.count("setup model") == 1
        """
    )
    result = run(project, "--setup-show")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*SETUP    S model*",
            "*SETUP    S pipeline*",
            "*SETUP    S ns_thing*",
            "*SETUP    F call_thing*",
        ]
    )


def test_fixtures_are_listed_with_their_scope(project: pytest.Pytester) -> None:
    project.makepyfile(test_x="import app\n\ndef test_x():\n    pass\n")
    result = run(project, "--fixtures")
    result.stdout.fnmatch_lines(
        ["call_thing -- *", "model [[]session scope[]] -- *", "*The daidai artifact 'model'*"]
    )


def test_namespace_scope_is_configurable(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\npythonpath = .\ndaidai_namespace_scope = module\n")
    project.makepyfile(
        test_m1="""
        import app

        def test_a(ns_thing):
            assert app.get_ns() is ns_thing
            app.seen["m1"] = ns_thing

        def test_b(ns_thing):
            assert ns_thing is app.seen["m1"]
        """,
        test_m2="""
        import app

        def test_c(ns_thing):
            assert ns_thing is not app.seen["m1"]
            assert app.get_ns() is ns_thing
            assert app.events.count("teardown ns_thing") == 1  # module m1's, at its end
        """,
    )
    result = run(project, "--setup-show")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*SETUP    M ns_thing*"])


def test_namespace_scope_function(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\npythonpath = .\ndaidai_namespace_scope = function\n")
    project.makepyfile(
        test_x="""
        import app

        def test_a(ns_thing):
            assert app.get_ns() is ns_thing
            app.seen["a"] = ns_thing

        def test_b(ns_thing):
            assert ns_thing is not app.seen["a"] and app.get_ns() is ns_thing
            assert app.events.count("teardown ns_thing") == 1
        """
    )
    result = run(project, "--setup-show")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SETUP    F ns_thing*"])


def test_unknown_namespace_scope_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ndaidai_namespace_scope = forever\n")
    project.makepyfile(test_x="def test_x():\n    pass\n")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*daidai_namespace_scope = 'forever'; use one of session*"])


def test_daidai_conf_definitions_are_fixtures_for_their_directory(
    project: pytest.Pytester,
) -> None:
    project.mkpydir("sub")
    project.path.joinpath("sub", "daidai_conf.py").write_text(
        "from daidai import artifact\n\n@artifact(scope='session')\n"
        "def model():\n    return {'kind': 'conf'}\n"
    )
    project.path.joinpath("sub", "test_sub.py").write_text(
        "def test_sub(model):\n    assert model == {'kind': 'conf'}\n"
    )
    project.makepyfile(
        test_root="import app\n\ndef test_root(model):\n    assert model['kind'] == 'real'\n"
    )
    run(project).assert_outcomes(passed=2)


# ------------------------------------------------------------------------------ overrides
def test_override_reaches_predictors_threads_and_dependents_and_never_leaks(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_1_real="""
        import app

        def test_before(pipeline):
            assert pipeline["model"]["kind"] == "real" and app.kind() == "real"
            app.seen["real"] = pipeline
        """,
        test_2_fake="""
        from concurrent.futures import ThreadPoolExecutor
        import pytest
        import app

        @pytest.fixture
        def model():
            return {"kind": "fake"}

        def test_fake(pipeline, model):
            assert pipeline["model"] is model
            assert app.get_pipeline() is pipeline  # the fixture is what predictors use
            with ThreadPoolExecutor(4) as pool:
                assert set(pool.map(lambda _: app.kind(), range(8))) == {"fake"}
            assert "teardown pipeline(fake)" not in app.events
        """,
        test_3_real="""
        import app

        def test_after(pipeline, model):
            assert "teardown pipeline(fake)" in app.events  # torn down with test_fake
            assert pipeline is app.seen["real"] and model["kind"] == "real"
            assert app.kind() == "real" and app.get_pipeline() is pipeline
            assert app.events.count("setup model") == 1
        """,
    )
    run(project).assert_outcomes(passed=3)


def test_override_first_then_real(project: pytest.Pytester) -> None:
    """A session-scoped dependent first built on a fake is not cached for later tests."""
    project.makepyfile(
        test_1_fake="""
        import pytest
        import app

        @pytest.fixture
        def model():
            return {"kind": "fake"}

        def test_fake(pipeline):
            assert pipeline["model"]["kind"] == "fake" and app.kind() == "fake"
        """,
        test_2_real="""
        import app

        def test_real(pipeline):
            assert pipeline["model"]["kind"] == "real" and app.kind() == "real"
            assert app.events.index("teardown pipeline(fake)") < app.events.index(
                "setup pipeline(real)"
            )
        """,
    )
    run(project).assert_outcomes(passed=2)


def test_overrides_from_conftests_and_classes(project: pytest.Pytester) -> None:
    project.mkpydir("sub")
    project.path.joinpath("sub", "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef model():\n    return {'kind': 'conftest'}\n"
    )
    project.path.joinpath("sub", "test_sub.py").write_text(
        "import app\n\ndef test_sub(pipeline):\n"
        "    assert pipeline['model']['kind'] == 'conftest' == app.kind()\n"
    )
    project.makepyfile(
        test_cls="""
        import pytest
        import app

        class TestFake:
            @pytest.fixture
            def model(self):
                return {"kind": "class"}

            def test_inside(self, pipeline):
                assert pipeline["model"]["kind"] == "class" == app.kind()

        def test_outside(pipeline):
            assert pipeline["model"]["kind"] == "real" == app.kind()
        """
    )
    run(project).assert_outcomes(passed=3)


def test_parametrized_override_applies_even_when_not_requested(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_x="""
        import pytest
        import app

        @pytest.fixture(params=["small", "large"])
        def model(request):
            return {"kind": request.param}

        def test_requests(pipeline):
            assert app.kind() == pipeline["model"]["kind"]
            app.seen.setdefault("kinds", []).append(app.kind())

        def test_only_calls():
            app.seen["kinds"].append(app.kind())
            assert sorted(app.seen["kinds"]) in (
                ["large", "small", "small"], ["large", "large", "small", "small"]
            )
        """
    )
    result = run(project, "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_only_calls?large? PASSED*"], consecutive=False)


def test_root_conftest_fixture_overrides(project: pytest.Pytester) -> None:
    project.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef model():\n    return {'kind': 'root'}\n"
    )
    project.makepyfile(
        test_x="""
        import app

        def test_x(model, pipeline):
            assert model["kind"] == "root" and pipeline["model"] is model
            assert app.kind() == "root"
        """
    )
    run(project).assert_outcomes(passed=1)


def test_override_may_wrap_the_artifact_it_replaces(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_x="""
        import pytest
        import app

        @pytest.fixture
        def model(model):
            return {"kind": "wrapped " + model["kind"]}

        def test_x(pipeline):
            assert pipeline["model"]["kind"] == "wrapped real" == app.kind()
        """
    )
    run(project).assert_outcomes(passed=1)


def test_pytest_and_plugin_fixtures_never_override(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="""
        from typing import Annotated
        from daidai import artifact, predictor

        @artifact
        def tmp_path():
            return "artifact tmp_path"

        @artifact
        def monkeypatch():
            return "artifact monkeypatch"

        @predictor
        def both(a: Annotated[str, tmp_path], b: Annotated[str, monkeypatch]) -> tuple:
            return a, b

        def test_x(tmp_path, monkeypatch):
            assert tmp_path.is_dir()  # pytest's fixture keeps its name
            assert both() == ("artifact tmp_path", "artifact monkeypatch")
        """
    )
    run(pytester).assert_outcomes(passed=1)


# ------------------------------------------------------------------------------ isolation
def test_each_test_gets_fresh_daidai_dirs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = tmp_path / "real-home"
    monkeypatch.setenv("DAIDAI_HOME", str(real))
    monkeypatch.setenv("DAIDAI_CACHE_DIR", str(real / "cache"))
    pytester.makepyfile(
        test_x=f"""
        import os
        from pathlib import Path

        seen = []

        def test_a():
            seen.append((os.environ["DAIDAI_HOME"], os.environ["DAIDAI_CACHE_DIR"]))

        def test_b():
            seen.append((os.environ["DAIDAI_HOME"], os.environ["DAIDAI_CACHE_DIR"]))
            dirs = [d for pair in seen for d in pair]
            assert len(set(dirs)) == 4
            assert all(Path(d).is_dir() and not any(Path(d).iterdir()) for d in dirs)
            assert not any(d.startswith({str(real)!r}) for d in dirs)
        """
    )
    run(pytester).assert_outcomes(passed=2)
    assert not real.exists()


def test_plugin_module_imports_no_daidai_module_itself() -> None:
    import daidai.testing.pytest_plugin as plugin

    tree = ast.parse(Path(plugin.__file__).read_text())
    top_level = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            name.startswith("daidai")
            for name in (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
            )
        )
    ]
    assert top_level == []


def test_loading_the_entry_point_does_not_import_the_core() -> None:
    code = (
        "import sys, daidai.testing.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('daidai.') and "
        "not m.startswith('daidai.testing')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------- show and teardown
def test_daidai_show_prints_setups_and_teardowns(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_x="""
        import app

        def test_x():
            assert app.get_call()["pipeline"]["model"]["kind"] == "real"
        """
    )
    result = run(project, "--daidai-show")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "SETUP    artifact model (session)*",
            "SETUP    artifact pipeline (session)*",
            "        SETUP    artifact call_thing (call)*",
            "        TEARDOWN artifact call_thing*",
        ],
        consecutive=False,
    )


def test_daidai_show_reports_session_teardown(project: pytest.Pytester) -> None:
    project.makepyfile(test_x="import app\n\ndef test_x(pipeline):\n    pass\n")
    result = run(project, "--daidai-show")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TEARDOWN artifact pipeline*", "*TEARDOWN artifact model*"])
    assert "artifact" not in run(project).stdout.str()  # silent without the option


def test_session_teardown_errors_are_test_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="""
        from daidai import artifact

        @artifact(scope="session")
        def flaky():
            yield 1
            raise RuntimeError("boom at teardown")

        def test_x(flaky):
            assert flaky == 1
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_x*", "*boom at teardown*"])


def test_teardown_errors_of_overridden_dependents_and_call_scope(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_x="""
        from typing import Annotated
        import pytest
        from daidai import artifact

        @artifact(scope="session")
        def model():
            return "real"

        @artifact(scope="session")
        def dependent(m: Annotated[str, model]):
            yield m
            if m == "fake":
                raise RuntimeError("dependent of the fake failed")

        @artifact(scope="call")
        def per_call():
            yield 1
            raise RuntimeError("call teardown failed")

        class TestFake:
            @pytest.fixture
            def model(self):
                return "fake"

            def test_fake(self, dependent):
                assert dependent == "fake"

        def test_call(per_call):
            assert per_call == 1

        def test_after(dependent):
            assert dependent == "real"
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of TestFake.test_fake*",
            "*dependent of the fake failed*",
            "*ERROR at teardown of test_call*",
            "*call teardown failed*",
        ]
    )


def test_this_suite_runs_with_isolated_daidai_dirs() -> None:
    import os

    home = os.environ["DAIDAI_HOME"]
    cache = os.environ["DAIDAI_CACHE_DIR"]
    assert "daidai-home" in home
    assert "daidai-cache" in cache
    assert os.path.isdir(home)


def test_an_old_pytest_gets_a_warning_and_a_working_run(project: pytest.Pytester) -> None:
    # Simulate pytest < 9.1: no pytest.register_fixture when daidai's plugin configures itself.
    project.makeconftest("import pytest\n\ndel pytest.register_fixture\n")
    project.makepyfile(
        test_old="import app\n\ndef test_plain():\n    assert 'real' in app.kind()\n"
    )
    result = run(project, "-W", "default")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*daidai's pytest plugin needs pytest >= 9.1*"])
