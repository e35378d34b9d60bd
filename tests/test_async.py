"""Async artifacts, async predictors and ``async with ModelManager`` (DESIGN.md 1.4, 1.5).

pytest-asyncio is not used: each test drives its coroutine with ``asyncio.run``.
"""

import asyncio
import inspect
import subprocess
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import pytest

import daidai
from daidai import ModelManager, artifact, current_manager, predictor


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def __repr__(self) -> str:
        return f"Client({self.name!r})"


# ------------------------------------------------------------------------ async artifacts
def test_async_def_artifact_is_built_once_and_injected_into_async_predictor() -> None:
    builds: list[str] = []

    @artifact
    async def client(name: str = "api") -> Client:
        await asyncio.sleep(0)
        builds.append(name)
        return Client(name)

    @predictor
    async def fetch(url: str, c: Annotated[Client, client]) -> tuple[str, Client]:
        await asyncio.sleep(0)
        return url, c

    async def main() -> None:
        async with ModelManager() as mm:
            url, used = await fetch("/a")
            assert url == "/a"
            assert isinstance(used, Client)
            assert (await fetch("/b"))[1] is used
            assert await client() is used
            assert await mm.aload(client) is used
            assert builds == ["api"]

    asyncio.run(main())
    assert builds == ["api"]


def test_async_predictor_is_a_coroutine_function_awaited_by_the_caller() -> None:
    ran: list[str] = []

    @artifact
    def model() -> str:
        return "m"

    @predictor
    async def classify(text: str, m: Annotated[str, model]) -> str:
        ran.append(text)
        return f"{m}:{text}"

    assert inspect.iscoroutinefunction(classify)

    async def main() -> None:
        pending = classify("x")
        assert inspect.isawaitable(pending)
        assert ran == []  # nothing ran before the caller awaited
        assert await pending == "m:x"
        assert ran == ["x"]
        assert await classify("y") == "m:y"

    asyncio.run(main())


def test_model_call_on_an_async_artifact_returns_an_awaitable() -> None:
    builds: list[int] = []

    @artifact
    async def model() -> Client:
        builds.append(1)
        return Client("m")

    async def main() -> None:
        async with ModelManager():
            pending = model()
            assert inspect.isawaitable(pending)
            first = await pending
            assert isinstance(first, Client)
            second = model()
            assert inspect.isawaitable(second)
            assert await second is first
            assert builds == [1]

    asyncio.run(main())


def test_async_artifact_config_via_keywords_and_manager() -> None:
    @artifact
    async def model(size: str = "base") -> str:
        return size

    async def main() -> None:
        async with ModelManager(config={model: {"size": "xl"}}):
            assert await model() == "xl"
            assert await model(size="small") == "small"

    asyncio.run(main())


def test_async_generator_teardown_runs_at_async_with_exit() -> None:
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[Client]:
        events.append("open")
        c = Client("session")
        yield c
        await asyncio.sleep(0)
        c.closed = True
        events.append("close")

    @predictor
    async def fetch(url: str, s: Annotated[Client, session]) -> Client:
        return s

    async def main() -> Client:
        async with ModelManager():
            used = await fetch("/x")
            assert events == ["open"]
            assert not used.closed
        assert events == ["open", "close"]
        return used

    used = asyncio.run(main())
    assert used.closed
    assert events == ["open", "close"]


def test_async_generator_teardown_runs_on_the_loop_that_built_it() -> None:
    loops: list[Any] = []

    @artifact
    async def session() -> AsyncIterator[str]:
        loops.append(asyncio.get_running_loop())
        yield "s"
        loops.append(asyncio.get_running_loop())

    async def main() -> None:
        async with ModelManager([session]):
            pass

    asyncio.run(main())
    assert len(loops) == 2
    assert loops[0] is loops[1]


