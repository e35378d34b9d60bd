"""Root conftest: keeps every test run away from the user's real daidai state."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_daidai_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("daidai-home")
    monkeypatch.setenv("DAIDAI_HOME", str(home))
    monkeypatch.setenv("DAIDAI_CACHE_DIR", str(home / "cache"))
