"""daidai's built-in plugins, written exactly as a third-party plugin would be.

Each module implements one catalog hook with :data:`daidai.plugins.hookimpl` and is registered
by name in the *builtin* layer (see :data:`daidai.plugins.BUILTIN_PLUGINS`):

* :mod:`daidai_builtin.fetchers`: one fsspec-backed fetcher for every fsspec protocol whose
  implementation is importable, and an install hint for the others;
* :mod:`daidai_builtin.serializers`: ``json``, ``text``, ``bytes``, ``npy`` (with numpy) and
  ``pickle`` (the unsafe fallback);
* :mod:`daidai_builtin.storages`: ``file`` (a local directory, atomic writes) and ``memory``;
* :mod:`daidai_builtin.drivers`: ``local`` and ``threads``.

Every implementation passes the conformance suites of :mod:`daidai.testing`.
"""