def test_async_with_preload_builds_async_artifacts_before_the_body() -> None:
    events: list[str] = []

    @artifact
    async def tokenizer() -> AsyncIterator[str]:
        events.append("setup tokenizer")
        yield "tok"
        events.append("teardown tokenizer")

    @artifact
    async def model(t: Annotated[str, tokenizer]) -> AsyncIterator[str]:
        await asyncio.sleep(0)
        events.append("setup model")
        yield f"model({t})"
        events.append("teardown model")

    @predictor
    async def classify(text: str, m: Annotated[str, model]) -> str:
        return f"{m}:{text}"

    async def main() -> None:
        async with ModelManager(preload=[classify]) as mm:
            assert events == ["setup tokenizer", "setup model"]
            assert await classify("x") == "model(tok):x"
            assert await mm.aload(model) == "model(tok)"
            assert events == ["setup tokenizer", "setup model"]
        # dependents torn down before their dependencies
        assert events[2:] == ["teardown model", "teardown tokenizer"]

    asyncio.run(main())


def test_async_with_preload_mapping_configures_async_artifact() -> None:
    builds: list[str] = []

    @artifact
    async def model(size: str = "base") -> str:
        builds.append(size)
        return size

    @predictor
    async def classify(m: Annotated[str, model]) -> str:
        return m

    async def main() -> None:
        async with ModelManager({model: {"size": "xl"}}):
            assert builds == ["xl"]
            assert await classify() == "xl"
        assert builds == ["xl"]

    asyncio.run(main())


def test_sync_predictor_uses_preloaded_async_artifact_inside_a_loop() -> None:
    @artifact
    async def model() -> Client:
        return Client("m")

    @predictor
    def classify(text: str, m: Annotated[Client, model]) -> tuple[str, Client]:
        return text, m

    async def main() -> None:
        async with ModelManager([model]) as mm:
            instance = await mm.aload(model)
            assert classify("x") == ("x", instance)

    asyncio.run(main())


def test_lazy_async_generator_teardown_at_async_with_exit_in_order() -> None:
    events: list[str] = []

    @artifact
    async def base() -> AsyncIterator[str]:
        events.append("setup base")
        yield "base"
        events.append("teardown base")

    @artifact
    def middle(b: Annotated[str, base]):  # type: ignore[no-untyped-def]
        events.append("setup middle")
        yield f"middle({b})"
        events.append("teardown middle")

    @artifact
    async def top(m: Annotated[str, middle]) -> AsyncIterator[str]:
        events.append("setup top")
        yield f"top({m})"
        events.append("teardown top")

    @predictor
    async def run(t: Annotated[str, top]) -> str:
        return t

    async def main() -> None:
        async with ModelManager():
            assert events == []
            assert await run() == "top(middle(base))"
        assert events == [
            "setup base",
            "setup middle",
            "setup top",
            "teardown top",
            "teardown middle",
            "teardown base",
        ]

    asyncio.run(main())


def test_failing_async_teardowns_are_aggregated_and_all_run() -> None:
    events: list[str] = []

    @artifact
    async def first() -> AsyncIterator[str]:
        yield "first"
        events.append("teardown first")
        raise ValueError("first failed")

    @artifact
    async def second() -> AsyncIterator[str]:
        yield "second"
        events.append("teardown second")

    @artifact
    def third():  # type: ignore[no-untyped-def]
        yield "third"
        events.append("teardown third")
        raise KeyError("third failed")

    async def main() -> None:
        async with ModelManager([first, second, third]):
            pass

    with pytest.raises(daidai.TeardownError) as info:
        asyncio.run(main())
    assert events == ["teardown third", "teardown second", "teardown first"]
    assert isinstance(info.value, ExceptionGroup)
    assert [type(e) for e in info.value.exceptions] == [KeyError, ValueError]


