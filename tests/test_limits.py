"""Limits that must fail with daidai's errors, not Python's."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from daidai import DaidaiError, ModelManager, artifact


def test_a_chain_deeper_than_the_recursion_limit_is_a_daidai_error() -> None:
    namespace: dict[str, Any] = {"__name__": "deep_chain", "Annotated": Annotated}
    namespace["artifact"] = artifact
    source = "@artifact\ndef c0():\n    return 0\n" + "".join(
        f"@artifact\ndef c{i}(p: Annotated[int, c{i - 1}]):\n    return p + 1\n"
        for i in range(1, 600)
    )
    exec(source, namespace)
    with pytest.raises(DaidaiError, match="too deep") as caught:
        ModelManager(preload=[namespace["c599"]])
    assert not isinstance(caught.value, RecursionError)
    # a chain within the limit works
    with ModelManager(preload=[namespace["c150"]]) as manager:
        assert manager.load(namespace["c150"]) == 150
