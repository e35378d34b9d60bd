"""What a daidai predictor call and a cold load cost, against baselines measured in the same run.

Run from the repository root::

    uv run python bench/call_overhead.py            # full run: 7 rounds x 200,000 calls
    uv run python bench/call_overhead.py --quick    # a few seconds, for a smoke test

Figures (see bench/README.md for what each one means):

1. *Warm call*: a predictor with one positional input and two injected artifacts, called inside
   ``with ModelManager(preload=[predict])``, against the same undecorated function called with
   the two values passed positionally (the *plain call*). Median of ``--rounds`` rounds of
   ``--calls`` calls each; both sides use the same ``for _ in range(n): f(...)`` loop.
2. The same for daidai 0.0.7 from PyPI, installed into a throwaway virtualenv cached under
   ``--cache-dir`` (outside the repository) and measured by this very file run in that venv's
   interpreter with ``--worker``, so both versions are timed by identical code. The 0.0.7
   process measures its own plain-call baseline.
3. *Cold load*: building a 50-artifact chain (``a0 <- a1 <- ... <- a49``) and a 50-artifact
   fan-in (one artifact injecting 50 independent ones) in a fresh ``ModelManager``, for both
   versions.

Nothing here asserts on timings: the script reports, people judge.

The module imports nothing but the standard library at import time, because ``--worker`` runs it
under another interpreter whose ``daidai`` is a different release.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

LEGACY_VERSION = "0.0.7"
WARM_RATIO_TARGET = 8.0  # a warm call costs at most 8x a plain call
SPEEDUP_TARGET = 30.0  # ... and at least 30x less than daidai 0.0.7's
ISSUE_LEGACY_RATIO = 230.0  # what the issue measured for 0.0.7 (x plain, about 8 us)

Result = dict[str, Any]


# ------------------------------------------------------------------------------------ timing
# The loops below are the only code inside the timed region. Both sides of a comparison run the
# same loop shape, so the loop's own cost (about 10-20 ns per iteration) is in both figures.
def _loop_predictor(fn: Callable[[Any], Any], x: Any, n: int) -> None:
    for _ in range(n):
        fn(x)


def _loop_plain(fn: Callable[[Any, Any, Any], Any], x: Any, m: Any, t: Any, n: int) -> None:
    for _ in range(n):
        fn(x, m, t)


def _loop_empty(x: Any, n: int) -> None:
    for _ in range(n):
        pass


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Collect first, then keep the collector out of the timed region."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ns_per_call(loop: Callable[[], None], n: int) -> float:
    with _gc_paused():
        start = time.perf_counter_ns()
        loop()
        elapsed = time.perf_counter_ns() - start
    return elapsed / n


# ------------------------------------------------------------------------- component builders
def _decorators(dd: ModuleType) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(artifact, predictor)``; 0.0.7 calls the artifact decorator ``asset``."""
    artifact = getattr(dd, "artifact", None) or dd.asset
    return artifact, dd.predictor


def _define(dd: ModuleType, module: str, source: str) -> dict[str, Any]:
    """Run generated definitions in a fresh namespace acting as module ``module``.

    Annotations are evaluated when the source runs (no ``from __future__ import annotations``
    there), which 0.0.7 needs: it reads type hints at decoration time. A distinct module name
    per figure gives every component a distinct ``module:qualname`` identity, and a distinct
    function name keeps 0.0.7 (which registers components by ``__name__``) apart too.
    """
    artifact, predictor = _decorators(dd)
    namespace: dict[str, Any] = {
        "__name__": module,
        "Annotated": Annotated,
        "artifact": artifact,
        "predictor": predictor,
    }
    exec(compile(source, f"<daidai bench: {module}>", "exec"), namespace)
    return namespace


_WARM_SOURCE = """
@artifact
def bench_model():
    return {"weights": 2}

@artifact
def bench_tokenizer():
    return {"vocab": 3}

def predict(
    x,
    model: Annotated[object, bench_model],
    tokenizer: Annotated[object, bench_tokenizer],
):
    return x

bench_predict = predictor(predict)
"""


def _chain_source(size: int) -> str:
    lines = ["@artifact", "def chain_0():", "    return (0, None)"]
    for i in range(1, size):
        lines += [
            "@artifact",
            f"def chain_{i}(previous: Annotated[object, chain_{i - 1}]):",
            f"    return ({i}, previous)",
        ]
    return "\n".join(lines) + "\n"