def test_body_exception_not_hidden_by_failing_async_teardown() -> None:
    events: list[str] = []

    @artifact
    async def broken() -> AsyncIterator[str]:
        yield "b"
        events.append("teardown")
        raise ValueError("teardown failed")

    async def main() -> None:
        async with ModelManager([broken]):
            raise RuntimeError("body failed")

    with pytest.raises(RuntimeError, match="body failed") as info:
        asyncio.run(main())
    assert events == ["teardown"]
    assert any("teardown failed" in note for note in getattr(info.value, "__notes__", []))


# ------------------------------------------------------------- sync callers, async artifacts
def test_sync_predictor_needing_unbuilt_async_artifact_in_a_loop_is_a_clear_error() -> None:
    builds: list[int] = []

    @artifact
    async def model() -> Client:
        builds.append(1)
        return Client("m")

    @predictor
    def classify(text: str, m: Annotated[Client, model]) -> Client:
        return m

    async def main() -> None:
        async with ModelManager():
            with pytest.raises(daidai.DaidaiError) as info:
                classify("x")
            message = str(info.value)
            assert "preload" in message.lower()
            assert "async" in message
            assert "classify" in message
            assert "model" in message
            # nothing was built (and no coroutine was left un-awaited)
            assert builds == []

    asyncio.run(main())


def test_sync_predictor_error_in_loop_also_through_a_sync_intermediate() -> None:
    @artifact
    async def client() -> Client:
        return Client("c")

    @artifact
    def wrapper(c: Annotated[Client, client]) -> tuple[str, Client]:
        return "wrapper", c

    @predictor
    def classify(w: Annotated[tuple[str, Client], wrapper]) -> str:
        return w[0]

    async def main() -> None:
        async with ModelManager():
            with pytest.raises(daidai.DaidaiError, match=r"(?i)preload"):
                classify()

            # once built by async code, the sync predictor works in the loop
            @predictor
            async def warm(w: Annotated[tuple[str, Client], wrapper]) -> str:
                return w[0]

            assert await warm() == "wrapper"
            assert classify() == "wrapper"

    asyncio.run(main())


def test_sync_predictor_needing_async_artifact_outside_a_loop_works() -> None:
    builds: list[int] = []
    threads: list[str] = []

    @artifact
    async def model() -> Client:
        await asyncio.sleep(0)
        builds.append(1)
        threads.append(threading.current_thread().name)
        return Client("m")

    @predictor
    def classify(text: str, m: Annotated[Client, model]) -> tuple[str, Client]:
        return text, m

    with ModelManager() as mm:
        text, instance = classify("x")
        assert text == "x"
        assert isinstance(instance, Client)
        assert classify("y")[1] is instance
        assert builds == [1]
        assert mm.instances() == 1
    assert threads[0] != threading.current_thread().name  # built on daidai's own loop


def test_sync_predictor_needing_async_artifact_lazily_without_any_manager() -> None:
    builds: list[int] = []

    @artifact
    async def model() -> Client:
        builds.append(1)
        return Client("m")

    @predictor
    def classify(m: Annotated[Client, model]) -> Client:
        return m

    first = classify()
    assert classify() is first
    assert builds == [1]


def test_async_generator_built_from_sync_code_is_torn_down_by_sync_close() -> None:
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "s"
        await asyncio.sleep(0)
        events.append("close")

    @predictor
    def use(s: Annotated[str, session]) -> str:
        return s

    with ModelManager():
        assert use() == "s"
        assert events == ["open"]
    assert events == ["open", "close"]


def test_sync_with_preloads_async_artifacts_outside_a_loop() -> None:
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "s"
        events.append("close")

    @predictor
    def use(s: Annotated[str, session]) -> str:
        return s

    with ModelManager([session]):
        assert events == ["open"]
        assert use() == "s"
    assert events == ["open", "close"]


def test_default_manager_async_generator_teardown_on_close() -> None:
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[str]:
        yield "s"
        events.append("close")

    @predictor
    def use(s: Annotated[str, session]) -> str:
        return s

    assert use() == "s"
    current_manager().close()
    assert events == ["close"]


