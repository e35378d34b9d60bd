"""Managers and threads (DESIGN.md 1.4).

- a thread pool started inside a manager uses that manager;
- a thread that enters its own manager uses its own;
- concurrent first use builds an instance exactly once (a lock per instance);
- two different instances build in parallel (never one global lock).

Sleeps only widen race windows; no assertion depends on timing. Barriers have timeouts so a
broken implementation fails instead of hanging.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import daidai
from daidai import ModelManager, artifact, current_manager, predictor

N_THREADS = 16
BARRIER_TIMEOUT = 10.0


class Model:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Model({self.name!r})"


def _run_together(n: int, fn: Callable[[], Any]) -> list[Any]:
    """Start ``fn`` in ``n`` threads released together by a barrier; return results in order.

    Exceptions are returned as values so that a failing thread fails the test with its error.
    """
    barrier = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
    results: list[Any] = [None] * n

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = fn()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker thread hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return results


# ------------------------------------------------------------------------ which manager serves
def test_thread_pool_started_inside_a_manager_uses_it() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("shared")

    @predictor
    def sentiment_classifier(text: str, m: Annotated[Model, model]) -> tuple[str, Model]:
        return text, m

    def worker_function(chunk: str) -> tuple[str, Model, Model, Any]:
        text, m = sentiment_classifier(chunk)
        return text, m, model(), current_manager()

    with ModelManager(preload=[sentiment_classifier]) as manager:
        instance = manager.load(model)
        with ThreadPoolExecutor(max_workers=4) as executor:
            results = list(executor.map(worker_function, [f"chunk{i}" for i in range(20)]))
    assert [r[0] for r in results] == [f"chunk{i}" for i in range(20)]
    assert all(r[1] is instance and r[2] is instance for r in results)
    assert all(r[3] is manager for r in results)
    assert builds == ["model"]


def test_lazy_build_in_a_pool_thread_goes_to_the_open_manager() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("lazy")
        events.append("teardown")

    with ModelManager() as manager:
        with ThreadPoolExecutor(max_workers=4) as executor:
            built = list(executor.map(lambda _: model(), range(8)))
        assert all(b is built[0] for b in built)
        assert manager.instances() == 1
        assert model() is built[0]  # the main thread sees the instance the pool built
        assert events == ["setup"]
    assert events == ["setup", "teardown"]  # torn down with the manager, not at exit


def test_pool_thread_uses_the_innermost_open_manager() -> None:
    @artifact
    def model_a() -> Model:
        return Model("a")

    @artifact
    def model_b() -> Model:
        return Model("b")

    with (
        ModelManager([model_a], namespace="prod") as prod,
        ModelManager([model_b], namespace="staging") as staging,
    ):
        with ThreadPoolExecutor(max_workers=2) as executor:
            a, b, serving = executor.submit(
                lambda: (model_a(), model_b(), current_manager())
            ).result()
        assert serving is staging
        assert a is prod.load(model_a)
        assert b is staging.load(model_b)


def test_thread_that_enters_its_own_manager_uses_its_own() -> None:
    events: list[str] = []
    lock = threading.Lock()
    counter = iter(range(100))

    @artifact
    def model():  # type: ignore[no-untyped-def]
        with lock:
            name = f"model{next(counter)}"
            events.append(f"setup {name}")
        yield Model(name)
        with lock:
            events.append(f"teardown {name}")

    @predictor
    def my_predictor(data: int, m: Annotated[Model, model]) -> tuple[int, Model]:
        return data, m

    def worker_function(data: int) -> tuple[int, Model, Model, Any, str]:
        with ModelManager([model], namespace=str(threading.get_ident())) as manager:
            result, m = my_predictor(data)
            assert current_manager() is manager
            return result, m, model(), manager, threading.current_thread().name

    with ModelManager([model]) as main_manager:
        main_model = main_manager.load(model)
        with ThreadPoolExecutor(max_workers=4) as executor:
            results = list(executor.map(worker_function, range(8)))
        assert [r[0] for r in results] == list(range(8))
        for _, used, loaded, manager, _ in results:
            assert used is loaded
            assert used is not main_model
            assert manager is not main_manager
            assert manager.closed
        # every thread's manager built its own model: 8 distinct ones
        assert len({id(r[1]) for r in results}) == 8
        assert model() is main_model
        assert main_manager.instances() == 1
        # the threads' managers tore down their own models; the main one is still alive
        assert sum(e.startswith("teardown") for e in events) == 8
        assert f"teardown {main_model.name}" not in events
    assert events[-1] == f"teardown {main_model.name}"
    assert sum(e.startswith("setup") for e in events) == 9


def test_thread_with_its_own_empty_manager_builds_lazily_into_it() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("thread")
        events.append("teardown")

    def worker() -> tuple[Model, int]:
        with ModelManager() as own:
            instance = model()
            return instance, own.instances()

    with ThreadPoolExecutor(max_workers=1) as executor:
        instance, held = executor.submit(worker).result()
    assert held == 1
    assert events == ["setup", "teardown"]  # torn down when the thread's manager exited
    assert model() is not instance


def test_thread_own_manager_does_not_change_the_main_threads_manager() -> None:
    entered = threading.Event()
    release = threading.Event()
    seen: dict[str, Any] = {}

    def worker() -> None:
        with ModelManager(namespace="worker") as own:
            seen["worker"] = own
            entered.set()
            release.wait(timeout=BARRIER_TIMEOUT)

    with ModelManager(namespace="main") as main_manager:
        thread = threading.Thread(target=worker)
        thread.start()
        assert entered.wait(timeout=BARRIER_TIMEOUT)
        try:
            # the main thread's own innermost manager wins over the most recently entered one
            assert current_manager() is main_manager
        finally:
            release.set()
            thread.join(timeout=30)
    assert seen["worker"].closed


# ------------------------------------------------------------------- concurrent first use
def _slow_counted_artifact(builds: list[int], lock: threading.Lock) -> Any:
    @artifact
    def slow_model() -> Model:
        with lock:
            builds.append(1)
        time.sleep(0.05)
        return Model("slow")

    return slow_model


def test_concurrent_first_use_builds_once_in_the_default_manager() -> None:
    builds: list[int] = []
    slow_model = _slow_counted_artifact(builds, threading.Lock())

    results = _run_together(N_THREADS, slow_model)
    assert len(builds) == 1
    assert all(r is results[0] for r in results)
    assert slow_model() is results[0]
    assert len(builds) == 1


def test_concurrent_first_use_builds_once_inside_a_manager() -> None:
    builds: list[int] = []
    slow_model = _slow_counted_artifact(builds, threading.Lock())

    @predictor
    def classify(text: str, m: Annotated[Model, slow_model]) -> Model:
        return m

    with ModelManager() as manager:
        results = _run_together(N_THREADS, lambda: classify("x"))
        assert len(builds) == 1
        assert all(r is results[0] for r in results)
        assert manager.load(slow_model) is results[0]
        assert manager.instances() == 1


def test_concurrent_first_use_of_a_chain_builds_each_once() -> None:
    builds: dict[str, int] = {}
    lock = threading.Lock()

    def count(name: str) -> None:
        with lock:
            builds[name] = builds.get(name, 0) + 1
        time.sleep(0.05)

    @artifact
    def weights() -> str:
        count("weights")
        return "weights"

    @artifact
    def model(w: Annotated[str, weights]) -> Model:
        count("model")
        return Model(w)

    @artifact
    def tokenizer() -> str:
        count("tokenizer")
        return "tok"

    @predictor
    def classify(m: Annotated[Model, model], t: Annotated[str, tokenizer]) -> tuple[Model, str]:
        return m, t

    @predictor
    def other(m: Annotated[Model, model]) -> Model:
        return m

    def call(index: int) -> Model:
        return classify()[0] if index % 2 else other()

    counter = iter(range(N_THREADS))
    with ModelManager():
        results = _run_together(N_THREADS, lambda: call(next(counter)))
    assert builds == {"weights": 1, "model": 1, "tokenizer": 1}
    assert all(r is results[0] for r in results)


def test_concurrent_first_use_with_config_builds_once_per_config() -> None:
    builds: list[str] = []
    lock = threading.Lock()

    @artifact
    def model(size: str = "base") -> Model:
        with lock:
            builds.append(size)
        time.sleep(0.05)
        return Model(size)

    counter = iter(range(N_THREADS))
    results = _run_together(N_THREADS, lambda: model(size=("a", "b")[next(counter) % 2]))
    assert sorted(builds) == ["a", "b"]
    by_size: dict[str, set[int]] = {}
    for r in results:
        by_size.setdefault(r.name, set()).add(id(r))
    assert {k: len(v) for k, v in by_size.items()} == {"a": 1, "b": 1}


def test_a_failed_concurrent_build_fails_every_waiter_and_can_be_retried() -> None:
    attempts: list[int] = []
    lock = threading.Lock()

    @artifact
    def flaky() -> Model:
        with lock:
            attempts.append(1)
            first = len(attempts) == 1
        time.sleep(0.05)
        if first:
            raise OSError("transient")
        return Model("ok")

    barrier = threading.Barrier(N_THREADS, timeout=BARRIER_TIMEOUT)
    outcomes: list[Any] = [None] * N_THREADS

    def worker(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = flaky()
        except Exception as exc:
            outcomes[index] = exc

    with ModelManager():
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(N_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        failures = [o for o in outcomes if isinstance(o, Exception)]
        successes = [o for o in outcomes if isinstance(o, Model)]
        assert len(failures) + len(successes) == N_THREADS
        assert failures, "the first build failed, so at least its own caller saw it"
        assert all(isinstance(f, daidai.BuildError) for f in failures)
        # the failed build is not cached: the next caller builds again and succeeds
        again = flaky()
        assert again.name == "ok"
        assert all(s is again for s in successes)
        assert flaky() is again
    assert len(attempts) == 2


# -------------------------------------------------------------------- builds run in parallel
def test_two_different_artifacts_build_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    @artifact
    def left() -> str:
        barrier.wait()  # returns only once `right` is being built at the same time
        return "left"

    @artifact
    def right() -> str:
        barrier.wait()
        return "right"

    with ModelManager(), ThreadPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(left), executor.submit(right)]
        assert [f.result(timeout=60) for f in futures] == ["left", "right"]
    assert not barrier.broken


def test_two_different_artifacts_build_in_parallel_in_the_default_manager() -> None:
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    @artifact
    def left() -> str:
        barrier.wait()
        return "left"

    @artifact
    def right() -> str:
        barrier.wait()
        return "right"

    @predictor
    def use_left(x: Annotated[str, left]) -> str:
        return x

    @predictor
    def use_right(x: Annotated[str, right]) -> str:
        return x

    with ThreadPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(use_left), executor.submit(use_right)]
        assert [f.result(timeout=60) for f in futures] == ["left", "right"]


def test_two_configurations_of_one_artifact_build_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    @artifact
    def model(size: str = "base") -> Model:
        barrier.wait()
        return Model(size)

    with ModelManager(), ThreadPoolExecutor(max_workers=2) as executor:
        small = executor.submit(model, size="small")
        large = executor.submit(model, size="large")
        assert small.result(timeout=60).name == "small"
        assert large.result(timeout=60).name == "large"


def test_dependency_shared_by_two_parallel_builds_is_built_once() -> None:
    builds: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    @artifact
    def shared() -> str:
        with lock:
            builds.append("shared")
        time.sleep(0.05)
        return "shared"

    @artifact
    def left(s: Annotated[str, shared]) -> str:
        barrier.wait()
        return f"left({s})"

    @artifact
    def right(s: Annotated[str, shared]) -> str:
        barrier.wait()
        return f"right({s})"

    with ModelManager(), ThreadPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(left), executor.submit(right)]
        assert [f.result(timeout=60) for f in futures] == ["left(shared)", "right(shared)"]
    assert builds == ["shared"]


# --------------------------------------------------------------------- closing and threads
def test_concurrent_close_tears_down_once() -> None:
    events: list[str] = []
    lock = threading.Lock()

    @artifact
    def model():  # type: ignore[no-untyped-def]
        yield Model("m")
        with lock:
            events.append("teardown")

    manager = ModelManager([model])
    _run_together(N_THREADS, manager.close)
    assert events == ["teardown"]
    assert manager.closed


def test_manager_closed_from_another_thread_stops_serving_its_creator() -> None:
    builds: list[int] = []

    @artifact
    def model() -> Model:
        builds.append(1)
        return Model(f"m{len(builds)}")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    manager = ModelManager([classify])
    first = classify()
    assert model() is first
    closer = threading.Thread(target=manager.close)
    closer.start()
    closer.join(timeout=30)
    assert manager.closed
    # the creating thread's context still remembers the closed manager: it must not serve
    second = classify()
    assert second is not first
    assert model() is second
    assert current_manager() is not manager
    assert len(builds) == 2


def test_build_in_flight_when_the_manager_closes_is_not_leaked() -> None:
    """A build that finishes after its manager closed must still be torn down (or close must
    wait for it): its finalizer may never be silently dropped."""
    events: list[str] = []
    started = threading.Event()
    release = threading.Event()

    @artifact
    def slow():  # type: ignore[no-untyped-def]
        events.append("setup")
        started.set()
        release.wait(timeout=BARRIER_TIMEOUT)
        yield "slow"
        events.append("teardown")

    manager = ModelManager()
    outcome: list[Any] = []

    def build() -> None:
        try:
            outcome.append(manager.load(slow))
        except Exception as exc:
            outcome.append(exc)

    builder = threading.Thread(target=build)
    builder.start()
    assert started.wait(timeout=BARRIER_TIMEOUT)
    closer = threading.Thread(target=manager.close)
    closer.start()
    time.sleep(0.05)  # let close() start while the build is still running
    release.set()
    closer.join(timeout=30)
    builder.join(timeout=30)
    assert not builder.is_alive()
    assert not closer.is_alive()
    assert manager.closed
    assert events == ["setup", "teardown"]
