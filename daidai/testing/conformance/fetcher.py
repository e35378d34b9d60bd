"""The conformance suite for fetcher plugins."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from daidai.catalog import Fetcher, RemoteInfo
from daidai.testing.conformance._common import LARGE, _payload, _required, _run_threads


class FetcherConformance:
    """Tests for a :class:`daidai.catalog.Fetcher`.

    Required fixtures:

    * ``fetcher``: the fetcher under test;
    * ``make_remote``: a function taking ``bytes`` that creates a new remote file with that
      content and returns its URL (a different URL on each call).

    Optional fixtures: ``fetch_options`` (the options passed to every call, default ``{}``) and
    ``missing_url`` (a URL that does not exist; default: a new remote's URL plus a suffix).
    """

    @pytest.fixture
    def fetcher(self) -> Fetcher:
        raise _required("fetcher", "the fetcher under test")

    @pytest.fixture
    def make_remote(self) -> Callable[[bytes], str]:
        raise _required("make_remote", "a function (content: bytes) -> URL of a new remote file")

    @pytest.fixture
    def fetch_options(self) -> Mapping[str, Any]:
        return {}

    @pytest.fixture
    def missing_url(self, make_remote: Callable[[bytes], str]) -> str:
        return make_remote(b"") + "-daidai-missing"

    # ----------------------------------------------------------------------------------- info
    def test_is_a_fetcher(self, fetcher: Fetcher) -> None:
        assert isinstance(fetcher, Fetcher)

    @pytest.mark.parametrize("size", [0, 1, 1000, 65537])
    def test_info_gives_the_size(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        size: int,
    ) -> None:
        info = fetcher.info(make_remote(_payload(size)), fetch_options)
        assert isinstance(info, RemoteInfo)
        assert info.size == size
        assert info.is_dir is False

    def test_info_version_fields_have_the_documented_types(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        info = fetcher.info(make_remote(b"versioned"), fetch_options)
        assert info.etag is None or isinstance(info.etag, str)
        assert info.mtime is None or isinstance(info.mtime, float)

    def test_info_of_a_missing_file_raises_file_not_found(
        self, fetcher: Fetcher, missing_url: str, fetch_options: Mapping[str, Any]
    ) -> None:
        with pytest.raises(FileNotFoundError):
            fetcher.info(missing_url, fetch_options)

    # ---------------------------------------------------------------------------------- fetch
    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"hello",
            bytes(range(256)) * 3,
            b"line one\r\nline two\nline three\r no final newline",
        ],
        ids=["empty", "ascii", "every-byte", "newlines"],
    )
    def test_fetch_writes_exactly_the_bytes(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
        content: bytes,
    ) -> None:
        destination = tmp_path / "downloaded"
        fetcher.fetch(make_remote(content), destination, fetch_options)
        assert destination.read_bytes() == content

    def test_fetch_large_file(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        content = _payload(LARGE, seed=1)
        destination = tmp_path / "large.bin"
        fetcher.fetch(make_remote(content), destination, fetch_options)
        assert destination.stat().st_size == len(content)
        assert hashlib.sha256(destination.read_bytes()).digest() == (
            hashlib.sha256(content).digest()
        )

    def test_fetch_of_a_missing_file_raises_and_leaves_nothing(
        self,
        fetcher: Fetcher,
        missing_url: str,
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        destination = tmp_path / "never"
        with pytest.raises(FileNotFoundError):
            fetcher.fetch(missing_url, destination, fetch_options)
        assert not destination.exists()

    def test_concurrent_fetches_of_one_file(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        content = _payload(300_000, seed=2)
        url = make_remote(content)
        destinations = [tmp_path / f"copy-{i}" for i in range(4)]
        _run_threads(
            [functools.partial(fetcher.fetch, url, d, fetch_options) for d in destinations]
        )
        assert all(d.read_bytes() == content for d in destinations)

    # ----------------------------------------------------------------------------------- open
    def test_open_binary_streams_the_content(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        content = _payload(1024 * 1024 + 17, seed=3)
        with fetcher.open(make_remote(content), "rb", fetch_options) as stream:
            head = stream.read(10)
            assert isinstance(head, bytes)
            chunks = [head]
            while chunk := stream.read(65536):
                chunks.append(chunk)
        assert b"".join(chunks) == content

    def test_open_text_decodes_utf8_lines(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        text = "première ligne\nzweite Zeile ✓\n最后一行\n"
        with fetcher.open(make_remote(text.encode("utf-8")), "r", fetch_options) as stream:
            lines = list(stream)
        assert lines == text.splitlines(keepends=True)

    def test_open_of_a_missing_file_raises_file_not_found(
        self, fetcher: Fetcher, missing_url: str, fetch_options: Mapping[str, Any]
    ) -> None:
        with (
            pytest.raises(FileNotFoundError),
            fetcher.open(missing_url, "rb", fetch_options) as stream,
        ):
            stream.read()


# ================================================================================== serializers
