"""Every hook daidai calls, typed and documented. Specifications only: no behaviour here.

Implement hooks with :data:`daidai.hookimpl` in a plugin module or class, and make the plugin
known through the ``daidai`` entry-point group, ``ModelManager(plugins=[...])`` or a
``daidai_conf.py`` file. Plugins load in this order (``daidai.plugins``):

1. built-in plugins (``daidai_builtin.*``, shipped in the wheel),
2. the ``daidai`` entry-point group (unless ``DAIDAI_DISABLE_PLUGIN_AUTOLOAD=1``; plus the
   entry points or modules named in ``DAIDAI_PLUGINS=a,b``),
3. ``ModelManager(plugins=...)`` (for that manager and those nested in it),
4. ``daidai_conf.py`` modules (for components defined at or below their directory).

*Catalog hooks* receive a :class:`~daidai.catalog.Register` bound to the calling plugin. daidai
calls each implementation itself, in the layer order above, so what wins never depends on
pluggy's call order: a name registered twice in one layer is an error naming both plugins; a
later layer may replace an entry of an earlier one.

*Lifecycle hooks* are called only when some plugin implements them (daidai's own behaviour is
plain code otherwise, so the warm path pays nothing). Implement them with
``@hookimpl(wrapper=True)`` to trace or time: code before ``yield`` runs before the step, code
after it once the step is done (its result is on the event object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from daidai.catalog import Register
    from daidai.lifecycle import ArtifactSetup, ArtifactTeardown, CallRecord, PredictorCall

hookspec = pluggy.HookspecMarker("daidai")


# ------------------------------------------------------------------------------- catalog hooks
@hookspec
def daidai_register_fetchers(register: Register) -> None:
    """Register fetchers by URL protocol: ``register("s3", fetcher)``.

    Called once per plugin when the plugin manager first needs fetchers (and again after plugins
    change). ``register.hint("gs", "pip install gcsfs")`` names a protocol this plugin would
    serve if a package were installed, so a miss tells the user what to install. Not
    firstresult: every plugin registers what it has.
    """


@hookspec
def daidai_register_serializers(register: Register) -> None:
    """Register serializers by name: ``register("json", serializer)``.

    Each serializer follows :class:`daidai.catalog.Serializer`. Which one stores a value is
    decided by :func:`daidai_choose_serializer`, then by each serializer's ``accepts``.
    Not firstresult.
    """


@hookspec
def daidai_register_storages(register: Register) -> None:
    """Register storage factories by URL scheme: ``register("file", LocalStorage)``.

    A factory takes a location and returns a :class:`daidai.catalog.Storage`. Not firstresult.
    """


@hookspec
def daidai_register_drivers(register: Register) -> None:
    """Register driver factories by name: ``register("threads", ThreadsDriver)``.

    A factory takes keyword options and returns a :class:`daidai.catalog.Driver`.
    Not firstresult.
    """


@hookspec
def daidai_register_artifacts(register: Register) -> None:
    """Register artifacts and predictors a plugin provides: ``register("client", client)``.

    The value is a decorated component; ``daidai list`` and ``daidai plugins`` show it with
    its plugin. Not firstresult.
    """


# ----------------------------------------------------------------------------- lifecycle hooks
@hookspec
def daidai_artifact_setup(setup: ArtifactSetup) -> None:
    """An artifact instance is being built; ``setup.run()`` builds it.

    daidai's own implementation (registered last) calls ``setup.run()`` unless a value was set
    already, so a wrapper sees the build happen inside its ``yield`` and may read
    ``setup.value`` afterwards. For an async artifact ``setup.value`` is an awaitable that daidai
    awaits after the hook returns; wrap it to time the await. Called only when a plugin other
    than daidai implements it. Not firstresult.
    """


@hookspec
def daidai_artifact_teardown(teardown: ArtifactTeardown) -> None:
    """An artifact instance is being torn down; ``teardown.run()`` runs its finalizer.

    Same pattern as :func:`daidai_artifact_setup`: daidai's implementation runs the finalizer,
    wrappers see it happen. Only artifacts with a teardown (generators) are reported. Not
    firstresult.
    """


@hookspec
def daidai_predictor_call(call: PredictorCall) -> None:
    """A predictor is being called; ``call.run()`` runs it with ``call.args``/``call.kwargs``.

    While any plugin implements this hook, predictor calls skip daidai's frameless warm path so
    every call is seen. Wrappers may change ``call.args``/``call.kwargs`` before ``yield`` and
    read ``call.result`` after it. Not firstresult.
    """


@hookspec(firstresult=True)
def daidai_choose_serializer(value: Any, candidates: Sequence[str]) -> str | None:
    """The name of the serializer to store ``value`` with, or ``None`` to let the next decide.

    ``candidates`` are the registered serializers that accept the value, in daidai's order of
    preference (safe formats first, pickle last). firstresult: the first non-None answer wins;
    without any, daidai takes the first candidate.
    """


@hookspec
def daidai_record_call(record: CallRecord) -> None:
    """An artifact build or predictor call finished (successfully or not).

    For call logs, metrics and tracing. Called only when a plugin implements it; it must not
    raise (an error is logged and ignored). Not firstresult.
    """