# -------------------------------------------------------------------- concurrency of tasks
def test_concurrent_first_use_from_many_tasks_builds_once() -> None:
    builds: list[int] = []

    @artifact
    async def model() -> Client:
        builds.append(1)
        await asyncio.sleep(0.05)
        return Client("slow")

    @predictor
    async def classify(i: int, m: Annotated[Client, model]) -> tuple[int, Client]:
        return i, m

    async def main() -> None:
        async with ModelManager() as mm:
            results = await asyncio.gather(*(classify(i) for i in range(32)))
            direct = await asyncio.gather(*(model() for _ in range(8)))
            assert [i for i, _ in results] == list(range(32))
            instance = results[0][1]
            assert all(m is instance for _, m in results)
            assert all(d is instance for d in direct)
            assert mm.instances() == 1
        assert builds == [1]

    asyncio.run(main())


def test_concurrent_first_use_from_many_tasks_of_async_generator_builds_once() -> None:
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[Client]:
        events.append("open")
        await asyncio.sleep(0.05)
        yield Client("s")
        events.append("close")

    async def main() -> None:
        async with ModelManager():
            results = await asyncio.gather(*(session() for _ in range(16)))
            assert all(r is results[0] for r in results)
            assert events == ["open"]
        assert events == ["open", "close"]

    asyncio.run(main())


def test_two_async_artifacts_build_concurrently_on_one_loop() -> None:
    async def main() -> None:
        left_started = asyncio.Event()
        right_started = asyncio.Event()

        @artifact
        async def left() -> str:
            left_started.set()
            await asyncio.wait_for(right_started.wait(), timeout=10)
            return "left"

        @artifact
        async def right() -> str:
            right_started.set()
            await asyncio.wait_for(left_started.wait(), timeout=10)
            return "right"

        async with ModelManager():
            assert await asyncio.gather(left(), right()) == ["left", "right"]

    asyncio.run(main())


def test_async_managers_in_concurrent_tasks_are_isolated() -> None:
    builds: list[str] = []

    @artifact
    async def model() -> Client:
        builds.append("model")
        await asyncio.sleep(0.01)
        return Client("m")

    async def task(name: str) -> tuple[Client, Client, Any]:
        async with ModelManager(namespace=name) as mm:
            first = await model()
            await asyncio.sleep(0.02)  # let the other task run inside its own manager
            assert current_manager() is mm
            return first, await model(), mm

    async def main() -> None:
        (a1, a2, ma), (b1, b2, mb) = await asyncio.gather(task("a"), task("b"))
        assert a1 is a2
        assert b1 is b2
        assert a1 is not b1
        assert ma.namespace == "a"
        assert mb.namespace == "b"

    asyncio.run(main())
    assert builds == ["model", "model"]


# -------------------------------------------------------------------- loops that end early
@pytest.mark.parametrize("manager", ["sync with", "default"])
def test_async_generator_built_in_a_finished_loop_is_still_torn_down(manager: str) -> None:
    """``asyncio.run`` inside a sync manager (or with the default manager): the loop that built
    the async generator ends before the manager does. Its teardown must still run, once."""
    events: list[str] = []

    @artifact
    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "s"
        events.append("close")

    async def main() -> str:
        return await session()

    if manager == "sync with":
        with ModelManager():
            assert asyncio.run(main()) == "s"
            assert events.count("open") == 1
    else:
        assert asyncio.run(main()) == "s"
        current_manager().close()
    assert events == ["open", "close"]


