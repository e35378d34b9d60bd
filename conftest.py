"""Root conftest: plugins the whole suite relies on.

daidai's own pytest plugin (loaded through its ``pytest11`` entry point) already gives every
test fresh ``DAIDAI_HOME`` and ``DAIDAI_CACHE_DIR`` directories; ``pytester`` runs pytest
inside tests of that plugin.
"""

pytest_plugins = ["pytester"]
