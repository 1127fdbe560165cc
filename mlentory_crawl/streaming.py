"""Incremental reading of large JSON dumps (gzip or plain) with bounded memory; stdlib only.

A dump is a single top-level JSON array (``[{…}, {…}, …]``), a single top-level object, or a
sequence of top-level objects (JSON Lines). :class:`DumpReader` takes the file's bytes in
pieces of any size (a local file read 1 MiB at a time, or HTTP range responses), decompresses
gzip on the fly (several gzip members are fine), decodes UTF-8 incrementally and returns the
top-level elements one batch at a time. At no point is the whole dump, the whole decompressed
text or the whole list of elements in memory: what is held is the unread compressed input,
one decompressed piece (``piece_chars``) and the element being parsed.

Parsing uses :meth:`json.JSONDecoder.raw_decode` (the C scanner) over a sliding buffer. An
element that is cut by the end of the buffer is re-tried only after the buffer has doubled,
so a large element (an evaluation-table task tree of several MB) costs at most about twice
its parse time. An element larger than ``max_element_chars`` is an error, as is malformed
JSON; both raise :class:`DumpFormatError` with the character offset, after which the reader
is finished (a broken array cannot be re-synchronised reliably).

Pure computation, no I/O; the callers (the spider) feed bytes and may run :meth:`next_batch`
in a worker thread.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections import deque
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_PIECE_CHARS = 1 << 20
DEFAULT_MAX_ELEMENT_CHARS = 256 << 20
_WS = re.compile(r"[ \t\n\r]*")
# Parse errors that may only mean "the element continues in the next piece".
_MAYBE_INCOMPLETE = ("Unterminated string", "Invalid \\uXXXX escape", "Invalid \\escape")
_TAIL = 64


class DumpFormatError(ValueError):
    """The dump is not a JSON array/object stream, or an element is malformed or too large."""


class _Decompressor:
    """Bytes (gzip, possibly multi-member, or plain) → text pieces of bounded size."""

    def __init__(self, piece_bytes: int) -> None:
        self.piece_bytes = piece_bytes
        self.gzip: bool | None = None
        self._zlib: Any = None
        self._input: deque[bytes] = deque()
        self._head = b""
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.bytes_in = 0
        self.bytes_out = 0

    def push(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.gzip is None:
            self._head += data
            if len(self._head) < len(GZIP_MAGIC):
                return
            self.gzip = self._head.startswith(GZIP_MAGIC)
            data, self._head = self._head, b""
        if data:
            self._input.append(data)

    @property
    def has_input(self) -> bool:
        return bool(self._input) or bool(self._zlib is not None and self._zlib.unconsumed_tail)

    def piece(self) -> str:
        """The next decoded text piece ('' when the pending input is used up)."""
        while self.has_input:
            if self.gzip:
                raw = self._inflate()
                if raw is None:
                    continue
            else:
                raw = self._input.popleft()
            self.bytes_out += len(raw)
            text = self._text.decode(raw)
            if text:
                return text
        return ""

    def flush(self) -> str:
        """At the end of the file: the last text (a file shorter than the gzip magic too).

        Raises:
            DumpFormatError: the gzip stream ended in the middle of a member.
        """
        text = ""
        if self.gzip is None and self._head:
            self.gzip, self._input, self._head = False, deque([self._head]), b""
            text = self.piece()
        if self.gzip and self._zlib is not None:
            raise DumpFormatError("truncated gzip data (the dump ends mid-stream)")
        return text + self._text.decode(b"", final=True)

    def _inflate(self) -> bytes | None:
        if self._zlib is None:
            self._zlib = zlib.decompressobj(wbits=31)
        data = self._zlib.unconsumed_tail or self._input.popleft()
        try:
            raw: bytes = self._zlib.decompress(data, self.piece_bytes)
        except zlib.error as exc:
            raise DumpFormatError(f"corrupt gzip data: {exc}") from None
        if self._zlib.eof:
            rest = self._zlib.unused_data
            self._zlib = None
            if rest:
                self._input.appendleft(rest)  # the next gzip member
        return raw or None


class JsonElementStream:
    """Incremental parser of a top-level JSON array or a stream of top-level values."""

    def __init__(self, max_element_chars: int = DEFAULT_MAX_ELEMENT_CHARS) -> None:
        self.max_element_chars = max_element_chars
        self._decoder = json.JSONDecoder(strict=False)
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters consumed before _buf[0]
        self._pending: list[str] = []
        self._pending_len = 0
        self._need = 0  # parse again once this many characters are available
        self._mode: str | None = None  # "array" | "values"
        self._state = "first"  # first | value | after
        self.done = False
        self.ready: deque[Any] = deque()
        self.elements = 0

    @property
    def offset(self) -> int:
        """Character offset of the parse position in the decompressed text."""
        return self._base + self._pos

    def feed(self, text: str, eof: bool = False) -> None:
        """Add text; complete elements are appended to :attr:`ready`."""
        if self.done:
            if text.strip():
                raise DumpFormatError(f"data after the end of the JSON array at {self.offset}")
            return
        if text:
            self._pending.append(text)
            self._pending_len += len(text)
        available = len(self._buf) - self._pos + self._pending_len
        if not eof and available < self._need:
            if available > self.max_element_chars + _TAIL:
                raise self._too_large()
            return
        self._base += self._pos
        self._buf = self._buf[self._pos :] + "".join(self._pending)
        self._pos, self._pending, self._pending_len, self._need = 0, [], 0, 0
        self._parse(eof)

    def _too_large(self) -> DumpFormatError:
        return DumpFormatError(
            f"element at {self.offset} exceeds {self.max_element_chars} characters "
            "(raise the element limit or check the dump)"
        )

    def _parse(self, eof: bool) -> None:
        buf = self._buf
        while True:
            self._pos = _WS.match(buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos >= len(buf):
                break
            char = buf[self._pos]
            if self._mode is None:
                if char == "\ufeff":
                    self._pos += 1
                    continue
                if char == "[":
                    self._mode, self._pos = "array", self._pos + 1
                    continue
                if char != "{":
                    raise DumpFormatError(
                        f"not a JSON array or object stream: starts with {char!r} at {self.offset}"
                    )
                self._mode, self._state = "values", "value"
            if self._mode == "array" and self._state != "value":
                if char == "]":
                    self._pos += 1
                    self._end(buf)
                    return
                if self._state == "after":
                    if char != ",":
                        raise DumpFormatError(f"expected ',' or ']' at {self.offset}")
                    self._pos += 1
                    self._state = "value"
                    continue
            elif self._mode == "array" and char == "]":  # trailing comma: tolerated
                self._pos += 1
                self._end(buf)
                return
            if not self._element(buf, eof):
                break
        if eof:
            self._finish()

    def _element(self, buf: str, eof: bool) -> bool:
        start = self._pos
        try:
            value, end = self._decoder.raw_decode(buf, start)
        except json.JSONDecodeError as exc:
            near_end = exc.pos >= len(buf) - _TAIL or exc.msg.startswith(_MAYBE_INCOMPLETE)
            if eof or not near_end:
                raise DumpFormatError(
                    f"malformed JSON at {self._base + exc.pos}: {exc.msg}"
                ) from None
            if len(buf) - start > self.max_element_chars:
                raise self._too_large() from None
            self._need = 2 * (len(buf) - start) + 1
            return False
        except RecursionError:
            raise DumpFormatError(f"element at {self.offset} is nested too deeply") from None
        if end >= len(buf) and not eof and not isinstance(value, dict | list | str):
            self._need = len(buf) - start + 1  # a number may continue in the next piece
            return False
        self.ready.append(value)
        self.elements += 1
        self._pos = end
        if self._mode == "array":
            self._state = "after"
        return True

    def _end(self, buf: str) -> None:
        rest = buf[self._pos :]
        if rest.strip():
            raise DumpFormatError(f"data after the end of the JSON array at {self.offset}")
        self.done = True

    def _finish(self) -> None:
        if self._mode == "array" and not self.done:
            raise DumpFormatError(f"the JSON array is not closed (dump truncated at {self.offset})")
        if self._mode is None:
            raise DumpFormatError("empty dump (no JSON array or object)")
        self.done = True


class DumpReader:
    """Bytes of a dump in, batches of top-level JSON elements out.

    Usage: :meth:`push` bytes as they arrive, :meth:`finish` at the end of the file, and call
    :meth:`next_batch` until it returns an empty list; then, if :attr:`done` is false, more
    input is needed.

    Args:
        max_element_chars: the largest single element accepted.
        piece_chars: decompressed bytes handed to the parser at a time.
    """

    def __init__(
        self,
        max_element_chars: int = DEFAULT_MAX_ELEMENT_CHARS,
        piece_chars: int = DEFAULT_PIECE_CHARS,
    ) -> None:
        self._bytes = _Decompressor(piece_chars)
        self._json = JsonElementStream(max_element_chars)
        self._eof = False
        self._flushed = False
        self._error: DumpFormatError | None = None
        self.failed: str | None = None

    @property
    def done(self) -> bool:
        """True when the dump was read to its end (or failed)."""
        if self.failed is not None:
            return True
        return self._error is None and self._json.done and not self._json.ready and self._flushed

    @property
    def bytes_in(self) -> int:
        """Compressed bytes received so far."""
        return self._bytes.bytes_in

    @property
    def bytes_out(self) -> int:
        """Decompressed bytes produced so far."""
        return self._bytes.bytes_out

    @property
    def elements(self) -> int:
        """Top-level elements parsed so far."""
        return self._json.elements

    @property
    def is_gzip(self) -> bool | None:
        """Whether the input is gzip (``None`` until the first bytes arrived)."""
        return self._bytes.gzip

    def push(self, data: bytes) -> None:
        """Add the next bytes of the file."""
        if self._eof:
            raise ValueError("push() after finish()")
        if data:
            self._bytes.push(data)

    def finish(self) -> None:
        """Mark the end of the file."""
        self._eof = True

    def next_batch(self, max_items: int = 500) -> list[Any]:
        """Up to ``max_items`` elements; ``[]`` when input is needed or the dump is done.

        Elements parsed before a format error are returned first; the error is raised by the
        next call.

        Raises:
            DumpFormatError: the dump is malformed (the reader is then :attr:`done`).
        """
        if self._error is not None:
            self.failed, error, self._error = str(self._error), self._error, None
            raise error
        if self.failed is not None:
            return []
        out: list[Any] = []
        try:
            while len(out) < max_items:
                if self._json.ready:
                    out.append(self._json.ready.popleft())
                elif text := self._bytes.piece():
                    self._json.feed(text)
                elif not self._eof or self._flushed:
                    break
                else:
                    self._flushed = True
                    self._json.feed(self._bytes.flush(), eof=not self._json.done)
        except DumpFormatError as exc:
            self._json.ready.clear()
            if out:
                self._error = exc
                return out
            self.failed = str(exc)
            raise
        return out
