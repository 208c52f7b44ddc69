"""An instance's header read from Orthanc's ``/instances/{id}/file`` up to its pixel data and no further.

Why stream: a 500 MB multi-frame then costs what its header costs, and a worker's memory stays
bounded by the largest header, not the largest file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from pydicom import dcmread
from pydicom.dataset import Dataset

from copydicom_provider.hooks.orthanc import OrthancHook

__all__ = ["WHOLE_LIMIT", "parse_header", "read_header", "read_header_sized"]

CHUNK = 64 * 1024
#: Bytes kept behind the read position; pydicom only ever seeks back a few bytes.
KEEP_BEHIND = 1 << 20
#: Files up to this size are read whole (bounded memory per worker, no per-read overhead).
WHOLE_LIMIT = 4 << 20
#: A remainder this small is drained so that the connection goes back to the pool.
DRAIN_LIMIT = 1 << 20


class _StreamFile:
    """A read/tell/seek view of an HTTP body that fetches only what the reader asks for.

    pydicom needs ``seek`` (it steps back over a tag it peeked at); the bytes read so far are kept
    in a buffer, trimmed to ``KEEP_BEHIND`` behind the read position so that large non-pixel
    values (an encapsulated PDF) are not held twice.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._base = 0  # file offset of self._buffer[0]
        self._position = 0
        self.eof = False

    def _fill(self, end: int | None) -> None:
        while not self.eof and (end is None or self._base + len(self._buffer) < end):
            data = next(self._chunks, None)
            if data is None:
                self.eof = True
            else:
                self._buffer += data

    def _trim(self) -> None:
        excess = self._position - self._base - KEEP_BEHIND
        if excess > KEEP_BEHIND:
            del self._buffer[:excess]
            self._base += excess

    def read(self, size: int | None = -1) -> bytes:
        end = None if size is None or size < 0 else self._position + size
        self._fill(end)
        start = self._position - self._base
        stop = len(self._buffer) if end is None else end - self._base
        data = bytes(self._buffer[start:stop])
        self._position += len(data)
        self._trim()
        return data

    def tell(self) -> int:
        return self._position

    @property
    def received(self) -> int:
        """Bytes the body has given so far (all of it once ``eof``)."""
        return self._base + len(self._buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 2:
            self._fill(None)
            target = self._base + len(self._buffer) + offset
        else:
            target = offset if whence == 0 else self._position + offset
        if target < self._base:
            raise OSError(f"cannot seek back to {target}: bytes before {self._base} were released")
        self._fill(target)
        self._position = target
        return target

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def parse_header(body: bytes) -> Dataset:
    """The data set of a whole file held in memory, up to its pixel data."""
    return dcmread(io.BytesIO(body), stop_before_pixels=True, force=True)


def read_header(source: OrthancHook, instance_id: str) -> Dataset:
    """The instance's data set up to its pixel data, read from ``/instances/{id}/file``."""
    return read_header_sized(source, instance_id)[0]


def read_header_sized(source: OrthancHook, instance_id: str) -> tuple[Dataset, int | None]:
    """The instance's data set up to its pixel data, and the file's size when it was read whole.

    A file up to ``WHOLE_LIMIT`` is read whole and parsed from memory (fastest: one read, the
    connection goes straight back to the pool). A larger one is parsed as it streams and only up to
    its pixel data; a small remainder is read to the end so that the keep-alive connection is
    reused (``iter_content`` marks the body consumed), a large one is dropped with its connection.
    The size is that of the body read to its end: a file without pixel data (a dose report) always
    is; one dropped before its end gives None.
    """
    with source.instance_file(instance_id) as response:
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        if size is not None and size <= WHOLE_LIMIT:
            body = response.content
            return parse_header(body), len(body)
        stream = _StreamFile(response.iter_content(CHUNK))
        dataset = dcmread(stream, stop_before_pixels=True, force=True)
        if size is not None and 0 < size - stream.tell() <= DRAIN_LIMIT:
            stream.read()
    return dataset, stream.received if stream.eof else None
