"""The fsspec fetcher against the conformance suite: local paths, memory:// and real HTTP."""

from __future__ import annotations

import http.server
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pytest

from daidai.catalog import RemoteInfo
from daidai.testing import FetcherConformance
from daidai_builtin.fetchers import FETCHER, FsspecFetcher, install_hint, is_importable

_counter = itertools.count()


# ----------------------------------------------------------------------------- local files
class TestFileUrls(FetcherConformance):
    @pytest.fixture
    def fetcher(self) -> FsspecFetcher:
        return FETCHER

    @pytest.fixture
    def make_remote(self, tmp_path: Path) -> Callable[[bytes], str]:
        root = tmp_path / "remote"
        root.mkdir()

        def make(content: bytes) -> str:
            path = root / f"file-{next(_counter)}.bin"
            path.write_bytes(content)
            return f"file://{path}"

        return make


class TestPlainLocalPaths(FetcherConformance):
    @pytest.fixture
    def fetcher(self) -> FsspecFetcher:
        return FETCHER

    @pytest.fixture
    def make_remote(self, tmp_path: Path) -> Callable[[bytes], str]:
        def make(content: bytes) -> str:
            path = tmp_path / f"plain-{next(_counter)}.bin"
            path.write_bytes(content)
            return str(path)

        return make


# --------------------------------------------------------------------------------- memory://
class TestMemoryUrls(FetcherConformance):
    @pytest.fixture
    def fetcher(self) -> FsspecFetcher:
        return FETCHER

    @pytest.fixture
    def make_remote(self) -> Iterator[Callable[[bytes], str]]:
        fs = fsspec.filesystem("memory")
        root = f"/daidai-tests/{uuid.uuid4().hex}"

        def make(content: bytes) -> str:
            path = f"{root}/file-{next(_counter)}"
            fs.pipe(path, content)
            return f"memory://{path}"

        yield make
        if fs.exists(root):
            fs.rm(root, recursive=True)


# -------------------------------------------------------------------------------------- HTTP
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory like ``python -m http.server`` (no Range support) and records
    every request it gets."""

    requests: ClassVar[list[tuple[str, str, str | None]]] = []

    def __init__(self, *args: Any, directory: str, **kwargs: Any) -> None:
        super().__init__(*args, directory=directory, **kwargs)

    def send_head(self) -> Any:
        _Handler.requests.append((self.command, self.path, self.headers.get("Range")))
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    pytest.importorskip("aiohttp", reason="fsspec's HTTP filesystem needs aiohttp")
    root = tmp_path_factory.mktemp("served")

    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class TestHttpUrls(FetcherConformance):
    @pytest.fixture
    def fetcher(self) -> FsspecFetcher:
        return FETCHER

    @pytest.fixture
    def make_remote(self, http_root: tuple[str, Path]) -> Callable[[bytes], str]:
        base, root = http_root

        def make(content: bytes) -> str:
            name = f"file-{next(_counter)}.bin"
            (root / name).write_bytes(content)
            return f"{base}/{name}"

        return make

    def test_downloads_use_one_request_and_no_ranges(
        self, make_remote: Callable[[bytes], str], tmp_path: Path
    ) -> None:
        content = bytes(range(256)) * 8000  # 2 MB: several fsspec blocks
        url = make_remote(content)
        path = url.rsplit("/", 1)[1]
        _Handler.requests.clear()
        FETCHER.fetch(url, tmp_path / "out", {})
        with FETCHER.open(url, "rb", {}) as stream:
            assert stream.read() == content
        seen = [r for r in _Handler.requests if r[1] == f"/{path}"]
        assert [method for method, _, _ in seen if method == "GET"] == ["GET", "GET"]
        assert all(range_header is None for _, _, range_header in seen)
        assert (tmp_path / "out").read_bytes() == content

    def test_info_has_a_modification_time(self, make_remote: Callable[[bytes], str]) -> None:
        info = FETCHER.info(make_remote(b"x"), {})
        assert info.size == 1
        assert isinstance(info.mtime, float)

    def test_storage_options_can_override_the_block_size(
        self, make_remote: Callable[[bytes], str]
    ) -> None:
        url = make_remote(b"abc")
        with FETCHER.open(url, "rb", {"open_options": {"block_size": 0}}) as stream:
            assert stream.read() == b"abc"


# ------------------------------------------------------------------------------- directories
def test_directory_info_and_fetch(tmp_path: Path) -> None:
    source = tmp_path / "model"
    (source / "sub").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"w" * 10)
    (source / "sub" / "vocab.txt").write_text("a\nb\n")
    info = FETCHER.info(f"file://{source}", {})
    assert info == RemoteInfo(size=None, etag=None, mtime=info.mtime, is_dir=True)
    destination = tmp_path / "copy"
    FETCHER.fetch(f"file://{source}", destination, {})
    assert (destination / "weights.bin").read_bytes() == b"w" * 10
    assert (destination / "sub" / "vocab.txt").read_text() == "a\nb\n"


def test_memory_directory_fetch(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    root = f"/daidai-dir-{uuid.uuid4().hex}"
    fs.pipe({f"{root}/a.txt": b"A", f"{root}/nested/b.txt": b"B"})
    try:
        FETCHER.fetch(f"memory://{root}/", tmp_path / "copy", {})
    finally:
        fs.rm(root, recursive=True)
    assert (tmp_path / "copy" / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "copy" / "nested" / "b.txt").read_bytes() == b"B"


def test_open_refuses_write_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reading only"):
        FETCHER.open(str(tmp_path / "x"), "wb", {})


def test_storage_options_reach_the_filesystem(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"data")
    # "auto_mkdir" is a LocalFileSystem option: accepted when passed through storage_options
    assert FETCHER.info(str(tmp_path / "f"), {"storage_options": {"auto_mkdir": True}}).size == 4


# ---------------------------------------------------------------------------- registration
def test_importability_is_decided_without_importing() -> None:
    assert is_importable("file")
    assert is_importable("memory")
    assert not is_importable("no-such-protocol")


def test_install_hint_names_the_package() -> None:
    assert "pip install s3fs" in install_hint("s3")
    assert "gcsfs" in install_hint("gs")
    assert install_hint("http").startswith("HTTPFileSystem requires")
