"""Reading a platform's answer without trusting its size, its speed or its shape.

The body is read from the raw stream and decompressed here, a bounded piece at a time, so
`max_response` (measured after decompression) is enforced before anything larger is held:
a 300 MB body or a gzip bomb costs at most the cap in memory, and the deadline is checked
between pieces, so decompression cannot outrun it. JSON nested deeper than the decoder can
follow is a `ValueError` like any other unreadable body, never a `RecursionError`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx

DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"  # exactly what `_decoder` can inflate piece by piece
PIECE = 64 * 1024  # the most one decompression step may produce
MAX_CODINGS = 2  # `gzip, gzip, …` a thousand times over is an attack, not an encoding


class AnswerTooLarge(Exception):
    """The answer grew past the cap; `limit` is the cap in bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"answer larger than {format_size(limit)} (settings.max_response)")
        self.limit = limit


class AnswerTooSlow(Exception):
    """The answer did not arrive completely before the deadline."""


class UnreadableEncoding(Exception):
    """A `Content-Encoding` this client did not ask for and cannot decode."""


class NestedTooDeep(ValueError):
    """JSON nested deeper than the decoder follows."""


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class _Inflate:
    """zlib decompression that never produces more than `PIECE` bytes per step."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflate = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # deflate: servers send zlib-wrapped or raw data

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self._inflate.eof:
            try:
                out = self._inflate.decompress(data, PIECE)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._inflate, self._raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._raw_fallback = False
            data = self._inflate.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE:
                return


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data


_DECODERS = {
    "identity": _Identity,
    "gzip": lambda: _Inflate(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Inflate(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Inflate(zlib.MAX_WBITS, raw_fallback=True),
}


def _decoders(response: httpx.Response) -> list[Any]:
    """One decoder per coding, in the order they must be undone."""
    names = [
        name.strip().lower()
        for name in response.headers.get("content-encoding", "").split(",")
        if name.strip()
    ]
    unknown = [name for name in names if name not in _DECODERS]
    if unknown:
        raise UnreadableEncoding(f"answer in an unsupported encoding {unknown[0][:20]!r}")
    if len(names) > MAX_CODINGS:
        raise UnreadableEncoding(f"answer encoded {len(names)} times over")
    return [_DECODERS[name]() for name in reversed(names)]


def _decode(decoders: list[Any], data: bytes) -> Iterator[bytes]:
    if not decoders:
        yield data
        return
    for piece in decoders[0].feed(data):
        yield from _decode(decoders[1:], piece)


async def read_capped(
    response: httpx.Response, limit: int, past_deadline: Callable[[], bool]
) -> bytes:
    """The decoded body of a streamed `response`, or AnswerTooLarge as soon as it would
    exceed `limit` bytes, AnswerTooSlow once `past_deadline()` turns true."""
    if response.is_stream_consumed:  # already read by an in-memory test transport
        body = response.content
        if len(body) > limit:
            raise AnswerTooLarge(limit)
        return body
    decoders = _decoders(response)
    if not decoders:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AnswerTooLarge(limit)
    pieces: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            for piece in _decode(decoders, raw):
                size += len(piece)
                if size > limit:
                    raise AnswerTooLarge(limit)
                if past_deadline():
                    raise AnswerTooSlow
                pieces.append(piece)
            if past_deadline():  # data may arrive faster than the loop ever waits
                raise AnswerTooSlow
    except zlib.error:
        raise UnreadableEncoding("answer is not valid compressed data") from None
    return b"".join(pieces)


class Answer(httpx.Response):
    """A fully read answer whose `json()` raises NestedTooDeep instead of RecursionError."""

    def json(self, **kwargs: Any) -> Any:
        try:
            return super().json(**kwargs)
        except RecursionError:
            raise NestedTooDeep("answer nested too deeply to read") from None


def answer(streamed: httpx.Response, body: bytes) -> Answer:
    """`streamed`'s status, headers and request with `body` (already decoded) as content."""
    headers = [
        (name, value)
        for name, value in streamed.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return Answer(
        streamed.status_code,
        headers=headers,
        content=body,
        request=streamed.request,
        extensions=streamed.extensions,
    )
