"""The reading state of one dump and the work the ``paperswithcode`` spider does in threads.

:func:`prepare` and :func:`staged` run in a worker thread (``run_in_thread``): they read the
local file (or use the bytes an HTTP chunk pushed), parse, flatten evaluation-table trees,
feed or consult the paper index and stage leaderboard rows. They return plain
``(kind, source_id, url, payload, resolved papers)`` tuples; the spider turns them into
RawRecords on the reactor thread. A stream is used by one thread at a time.

:func:`take_chunk` (reactor thread) checks one HTTP ``Range`` answer of a remote dump and
pushes its bytes to the stream's parser.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlentory_crawl.spiders.base import utc_now_iso
from mlentory_crawl.spiders.pwc_config import DumpSource
from mlentory_crawl.spiders.pwc_dumps import (
    DUMPS,
    PaperIndex,
    Record,
    RowStage,
    index_entry,
    model_record,
    paper_pages,
    records_of,
)
from mlentory_crawl.streaming import DumpFormatError, DumpReader

READ_BYTES = 1 << 20
BATCH_RECORDS = 500

Prepared = tuple[str, str, str, Any, dict[str, Any]]
"""``(kind, source_id, url, payload, resolved papers)``."""

_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


def _token() -> str:
    return secrets.token_hex(4)


@dataclass
class Stream:
    """The reading state of one dump (in memory only; a resumed job starts the dump over).

    Attributes:
        stage_path: where leaderboard rows are staged (evaluation-tables only).
        keys: staged model keys, tracked only under ``limit`` (to stop reading early).
        full: under ``limit``: enough records are known, stop reading.
    """

    source: DumpSource
    reader: DumpReader
    stage_path: Path | None = None
    token: str = field(default_factory=_token)
    retrieved_at: str = field(default_factory=utc_now_iso)
    fh: IO[bytes] | None = None
    stage: RowStage | None = None
    keys: set[str] = field(default_factory=set)
    next_offset: int = 0
    elements: int = 0
    records: int = 0
    chunks: int = 0
    full: bool = False
    limited: bool = False
    failed: bool = False
    ended: bool = False
    error: Exception | None = None

    @property
    def dump(self) -> str:
        """The dump name."""
        return self.source.dump

    @property
    def exhausted(self) -> bool:
        """Nothing more to read: the dump ended, failed, or holds enough for ``limit``.

        Not while an error found after the last batch is still to be reported.
        """
        return self.error is None and (self.full or self.failed or self.reader.done)

    def close(self) -> None:
        """Close the file and drop the staged rows (blocking)."""
        if self.fh is not None:
            self.fh.close()
        if self.stage is not None:
            self.stage.close()
            self.stage = None


def prepare(stream: Stream, index: PaperIndex | None, limit: int | None) -> list[Prepared]:
    """Worker thread: parse up to a batch of records; feed/consult the index; stage rows.

    Raises:
        DumpFormatError: the dump is malformed (after the good records were handed out).
        OSError: the file cannot be read.
    """
    if stream.error is not None:  # found after the previous batch was complete
        error, stream.error = stream.error, None
        raise error
    out: list[Record] = []
    rows: list[tuple[str, Any]] = []
    try:
        while len(out) + len(rows) < BATCH_RECORDS and not stream.full:
            elements = _elements(stream)
            if not elements:
                break
            for element in elements:
                for record in records_of(stream.dump, element, stream.elements):
                    if record[0] == "row":
                        rows.append((record[1], record[3]))
                        if limit is not None:
                            stream.keys.add(record[1])
                    else:
                        out.append(record)
                stream.elements += 1
                if limit is not None and stream.records + len(out) + len(stream.keys) >= limit:
                    stream.full = True
                    break
    except (DumpFormatError, OSError) as exc:
        if not out and not rows:
            raise
        stream.error = exc  # hand out the good records first
    if rows:
        if stream.stage is None:
            assert stream.stage_path is not None
            stream.stage = RowStage(stream.stage_path)
        stream.stage.add(rows)
    return _resolve(stream, index, out)


def staged(stream: Stream, index: PaperIndex | None) -> list[Prepared]:
    """Worker thread: the next ``model`` records regrouped from the staged rows (``[]``: none)."""
    if stream.stage is None:
        return []
    groups = stream.stage.groups()
    return _resolve(stream, index, [model_record(key, rows) for key, rows in groups])


def take_chunk(
    stream: Stream, status: int, content_range: str, body: bytes, start: int, chunk_bytes: int
) -> str | None:
    """Push the bytes of one ``Range`` answer of a remote dump to the stream's parser.

    Args:
        stream: the dump's stream; ``next_offset`` moves past the bytes taken.
        status: the HTTP status (404/410/416 arrive here as data).
        content_range: the ``Content-Range`` header (empty when absent).
        body: the response body.
        start: the first byte asked for.
        chunk_bytes: the size asked for (a shorter ``bytes …/*`` answer is the last one).

    Returns:
        ``None`` when the bytes were taken (or the end of the file was reached),
        ``"missing"`` when the dump is not there, else the reason the dump must stop.
    """
    reader = stream.reader
    if status in (404, 410):
        return "missing" if start == 0 else f"HTTP {status} at byte {start}"
    if status == 416:  # nothing at or after ``start``: the end of the file
        reader.finish()
        return None
    if status == 200:
        if start != 0:
            return f"the server ignored Range at byte {start}"
        reader.push(body)
        reader.finish()
        return None
    if status != 206:
        return f"unexpected HTTP {status} at byte {start}"
    header = content_range.strip()
    match = _CONTENT_RANGE.match(header)
    if not match or int(match.group(1)) != start:
        return f"bad Content-Range {header!r} for byte {start}"
    reader.push(body)
    stream.next_offset = int(match.group(2)) + 1
    total = match.group(3)
    if (total != "*" and stream.next_offset >= int(total)) or (
        total == "*" and len(body) < chunk_bytes
    ):
        reader.finish()
    return None


def _elements(stream: Stream) -> list[Any]:
    reader = stream.reader
    while True:
        batch = reader.next_batch(50)
        if batch or reader.done or stream.fh is None:
            return batch
        data = stream.fh.read(READ_BYTES)
        if data:
            reader.push(data)
        else:
            reader.finish()


def _resolve(stream: Stream, index: PaperIndex | None, out: list[Record]) -> list[Prepared]:
    spec = DUMPS[stream.dump]
    known: dict[str, Any] = {}
    if index is not None and spec.kind in ("paper", "code"):
        index.add(e for r in out if (e := index_entry(r[0], r[3])) is not None)
    elif index is not None and spec.needs_papers:
        known = index.lookup(p for r in out for p in paper_pages(r[0], r[3]))
    return [
        (kind, sid, url, payload, {p: known[p] for p in paper_pages(kind, payload) if p in known})
        for kind, sid, url, payload in out
    ]
