"""Rotated, kill-tolerant record files: ``<root>/<source>/<job>/part-NNNNN.<ext>``.

Writers append one record at a time and flush after each, so a killed process loses at most
the record being written: JSON-lines files may end with one partial line, which every reader
here skips (and counts); Turtle parts are written as ``.ttl.partial`` and renamed to ``.ttl``
when complete, with each record framed by ``# @record`` / ``# @end`` comments so a partial
part can be repaired to its last complete record. A process that reopens a job folder (JOBDIR
resume) repairs what a previous kill left and continues with a new part.

A writer marks its folder with a ``.writing`` file while it is open and removes it when it
closes. A folder that still has the marker was left by a process that did not close (a kill):
a writer opened with ``dedupe=True`` then loads the keys of the records already there (see
:class:`KeyIndex`) and skips records it is asked to write again, which is what happens to the
work a resumed crawl repeats (``docs/resume.md``). After a clean stop nothing is repeated, so
no keys are loaded.

Like Scrapy's own feed exports, the writes are small local appends made on the reactor thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

_PART_RE = re.compile(r"^part-(\d{5,})\.")
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
RECORD_START = "# @record "
RECORD_END = "# @end"
WRITING_MARKER = ".writing"
"""File a :class:`PartWriter` keeps in its folder while open (left behind by a killed process)."""

KeyOf = Callable[[dict[str, Any]], str | None]
"""Returns the identity of a JSON-lines record (``None``: the record is never de-duplicated)."""


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


def key_digest(key: str) -> int:
    """The 64-bit digest a :class:`KeyIndex` stores for a record key."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")


class KeyIndex:
    """The record keys already in a job folder, as 64-bit digests (8 bytes per record).

    Keys found on disk are kept in a sorted array (binary search); keys added later in a
    set. A million records take about 8 MB; the chance that two of them share a digest is
    about 3e-8.
    """

    def __init__(self, digests: Iterable[int] = ()) -> None:
        self._old = array("Q", sorted(set(digests)))
        self._new: set[int] = set()

    def __len__(self) -> int:
        return len(self._old) + len(self._new)

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, int):
            return False
        if digest in self._new:
            return True
        pos = bisect_left(self._old, digest)
        return pos < len(self._old) and self._old[pos] == digest

    def add(self, digest: int) -> None:
        """Remember one more key."""
        self._new.add(digest)


@dataclass
class PartWriter:
    """Append-only writer of rotated part files for one (source, job) folder.

    Args:
        folder: the job folder (created if needed).
        ext: ``jsonl`` or ``ttl``.
        part_records: records per part before rotating.
        dedupe: when the folder was left open by a killed process, skip records whose key
            is already in it (JSON lines: ``key_of``; Turtle: the record IRI).
        dedupe_existing: with ``dedupe``, also skip records already in a folder that was
            closed cleanly (for sources whose resumed jobs repeat work, such as re-read dumps).
        key_of: the key of a JSON-lines record (needed for ``dedupe`` of ``jsonl``).
        on_duplicate: called once per skipped record (e.g. to count it).

    Attributes:
        recovered: the folder still had the ``.writing`` marker of a process that did not
            close (a kill); its parts were repaired.
        duplicates_skipped: records not written because the folder already had them.
    """

    folder: Path
    ext: str
    part_records: int = 10000
    dedupe: bool = False
    dedupe_existing: bool = False
    key_of: KeyOf | None = None
    on_duplicate: Callable[[], None] | None = None
    records_written: int = 0
    duplicates_skipped: int = 0
    recovered: bool = field(default=False, init=False)
    _keys: KeyIndex | None = field(default=None, init=False, repr=False)
    _fh: IO[str] | None = field(default=None, repr=False)
    _in_part: int = 0
    _index: int = 0
    _path: Path | None = None

    def __post_init__(self) -> None:
        if self.part_records < 1:
            raise ValueError("part_records must be >= 1")
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / WRITING_MARKER
        self.recovered = marker.exists()
        self._recover()
        self._index = _next_part_index(self.folder)
        reopened = self.recovered or (self.dedupe_existing and self._index > 0)
        if self.dedupe and reopened and (self.ext == "ttl" or self.key_of is not None):
            self._keys = KeyIndex(self._existing_keys())
            logger.info(
                "Reopened %s after %s stop: %s record(s) already there are not written again",
                self.folder,
                "an unclean" if self.recovered else "a",
                len(self._keys),
            )
        marker.write_text(f"{os.getpid()}\n", encoding="utf-8")

    def _recover(self) -> None:
        for path in sorted(self.folder.glob("part-*.jsonl")):
            removed = repair_jsonl(path)
            if removed:
                logger.warning("Repaired %s: dropped a partial last line (%s bytes)", path, removed)
        for path in sorted(self.folder.glob("part-*.ttl.partial")):
            kept = repair_turtle(path)
            path.rename(path.with_name(path.name.removesuffix(".partial")))
            logger.warning("Repaired %s: kept %s complete records", path, kept)

    def _existing_keys(self) -> Iterator[int]:
        if self.ext == "ttl":
            for path in sorted(self.folder.glob("part-*.ttl")):
                with path.open("r", encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        if line.startswith(RECORD_START):
                            yield key_digest(line[len(RECORD_START) :].strip())
            return
        assert self.key_of is not None
        for obj in iter_jsonl(sorted(self.folder.glob(f"part-*.{self.ext}"))):
            key = self.key_of(obj)
            if key:
                yield key_digest(key)

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

    def write_line(self, line: str, key: str | None = None) -> bool:
        """Append one JSON-lines record (``line`` must not contain a newline).

        Args:
            line: the record as one line of JSON.
            key: its identity; computed with ``key_of`` when omitted and needed.

        Returns:
            ``False`` when the record was skipped because the folder already holds it.
        """
        digest: int | None = None
        if self._keys is not None:
            if key is None and self.key_of is not None:
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                key = self.key_of(obj) if isinstance(obj, dict) else None
            if key:
                digest = key_digest(key)
                if digest in self._keys:
                    self._skip()
                    return False
        self._write(line + "\n")
        if digest is not None and self._keys is not None:
            self._keys.add(digest)
        return True

    def write_turtle(self, iri: str, body: str) -> bool:
        """Append one framed Turtle record.

        Returns:
            ``False`` when the record was skipped because the folder already holds it.
        """
        digest: int | None = None
        if self._keys is not None:
            digest = key_digest(iri)
            if digest in self._keys:
                self._skip()
                return False
        self._write(_frame(iri, body))
        if digest is not None and self._keys is not None:
            self._keys.add(digest)
        return True

    def _skip(self) -> None:
        self.duplicates_skipped += 1
        if self.on_duplicate is not None:
            self.on_duplicate()

    def _write(self, text: str) -> None:
        fh = self._fh or self._open()
        fh.write(text)
        fh.flush()
        self._in_part += 1
        self.records_written += 1
        if self._in_part >= self.part_records:
            self._finish_part()

    def close(self) -> None:
        """Close the current part (renaming a Turtle part to its final name) and the folder."""
        self._finish_part()
        (self.folder / WRITING_MARKER).unlink(missing_ok=True)


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
