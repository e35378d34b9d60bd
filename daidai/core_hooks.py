"""daidai's own lifecycle behaviour as hook implementations.

Registered last in every plugin manager, so wrappers from other plugins see each step happen
inside their ``yield``. daidai calls these hooks only when another plugin implements them;
otherwise it runs the same steps as plain code.
"""

from __future__ import annotations

import pluggy

from daidai.lifecycle import ArtifactSetup, ArtifactTeardown, PredictorCall

hookimpl = pluggy.HookimplMarker("daidai")


@hookimpl(trylast=True)
def daidai_artifact_setup(setup: ArtifactSetup) -> None:
    if not setup.done:
        setup.run()


@hookimpl(trylast=True)
def daidai_artifact_teardown(teardown: ArtifactTeardown) -> None:
    if not teardown.done:
        teardown.run()


@hookimpl(trylast=True)
def daidai_predictor_call(call: PredictorCall) -> None:
    if not call.done:
        call.run()
