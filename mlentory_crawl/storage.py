"""Rotated, kill-tolerant record files: ``<root>/<source>/<job>/part-NNNNN.<ext>``.

Writers append one record at a time and flush after each, so a killed process loses at most
the record being written: JSON-lines files may end with one partial line, which every reader
here skips (and counts); Turtle parts are written as ``.ttl.partial`` and renamed to ``.ttl``
when complete, with each record framed by ``# @record`` / ``# @end`` comments so a partial
part can be repaired to its last complete record. A process that reopens a job folder (JOBDIR
resume) repairs what a previous kill left and continues with a new part.

Like Scrapy's own feed exports, the writes are small local appends made on the reactor thread.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

_PART_RE = re.compile(r"^part-(\d{5,})\.")
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
RECORD_START = "# @record "
RECORD_END = "# @end"


def safe_name(text: str) -> str:
    """A file-system-safe folder name (ids are never used raw as paths)."""
    cleaned = _SAFE_RE.sub("_", text).strip("._") or "unnamed"
    return cleaned[:120]


def _next_part_index(folder: Path) -> int:
    indexes = [int(m.group(1)) for p in folder.iterdir() if (m := _PART_RE.match(p.name))]
    return max(indexes, default=-1) + 1


def repair_jsonl(path: Path) -> int:
    """Truncate a trailing partial line; return the number of bytes removed."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return 0
        # Walk back to the last newline.
        pos = size - 1
        chunk = 65536
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                fh.truncate(keep)
                return size - keep
            pos = start
        fh.truncate(0)
        return size


def repair_turtle(path: Path) -> int:
    """Keep only complete ``# @record … # @end`` chunks of a partial Turtle part.

    Returns:
        The number of complete records kept.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    chunks = list(iter_turtle_chunks_text(text))
    with path.open("w", encoding="utf-8") as fh:
        for iri, body in chunks:
            fh.write(_frame(iri, body))
    return len(chunks)


def _frame(iri: str, body: str) -> str:
    return f"{RECORD_START}{iri}\n{body.rstrip()}\n{RECORD_END}\n"


@dataclass
class PartWriter:
    """Append-only writer of rotated part files for one (source, job) folder.

    Args:
        folder: the job folder (created if needed).
        ext: ``jsonl`` or ``ttl``.
        part_records: records per part before rotating.
    """

    folder: Path
    ext: str
    part_records: int = 10000
    records_written: int = 0
    _fh: IO[str] | None = field(default=None, repr=False)
    _in_part: int = 0
    _index: int = 0
    _path: Path | None = None

    def __post_init__(self) -> None:
        if self.part_records < 1:
            raise ValueError("part_records must be >= 1")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._index = _next_part_index(self.folder)

    def _recover(self) -> None:
        for path in sorted(self.folder.glob("part-*.jsonl")):
            removed = repair_jsonl(path)
            if removed:
                logger.warning("Repaired %s: dropped a partial last line (%s bytes)", path, removed)
        for path in sorted(self.folder.glob("part-*.ttl.partial")):
            kept = repair_turtle(path)
            path.rename(path.with_name(path.name.removesuffix(".partial")))
            logger.warning("Repaired %s: kept %s complete records", path, kept)

    def _open(self) -> IO[str]:
        name = f"part-{self._index:05d}.{self.ext}"
        if self.ext == "ttl":
            name += ".partial"
        self._path = self.folder / name
        self._fh = self._path.open("a", encoding="utf-8")
        self._in_part = 0
        return self._fh

    def _finish_part(self) -> None:
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        if self._path is not None and self._path.name.endswith(".partial"):
            self._path.rename(self._path.with_name(self._path.name.removesuffix(".partial")))
        self._index += 1

    def write_line(self, line: str) -> None:
        """Append one JSON-lines record (``line`` must not contain a newline)."""
        self._write(line + "\n")

    def write_turtle(self, iri: str, body: str) -> None:
        """Append one framed Turtle record."""
        self._write(_frame(iri, body))

    def _write(self, text: str) -> None:
        fh = self._fh or self._open()
        fh.write(text)
        fh.flush()
        self._in_part += 1
        self.records_written += 1
        if self._in_part >= self.part_records:
            self._finish_part()

    def close(self) -> None:
        """Close the current part (renaming a Turtle part to its final name)."""
        self._finish_part()


def dump_json_line(obj: Any) -> str:
    """Compact, key-sorted JSON on one line (stable, so equal records give equal bytes)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class ReadStats:
    """What a tolerant reader skipped."""

    partial_lines: int = 0
    bad_lines: int = 0


def iter_jsonl(paths: Iterable[Path], stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of JSON-lines files, skipping a partial last line.

    A line that fails to parse and has no trailing newline is a partial write (counted in
    ``stats.partial_lines``); any other unparsable line is counted in ``stats.bad_lines``.
    """
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        with Path(path).open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    if line.endswith("\n"):
                        stats.bad_lines += 1
                        logger.warning("Skipping an unparsable line in %s", path)
                    else:
                        stats.partial_lines += 1
                    continue
                if isinstance(obj, dict):
                    yield obj
                else:
                    stats.bad_lines += 1


def iter_turtle_chunks_text(text: str) -> Iterator[tuple[str, str]]:
    """Yield ``(record IRI, Turtle body)`` for each complete framed record in ``text``."""
    iri: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(RECORD_START):
            iri, body = line[len(RECORD_START) :].strip(), []
        elif line.strip() == RECORD_END and iri is not None:
            yield iri, "\n".join(body)
            iri, body = None, []
        elif iri is not None:
            body.append(line)


def part_files(root: Path, ext: str, source: str | None = None) -> list[Path]:
    """All part files under ``root`` (optionally one source), in a stable order.

    Turtle ``.ttl.partial`` files left by a kill are included; use
    :func:`iter_turtle_chunks_text` to read only their complete records.
    """
    base = root / source if source else root
    if not base.exists():
        return []
    patterns = [f"part-*.{ext}"] + ([f"part-*.{ext}.partial"] if ext == "ttl" else [])
    found = {p for pattern in patterns for p in base.rglob(pattern)}
    return sorted(found)
