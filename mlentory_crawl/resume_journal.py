"""The request journal of a ``JOBDIR`` crawl: a SQLite database, ``JOBDIR/resume.sqlite``.

Written by :class:`mlentory_crawl.resume.JournalScheduler` (how and when: the docstring of
:mod:`mlentory_crawl.resume`) in one small transaction per accepted request. Tables:

``seen``
    the fingerprint of every request that went through duplicate filtering (it replaces
    Scrapy's ``requests.seen``);
``pending``
    every accepted request, in its stored form, until a checkpoint records it as done;
``meta``
    the schema version, the next request id, whether the last run stopped cleanly, and a
    checkpoint of ``spider.state`` (pickled).

Also :class:`ResumeConfig`, the ``RESUME_*`` settings. The journal itself takes fingerprints
and stored forms from the scheduler and knows nothing of requests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from mlentory_crawl.config import ConfigError

JOURNAL_FILE = "resume.sqlite"
"""The journal's file name inside ``JOBDIR``."""
SCHEMA_VERSION = 1


class StopKind(Enum):
    """How the previous run of a job ended, as the journal saw it."""

    NEW = "new"
    CLEAN = "clean"
    UNCLEAN = "unclean"


@dataclass(frozen=True)
class ResumeConfig:
    """``RESUME_*`` settings read once."""

    enabled: bool
    checkpoint_interval: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ResumeConfig:
        """Read and validate.

        Raises:
            ConfigError: ``RESUME_CHECKPOINT_INTERVAL`` is not a number in ``(0, 3600]``.
        """
        try:
            interval = settings.getfloat("RESUME_CHECKPOINT_INTERVAL", 0.5)
        except ValueError as exc:
            raise ConfigError(f"RESUME_CHECKPOINT_INTERVAL must be a number: {exc}") from exc
        if not 0 < interval <= 3600:
            raise ConfigError(f"RESUME_CHECKPOINT_INTERVAL must be in (0, 3600], got {interval}")
        return cls(
            enabled=settings.getbool("RESUME_JOURNAL_ENABLED", True),
            checkpoint_interval=interval,
        )


class JournalError(RuntimeError):
    """The journal cannot be used (unknown schema version)."""


class RequestJournal:
    """The SQLite journal of one job (see the module docstring).

    Writes are small WAL appends (``synchronous=NORMAL``): a killed process loses nothing it
    committed; a power cut may lose the last transactions but never corrupts the journal.

    Args:
        path: the database file (``JOBDIR/resume.sqlite``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._next_id = 1

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection."""
        if self._db is None:
            raise JournalError(f"journal {self.path} is not open")
        return self._db

    def open(self) -> StopKind:
        """Open (creating if needed) and tell how the previous run ended."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)")
        db.execute("CREATE TABLE IF NOT EXISTS seen (fp BLOB PRIMARY KEY) WITHOUT ROWID")
        db.execute(
            "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, request BLOB NOT NULL)"
        )
        version = self._meta("version")
        if version is None:
            self._set_meta("version", str(SCHEMA_VERSION))
        elif int(version) > SCHEMA_VERSION:
            raise JournalError(f"{self.path} has journal version {version}; this code reads 1")
        stored_next = int(self._meta("next_id") or 1)
        (max_id,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM pending").fetchone()
        self._next_id = max(stored_next, int(max_id) + 1)
        clean = self._meta("clean")
        if clean is None:
            return StopKind.NEW
        return StopKind.CLEAN if str(clean) == "1" else StopKind.UNCLEAN

    def _meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add(
        self, fingerprint: bytes | None, serialize: Callable[[int], bytes | None]
    ) -> int | None:
        """Record one request, unless its fingerprint was seen before.

        Args:
            fingerprint: the request fingerprint, or ``None`` when the request is not
                filtered (``dont_filter``).
            serialize: builds the stored form from the request's new journal id; ``None``
                means it cannot be stored (its fingerprint is still recorded).

        Returns:
            The journal id, or ``None`` when the fingerprint was already seen.
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if fingerprint is not None:
                cur = db.execute("INSERT OR IGNORE INTO seen (fp) VALUES (?)", (fingerprint,))
                if cur.rowcount == 0:
                    db.execute("ROLLBACK")
                    return None
            request_id = self._next_id
            blob = serialize(request_id)
            if blob is not None:
                db.execute("INSERT INTO pending (id, request) VALUES (?, ?)", (request_id, blob))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._next_id = request_id + 1
        return request_id

    def checkpoint(self, done: Iterable[int], state: bytes | None, *, clean: bool = False) -> None:
        """Forget done requests and store ``spider.state``, in one transaction.

        Args:
            done: journal ids of requests fully handled since the last checkpoint.
            state: the pickled ``spider.state`` (``None``: keep the stored one).
            clean: also record that the run stopped cleanly.
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM pending WHERE id = ?", ((i,) for i in done))
            if state is not None:
                self._set_meta("state", state)
            self._set_meta("next_id", str(self._next_id))
            if clean:
                self._set_meta("clean", "1")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def mark_running(self) -> None:
        """Record that a run is in progress (an unclean stop from now on is detectable)."""
        self._set_meta("clean", "0")

    def pending(self) -> Iterator[tuple[int, bytes]]:
        """The pending requests, oldest first: ``(journal id, stored form)``."""
        yield from self.db.execute("SELECT id, request FROM pending ORDER BY id")

    def pending_count(self) -> int:
        """How many requests are pending."""
        (count,) = self.db.execute("SELECT COUNT(*) FROM pending").fetchone()
        return int(count)

    def state(self) -> bytes | None:
        """The ``spider.state`` of the last checkpoint, pickled."""
        value = self._meta("state")
        return bytes(value) if value is not None else None

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None