def _fan_in_source(size: int) -> str:
    lines: list[str] = []
    for i in range(size):
        lines += ["@artifact", f"def leaf_{i}():", f"    return ({i},)"]
    params = ", ".join(f"p{i}: Annotated[object, leaf_{i}]" for i in range(size))
    values = ", ".join(f"p{i}" for i in range(size))
    lines += ["@artifact", f"def hub({params}):", f"    return ({values},)"]
    return "\n".join(lines) + "\n"


def _check_chain(value: Any, size: int) -> None:
    depth = 0
    while value is not None:
        index, value = value
        if index != size - 1 - depth:
            raise AssertionError(f"chain element {depth} is {index}, expected {size - 1 - depth}")
        depth += 1
    if depth != size:
        raise AssertionError(f"chain has {depth} elements, expected {size}")


def _check_fan_in(value: Any, size: int) -> None:
    if value != tuple((i,) for i in range(size)):
        raise AssertionError(f"fan-in value is wrong: {value!r:.200}")


# ------------------------------------------------------------------------------- measurements
def measure_warm(dd: ModuleType, rounds: int, calls: int) -> Result:
    """Warm predictor call vs plain call, interleaved round by round."""
    ns = _define(dd, "daidai_bench_warm", _WARM_SOURCE)
    plain, predict = ns["predict"], ns["bench_predict"]
    predictor_ns: list[float] = []
    plain_ns: list[float] = []
    empty_ns: list[float] = []
    with dd.ModelManager(preload=[predict]):
        model, tokenizer = ns["bench_model"](), ns["bench_tokenizer"]()
        if predict(1) != plain(1, model, tokenizer):  # also warms the fast path
            raise AssertionError("the predictor and the plain function disagree")
        _loop_predictor(predict, 1, min(calls, 10_000))  # settle caches before round 1
        _loop_plain(plain, 1, model, tokenizer, min(calls, 10_000))
        for _ in range(rounds):
            predictor_ns.append(_ns_per_call(lambda: _loop_predictor(predict, 1, calls), calls))
            plain_ns.append(
                _ns_per_call(lambda: _loop_plain(plain, 1, model, tokenizer, calls), calls)
            )
            empty_ns.append(_ns_per_call(lambda: _loop_empty(1, calls), calls))
    return {
        "predictor_ns": statistics.median(predictor_ns),
        "plain_ns": statistics.median(plain_ns),
        "loop_ns": statistics.median(empty_ns),
        "predictor_rounds": predictor_ns,
        "plain_rounds": plain_ns,
    }


def measure_cold(dd: ModuleType, rounds: int, size: int) -> Result:
    """Build a chain and a fan-in from scratch in new managers; median build time per shape.

    Definitions are created (and, for daidai, parsed) once, then one untimed round warms
    imports and lazily parsed signatures. Each timed round constructs a new
    ``ModelManager(preload=[top])`` (construction builds the preload) and closes it untimed.
    """
    chain = _define(dd, "daidai_bench_chain", _chain_source(size))
    fan_in = _define(dd, "daidai_bench_fan_in", _fan_in_source(size))
    shapes = {
        "chain": (chain[f"chain_{size - 1}"], size, _check_chain),
        "fan_in": (fan_in["hub"], size + 1, _check_fan_in),
    }
    out: Result = {}
    for shape, (top, instances, check) in shapes.items():
        times: list[float] = []
        for round_ in range(rounds + 1):
            with _gc_paused():
                start = time.perf_counter_ns()
                manager = dd.ModelManager(preload=[top])
                elapsed = time.perf_counter_ns() - start
            try:
                if round_ == 0:
                    check(top(), size)
                else:
                    times.append(elapsed)
            finally:
                manager.close()
        median_ns = statistics.median(times)
        out[shape] = {
            "rounds_ns": times,
            "ms_per_load": median_ns / 1e6,
            "us_per_artifact": median_ns / 1e3 / instances,
            "instances": instances,
        }
    return out


def measure(rounds: int, calls: int, cold_rounds: int, size: int) -> Result:
    """Every figure for whichever ``daidai`` this interpreter imports."""
    dd = importlib.import_module("daidai")
    return {
        "version": importlib.metadata.version("daidai"),
        "daidai_file": dd.__file__,
        "python": platform.python_version(),
        "warm": measure_warm(dd, rounds, calls),
        "cold": measure_cold(dd, cold_rounds, size),
    }


# --------------------------------------------------------------------------- the 0.0.7 venv
class LegacyUnavailable(Exception):
    """The old release could not be installed or measured; the message says why."""


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LegacyUnavailable(f"`{' '.join(command)}` failed: {error}") from error
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise LegacyUnavailable(f"`{' '.join(command)}` exited {done.returncode}:\n{tail}")
    return done.stdout