# ------------------------------------------------------------------- nested async managers
def test_nested_async_managers_reuse_or_own_instances() -> None:
    builds: list[str] = []

    @artifact
    async def model_a() -> AsyncIterator[Client]:
        builds.append("a")
        yield Client("a")
        builds.append("teardown a")

    @artifact
    async def model_b() -> AsyncIterator[Client]:
        builds.append("b")
        yield Client("b")
        builds.append("teardown b")

    @predictor
    async def predict_a(text: str, m: Annotated[Client, model_a]) -> Client:
        return m

    async def main() -> None:
        async with ModelManager([model_a], namespace="prod") as prod:
            prod_a = await prod.aload(model_a)
            async with ModelManager([model_b], namespace="staging"):
                assert await predict_a("x") is prod_a
                async with ModelManager([model_a]) as own:
                    own_a = await predict_a("x")
                    assert own_a is not prod_a
                    assert await own.aload(model_a) is own_a
                assert await predict_a("x") is prod_a
            assert builds == ["a", "b", "a", "teardown a", "teardown b"]
        assert builds[-1] == "teardown a"

    asyncio.run(main())


# ------------------------------------------------------------ threads and async artifacts
def test_threads_needing_an_async_artifact_from_sync_code_build_it_once() -> None:
    builds: list[int] = []
    lock = threading.Lock()

    @artifact
    async def model() -> Client:
        with lock:
            builds.append(1)
        await asyncio.sleep(0.05)
        return Client("m")

    @predictor
    def classify(m: Annotated[Client, model]) -> Client:
        return m

    barrier = threading.Barrier(16, timeout=10)

    def worker(_: int) -> Client:
        barrier.wait()
        return classify()

    with ModelManager(), ThreadPoolExecutor(max_workers=16) as executor:
        results = list(executor.map(worker, range(16)))
    assert builds == [1]
    assert all(r is results[0] for r in results)


def test_sync_predictor_waiting_for_a_build_by_a_task_of_its_own_loop_errors() -> None:
    """A sync predictor must not deadlock waiting for an async build on its own loop."""
    outcome: dict[str, Any] = {}

    @artifact
    async def model() -> str:
        await asyncio.sleep(0.1)
        return "m"

    @predictor
    def classify(m: Annotated[str, model]) -> str:
        return m

    async def main() -> None:
        async with ModelManager():
            task = asyncio.create_task(model())
            await asyncio.sleep(0.01)  # the task now holds the claim and sleeps in the build
            try:
                classify()
            except daidai.DaidaiError as exc:
                outcome["error"] = exc
            outcome["built"] = await task
            outcome["after"] = classify()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the sync predictor deadlocked on its own loop"
    assert isinstance(outcome.get("error"), daidai.DaidaiError)
    assert "async" in str(outcome["error"])
    assert outcome["built"] == "m"
    assert outcome["after"] == "m"


def test_task_awaits_a_build_running_in_another_thread() -> None:
    builds: list[int] = []
    started = threading.Event()

    @artifact
    def model() -> Client:
        builds.append(1)
        started.set()
        time.sleep(0.1)
        return Client("threaded")

    @predictor
    async def classify(m: Annotated[Client, model]) -> Client:
        return m

    async def main(manager: ModelManager) -> list[Client]:
        # runs in a thread without a manager of its own: it uses the open manager
        assert await asyncio.to_thread(started.wait, 10)
        return list(await asyncio.gather(*(classify() for _ in range(8))))

    with ModelManager() as mm, ThreadPoolExecutor(max_workers=2) as executor:
        building = executor.submit(model)
        awaited = executor.submit(asyncio.run, main(mm)).result(timeout=30)
        built = building.result(timeout=30)
    assert builds == [1]
    assert all(a is built for a in awaited)


def test_async_generator_of_default_manager_torn_down_at_interpreter_exit(
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    code = textwrap.dedent(
        """
        import asyncio
        from typing import Annotated
        from daidai import artifact, predictor

        @artifact
        async def session():
            print("open", flush=True)
            yield "s"
            await asyncio.sleep(0)
            print("close", flush=True)

        @predictor
        def use(s: Annotated[str, session]):
            return s

        print(use(), flush=True)
        print("end of script", flush=True)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["open", "s", "end of script", "close"]