def legacy_python(
    version: str, cache_dir: Path, wheel: Path | None, log: Callable[[str], None]
) -> Path:
    """A Python with ``daidai==version`` installed, in a venv cached under ``cache_dir``.

    The venv is keyed by the release and this interpreter's version, built in a scratch
    directory and renamed into place only once the install succeeded, so an interrupted run
    never leaves a half-installed venv that later runs would trust.
    """
    tag = f"{sys.implementation.name}{sys.version_info.major}{sys.version_info.minor}"
    venv = cache_dir / f"venv-daidai-{version}-{tag}"
    python = _venv_python(venv)
    if python.exists() and (venv / ".complete").exists():
        return python
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{venv.name}.", dir=cache_dir))
    shutil.rmtree(scratch)
    requirement = str(wheel) if wheel else f"daidai=={version}"
    log(f"installing {requirement} into a throwaway venv under {cache_dir} ...")
    try:
        uv = shutil.which("uv")
        if uv:
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(scratch)], 300)
            scratch_python = _venv_python(scratch)
            _run(
                [uv, "pip", "install", "--quiet", "--python", str(scratch_python), requirement], 300
            )
        else:
            _run([sys.executable, "-m", "venv", str(scratch)], 300)
            scratch_python = _venv_python(scratch)
            _run(
                [
                    str(scratch_python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    requirement,
                ],
                600,
            )
        (scratch / ".complete").write_text(requirement + "\n")
        if venv.exists():  # a stale, incomplete venv from an interrupted run
            shutil.rmtree(venv, ignore_errors=True)
        try:
            scratch.rename(venv)
        except OSError:
            if not (venv / ".complete").exists():  # not another run finishing first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return python


def measure_legacy(python: Path, args: argparse.Namespace, cache_dir: Path) -> Result:
    """Run this file with ``--worker`` under the venv's interpreter; parse its JSON line."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["DAIDAI_LOG_LEVEL"] = "WARNING"  # 0.0.7 logs through logging; keep it quiet
    env["DAIDAI_CACHE_DIR"] = str(cache_dir / "daidai-0.0.7-cache")  # 0.0.7 mkdirs it on import
    command = [
        str(python),
        "-I",
        str(Path(__file__).resolve()),
        "--worker",
        "--rounds",
        str(args.rounds),
        "--calls",
        str(args.calls),
        "--cold-rounds",
        str(args.cold_rounds),
        "--size",
        str(args.size),
    ]
    output = _run(command, timeout=1800, env=env)
    try:
        result: Result = json.loads(output.strip().splitlines()[-1])
    except (IndexError, ValueError) as error:
        raise LegacyUnavailable(f"the 0.0.7 worker printed no result: {output[-500:]!r}") from error
    if result["version"] != args.legacy_version:
        raise LegacyUnavailable(
            f"the venv imported daidai {result['version']} from {result['daidai_file']}, "
            f"expected {args.legacy_version}"
        )
    return result


# ------------------------------------------------------------------------------------ report
def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _span(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    return f"{min(values) / scale:.{digits}f}..{max(values) / scale:.{digits}f}"


def report(
    now: Result, legacy: Result | None, legacy_error: str | None, args: argparse.Namespace
) -> str:
    """The table printed at the end of a run."""
    w = now["warm"]
    ratio = w["predictor_ns"] / w["plain_ns"]
    results = [r for r in (now, legacy) if r is not None]
    row = "  {:<38}{:>10}{:>18}{:>13}"
    lines = [
        "",
        f"daidai call overhead: Python {now['python']} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs), daidai {now['version']} from {Path(now['daidai_file']).parent}",
        "Warm call: predictor(x) with 2 injected artifacts, inside "
        "ModelManager(preload=[predictor]).",
        "Plain call: the same function undecorated, f(x, m, t). "
        f"Median of {args.rounds} rounds x {args.calls:,} calls.",
        "",
        row.format("warm call", "ns/call", "rounds min..max", "x plain"),
    ]
    for result in results:
        rw = result["warm"]
        where = "this process" if result is now else f"{result['version']} process"
        lines += [
            row.format(
                f"plain call ({where})",
                f"{rw['plain_ns']:.1f}",
                _span(rw["plain_rounds"]),
                "1.00",
            ),
            row.format(
                f"daidai {result['version']}",
                f"{rw['predictor_ns']:.1f}",
                _span(rw["predictor_rounds"]),
                f"{rw['predictor_ns'] / rw['plain_ns']:.2f}",
            ),
        ]
    lines.append(row.format("empty loop iteration (inside both)", f"{w['loop_ns']:.1f}", "", ""))
    if legacy is None:
        lines.append(f"  daidai {args.legacy_version}: not measured: {legacy_error}")

    lines += [
        "",
        row.format(
            f"cold load (median of {args.cold_rounds})", "ms/load", "rounds min..max", "us/artifact"
        ),
    ]
    for shape, label in (("chain", f"chain of {args.size}"), ("fan_in", f"fan-in of {args.size}")):
        for result in results:
            cold = result["cold"][shape]
            lines.append(
                row.format(
                    f"{label}, daidai {result['version']}",
                    f"{cold['ms_per_load']:.3f}",
                    _span(cold["rounds_ns"], 1e6, 3),
                    f"{cold['us_per_artifact']:.1f}",
                )
            )

    target = "  {:<48}{:>10}   {}"
    lines += [
        "",
        target.format("target (issue 2)", "measured", "verdict"),
        target.format(
            f"warm call <= {WARM_RATIO_TARGET:g}x plain call",
            f"{ratio:.2f}x",
            _verdict(ratio <= WARM_RATIO_TARGET),
        ),
    ]
    if legacy is not None:
        lw = legacy["warm"]
        speedup = lw["predictor_ns"] / w["predictor_ns"]
        normalised = (lw["predictor_ns"] / lw["plain_ns"]) / ratio
        lines.append(
            target.format(
                f"warm call >= {SPEEDUP_TARGET:g}x cheaper than {legacy['version']}",
                f"{speedup:.1f}x",
                f"{_verdict(speedup >= SPEEDUP_TARGET)} (x-plain ratios compared: "
                f"{normalised:.1f}x)",
            )
        )
        lines.append(
            f"  daidai {now['version']} is {speedup:.0f}x cheaper per warm call than "
            f"daidai {legacy['version']}."
        )
    else:
        lines.append(
            target.format(
                f"warm call >= {SPEEDUP_TARGET:g}x cheaper than {args.legacy_version}",
                "n/a",
                "not measured",
            )
        )
    lines.append("")
    return "\n".join(line.rstrip() for line in lines)


# -------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure (default 7)")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per round")
    parser.add_argument(
        "--cold-rounds", type=int, default=None, help="cold loads per shape (default: --rounds)"
    )
    parser.add_argument("--size", type=int, default=50, help="artifacts in chain and fan-in")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds x 20,000 calls: a smoke test, not a figure"
    )
    parser.add_argument("--no-legacy", action="store_true", help=f"skip daidai {LEGACY_VERSION}")
    parser.add_argument("--legacy-version", default=LEGACY_VERSION, help=argparse.SUPPRESS)
    parser.add_argument(
        "--legacy-wheel",
        type=Path,
        default=None,
        help="install the old release from this wheel instead of PyPI (offline use)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(
            os.environ.get("DAIDAI_BENCH_CACHE") or Path(tempfile.gettempdir()) / "daidai-bench"
        ),
        help="where the old release's venv is kept between runs "
        "(default: $DAIDAI_BENCH_CACHE or <tmp>/daidai-bench)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls = 3, 20_000
    if args.cold_rounds is None:
        args.cold_rounds = args.rounds
    if min(args.rounds, args.calls, args.cold_rounds, args.size) < 1:
        parser.error("--rounds, --calls, --cold-rounds and --size must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:  # inside the old release's venv: measure and print one JSON line
        print(json.dumps(measure(args.rounds, args.calls, args.cold_rounds, args.size)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"measuring this checkout's daidai ({args.rounds} rounds x {args.calls:,} calls) ...")
    now = measure(args.rounds, args.calls, args.cold_rounds, args.size)
    legacy: Result | None = None
    legacy_error: str | None = None
    if args.no_legacy:
        legacy_error = "skipped (--no-legacy)"
    else:
        try:
            python = legacy_python(args.legacy_version, args.cache_dir, args.legacy_wheel, log)
            log(f"measuring daidai {args.legacy_version} in {python.parent.parent} ...")
            legacy = measure_legacy(python, args, args.cache_dir)
        except LegacyUnavailable as error:
            legacy_error = (
                f"could not install or run it (no network? try --legacy-wheel PATH): {error}"
            )
            log(f"daidai {args.legacy_version} skipped: {error}")
    print(report(now, legacy, legacy_error, args))
    if args.json:
        args.json.write_text(json.dumps({"now": now, "legacy": legacy}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
