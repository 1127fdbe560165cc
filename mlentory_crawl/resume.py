"""Crash-safe resumption of ``JOBDIR`` crawls: a request journal next to Scrapy's job state.

Scrapy keeps a job in ``JOBDIR`` (a disk request queue, ``requests.seen``, ``spider.state``),
but writes most of it only when the spider closes cleanly. After a SIGKILL the disk queue's
size header and ``active.json`` are stale, fingerprints still in a write buffer are lost and
``spider.state`` is the one of the previous clean stop. Resuming then loses requests (popped
and in flight, or queued but not indexed, yet already marked as seen) and repeats others.

:class:`JournalScheduler` (the ``SCHEDULER`` of this project) keeps its own journal, a SQLite
database ``JOBDIR/resume.sqlite`` updated in one small transaction per accepted request:

``seen``
    the fingerprint of every request that went through duplicate filtering (it replaces
    ``requests.seen``; filtering uses the crawler's ``REQUEST_FINGERPRINTER_CLASS``);
``pending``
    every accepted request, serialized like the disk queue does, until it is *done*: popped,
    downloaded and its callback or errback output fully processed (every item through every
    pipeline, every follow-up or retry request enqueued);
``meta``
    whether the last run stopped cleanly, and a checkpoint of ``spider.state``.

Done requests leave ``pending`` only at *checkpoints*, taken when the scraper is idle (no
callback running, no item in a pipeline) at most every ``RESUME_CHECKPOINT_INTERVAL`` seconds,
in the same transaction as a copy of ``spider.state``. The journal therefore always describes
one consistent moment of the crawl. On the next start with the same ``JOBDIR``:

* after a clean stop (finished, or one SIGINT/SIGTERM), Scrapy's own queue and
  ``spider.state`` are used; the journal agrees with them;
* after an unclean stop (SIGKILL, crash, a second Ctrl-C), Scrapy's queue is discarded, every
  pending request is scheduled again (bypassing the duplicate filter) and ``spider.state`` is
  restored from the last checkpoint. The work done after that checkpoint is repeated; the file
  stores skip the records they already hold (:class:`~mlentory_crawl.storage.PartWriter`).

Requests are matched to their journal rows by ``request.meta["mlentory_resume_id"]``. Whether
a popped request is still in flight is read from the engine's downloader (``active``) and
scraper (``slot.active``/``slot.queue``): the engine moves a request between them without a
gap, and a request in neither has been fully handled. Those attributes are not documented
API; if a Scrapy upgrade removes them, the scheduler logs an error once and stops marking
requests done, so resumes repeat more work but never lose any (``tests/unit/test_resume.py``
checks them).

Settings: ``RESUME_JOURNAL_ENABLED`` (default on; only with ``JOBDIR``),
``RESUME_CHECKPOINT_INTERVAL`` (seconds, default 0.5). Stats: ``resume/checkpoints``,
``resume/unclean_resumes``, ``resume/requests_restored``, ``resume/unserializable``,
``resume/journal_errors``. The guarantee and its limits: ``docs/resume.md``.
"""

from __future__ import annotations

import logging
import pickle
import shlex
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter, RFPDupeFilter
from scrapy.settings import BaseSettings
from scrapy.utils.job import job_dir
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from mlentory_crawl.config import ConfigError, FilesConfig

logger = logging.getLogger(__name__)

JOURNAL_FILE = "resume.sqlite"
"""The journal's file name inside ``JOBDIR``."""
RESUME_ID_META = "mlentory_resume_id"
"""``Request.meta`` key holding the request's journal id."""
SCHEMA_VERSION = 1
_SERIALIZATION_ERRORS = (ValueError, TypeError, AttributeError, pickle.PicklingError)


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


def _has_scrapy_job_state(jobdir: Path) -> bool:
    """Whether ``jobdir`` holds state of a run made without the journal."""
    seen = jobdir / "requests.seen"
    queue = jobdir / "requests.queue"
    return (
        (seen.is_file() and seen.stat().st_size > 0)
        or (jobdir / "spider.state").is_file()
        or (queue.is_dir() and any(queue.iterdir()))
    )


class JournalScheduler(Scheduler):
    """Scrapy's scheduler plus the request journal (see the module docstring).

    Without ``JOBDIR`` (or with ``RESUME_JOURNAL_ENABLED=0``) it is exactly Scrapy's
    :class:`~scrapy.core.scheduler.Scheduler`. The journal is also left off, with a warning,
    for a ``JOBDIR`` started without it and for a custom ``DUPEFILTER_CLASS`` (whose state
    the journal cannot rebuild).
    """

    def __init__(
        self,
        dupefilter: BaseDupeFilter,
        jobdir: str | None = None,
        *args: Any,
        journal: RequestJournal | None = None,
        filtering: bool = True,
        checkpoint_interval: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(dupefilter, jobdir, *args, **kwargs)
        self.journal = journal
        self.filtering = filtering
        self.checkpoint_interval = checkpoint_interval
        self.stop_kind = StopKind.NEW
        self._in_progress: dict[Request, int] = {}
        self._done: list[int] = []
        self._checkpoint_wanted = False
        self._ticker: LoopingCall | None = None
        self._internals_missing = False
        self._warned_unserializable = False
        self._journal_failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the scheduler; the journal is on with ``JOBDIR`` unless disabled."""
        settings = crawler.settings
        config = ResumeConfig.from_settings(settings)
        jobdir = job_dir(settings)
        dupefilter_cls = load_object(settings["DUPEFILTER_CLASS"])
        if not jobdir or not config.enabled:
            return super().from_crawler(crawler)
        path = Path(jobdir)
        if not (path / JOURNAL_FILE).exists() and _has_scrapy_job_state(path):
            logger.warning(
                "JOBDIR %s was started without the resume journal: resuming it with Scrapy's "
                "own state only (a SIGKILL may lose or repeat requests; see docs/resume.md)",
                jobdir,
            )
            return super().from_crawler(crawler)
        if dupefilter_cls is RFPDupeFilter:
            debug = settings.getbool("DUPEFILTER_DEBUG")
            dupefilter: BaseDupeFilter = RFPDupeFilter(
                None, debug, fingerprinter=crawler.request_fingerprinter
            )
            filtering = True
        elif dupefilter_cls is BaseDupeFilter:
            dupefilter, filtering = BaseDupeFilter(), False
        else:
            logger.warning(
                "DUPEFILTER_CLASS %s is not Scrapy's: the resume journal is off (a SIGKILL may "
                "lose or repeat requests; see docs/resume.md)",
                settings["DUPEFILTER_CLASS"],
            )
            return super().from_crawler(crawler)
        scheduler = cls(
            dupefilter,
            jobdir,
            dqclass=load_object(settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
            journal=RequestJournal(path / JOURNAL_FILE),
            filtering=filtering,
            checkpoint_interval=config.checkpoint_interval,
        )
        crawler.signals.connect(scheduler._spider_opened, signal=signals.spider_opened)
        return scheduler

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self, spider: Spider) -> Deferred[None] | None:
        """Open the queues; after an unclean stop, replace Scrapy's queue by the journal's."""
        if self.journal is None:
            return super().open(spider)
        self.stop_kind = self.journal.open()
        if self.stop_kind is StopKind.UNCLEAN and self.dqdir:
            shutil.rmtree(self.dqdir, ignore_errors=True)
            Path(self.dqdir).mkdir(parents=True, exist_ok=True)
        result = super().open(spider)
        if self.stop_kind is StopKind.UNCLEAN:
            self._inc("resume/unclean_resumes")
            restored = self._restore_requests(spider)
            logger.warning(
                "Resuming job %s after an unclean stop: %s request(s) restored from the "
                "resume journal (Scrapy's own queue discarded); work done after the last "
                "checkpoint is repeated and already-written records are skipped",
                self.journal.path.parent,
                restored,
            )
        self.journal.mark_running()
        self._start_ticker()
        return result

    def close(self, reason: str) -> Deferred[None] | None:
        """Close the queues, then record a final checkpoint and a clean stop."""
        if self.journal is None:
            return super().close(reason)
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        result = super().close(reason)
        self._sweep()
        clean = not self._in_progress and not self._journal_failed
        pending: int | str = "?"
        try:
            self.journal.checkpoint(self._done, self._state_blob(), clean=clean)
            self._done = []
            pending = self.journal.pending_count()
        except sqlite3.Error as exc:
            self._journal_error(exc)
        finally:
            self.journal.close()
        logger.info(
            "Resume journal closed (%s stop): %s request(s) left to resume in %s",
            "clean" if clean else "unclean",
            pending,
            self.journal.path,
        )
        if self.stop_kind is StopKind.UNCLEAN and self.spider is not None:
            self._warn_stores(self.spider, at_close=True)
        return result

    # -- requests ------------------------------------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        """Journal the request (filtering duplicates by fingerprint), then queue it."""
        if self.journal is None or self._journal_failed:
            return super().enqueue_request(request)
        fingerprint = None
        if self.filtering and not request.dont_filter:
            assert self.crawler is not None
            fingerprint = self.crawler.request_fingerprinter.fingerprint(request)
        try:
            request_id = self.journal.add(fingerprint, lambda rid: self._serialize(request, rid))
        except sqlite3.Error as exc:
            self._journal_error(exc)
            return super().enqueue_request(request)
        if request_id is None:
            self.df.log(request, self.spider)
            return False
        self._push(request)
        return True

    def next_request(self) -> Request | None:
        """The next request; remember it as in progress until it is fully handled."""
        if self._checkpoint_wanted:
            self._try_checkpoint()  # before popping: a popped request is not in flight yet
        request = super().next_request()
        if request is not None and self.journal is not None:
            request_id = request.meta.get(RESUME_ID_META)
            if isinstance(request_id, int):
                self._in_progress[request] = request_id
        return request

    def has_pending_requests(self) -> bool:
        """Whether requests are queued (also a moment to take a wanted checkpoint)."""
        if self._checkpoint_wanted:
            self._try_checkpoint()
        return super().has_pending_requests()

    def _push(self, request: Request) -> None:
        stats = self.stats
        assert stats is not None
        if self._dqpush(request):
            stats.inc_value("scheduler/enqueued/disk")
        else:
            self._mqpush(request)
            stats.inc_value("scheduler/enqueued/memory")
        stats.inc_value("scheduler/enqueued")

    def _serialize(self, request: Request, request_id: int) -> bytes | None:
        request.meta[RESUME_ID_META] = request_id
        try:
            return pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        except _SERIALIZATION_ERRORS as exc:
            self._inc("resume/unserializable")
            if not self._warned_unserializable:
                self._warned_unserializable = True
                logger.warning(
                    "Request %s cannot be journaled (%s): it will not survive a SIGKILL; "
                    "no more unserializable requests are logged (resume/unserializable)",
                    request,
                    exc,
                )
            return None

    def _restore_requests(self, spider: Spider) -> int:
        assert self.journal is not None
        restored = 0
        for request_id, blob in self.journal.pending():
            try:
                # Our own file in JOBDIR, trusted like Scrapy's pickled disk queue next to it.
                request = request_from_dict(pickle.loads(blob), spider=spider)  # noqa: S301
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the resume
                self._inc("resume/restore_errors")
                logger.error("Cannot restore journaled request %s: %s", request_id, exc)
                continue
            request.meta[RESUME_ID_META] = request_id
            self._push(request)
            restored += 1
        self._inc("resume/requests_restored", restored)
        return restored

    def _spider_opened(self, spider: Spider) -> None:
        """Restore ``spider.state``; after an unclean stop, say what the stores may miss."""
        self._restore_state(spider)
        if self.stop_kind is StopKind.UNCLEAN:
            self._warn_stores(spider, at_close=False)

    def _restore_state(self, spider: Spider) -> None:
        """Put back ``spider.state`` as of the journal's last checkpoint.

        After an unclean stop Scrapy's ``spider.state`` file is the one of an older clean
        stop. After a clean stop it normally equals the final checkpoint, but Scrapy writes
        it after the journal records the clean stop, so the journal is the safer copy.
        Connected after Scrapy's ``SpiderState`` extension, so this runs after it loaded
        its file.
        """
        if self.journal is None or self.stop_kind is StopKind.NEW:
            return
        try:
            blob = self.journal.state()
            # Our own file in JOBDIR, trusted like Scrapy's pickled spider.state next to it.
            state = pickle.loads(blob) if blob is not None else None  # noqa: S301
        except (sqlite3.Error, pickle.UnpicklingError, EOFError) as exc:
            logger.error("Cannot restore spider.state from the resume journal: %s", exc)
            return
        if state is None:
            return
        current = getattr(spider, "state", None)
        if isinstance(current, dict) and isinstance(state, dict):
            current.clear()
            current.update(state)
        else:
            spider.state = state  # type: ignore[attr-defined]
        logger.debug("spider.state restored from the last resume checkpoint")

    # -- checkpoints ---------------------------------------------------------------------------

    def _start_ticker(self) -> None:
        """Try a checkpoint every ``RESUME_CHECKPOINT_INTERVAL`` seconds."""
        self._ticker = LoopingCall(self._tick)
        self._ticker.start(self.checkpoint_interval, now=False).addErrback(self._tick_failed)

    def _tick(self) -> None:
        self._try_checkpoint()

    def _tick_failed(self, failure: Failure) -> None:
        logger.error(
            "Resume checkpoints stopped: %s", failure.getErrorMessage(), exc_info=failure.value
        )

    def _in_flight(self) -> set[Request] | None:
        """Requests in the downloader or the scraper, or ``None`` if that cannot be known."""
        engine = getattr(self.crawler, "engine", None)
        try:
            flying: set[Request] = set(engine.downloader.active)  # type: ignore[union-attr]
            slot = engine.scraper.slot  # type: ignore[union-attr]
            if slot is not None:
                flying.update(slot.active)
                flying.update(entry[1] for entry in slot.queue)
        except AttributeError as exc:
            if not self._internals_missing:
                self._internals_missing = True
                logger.error(
                    "Cannot see the engine's in-flight requests (%s): no request is marked "
                    "done, so a resume after a SIGKILL repeats this whole run (nothing lost)",
                    exc,
                )
            return None
        return flying

    def _scraper_idle(self) -> bool:
        engine = getattr(self.crawler, "engine", None)
        slot = getattr(getattr(engine, "scraper", None), "slot", None)
        return slot is None or bool(slot.is_idle())

    def _sweep(self) -> None:
        """Move requests that are no longer in flight to the done list."""
        if not self._in_progress:
            return
        flying = self._in_flight()
        if flying is None:
            return
        for request, request_id in list(self._in_progress.items()):
            if request not in flying:
                self._done.append(request_id)
                del self._in_progress[request]

    def _try_checkpoint(self) -> None:
        if self.journal is None or self._journal_failed:
            self._checkpoint_wanted = False
            return
        self._sweep()
        if not self._done:
            self._checkpoint_wanted = False
            return
        if not self._scraper_idle():
            self._checkpoint_wanted = True  # try again right after the next response
            return
        try:
            self.journal.checkpoint(self._done, self._state_blob())
        except sqlite3.Error as exc:
            self._journal_error(exc)
            return
        self._done = []
        self._checkpoint_wanted = False
        self._inc("resume/checkpoints")

    def _state_blob(self) -> bytes | None:
        state = getattr(self.spider, "state", None) if hasattr(self, "spider") else None
        if state is None:
            return None
        try:
            return pickle.dumps(state, protocol=4)
        except _SERIALIZATION_ERRORS as exc:
            logger.warning("spider.state cannot be checkpointed (%s)", exc)
            return None

    # -- helpers -------------------------------------------------------------------------------

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)

    def _journal_error(self, exc: sqlite3.Error) -> None:
        self._inc("resume/journal_errors")
        if not self._journal_failed:
            self._journal_failed = True
            logger.error(
                "The resume journal cannot be written (%s): crawling on without it; a SIGKILL "
                "from now on may lose or repeat requests",
                exc,
            )

    def _warn_stores(self, spider: Spider, *, at_close: bool) -> None:
        """Name the ``scrapy load`` command that delivers batches a killed run held in memory."""
        assert self.crawler is not None
        settings = self.crawler.settings
        stores = [
            name
            for name, setting in (("Neo4j", "NEO4J_URI"), ("Elasticsearch", "ELASTICSEARCH_URL"))
            if settings.get(setting)
        ]
        if not stores:
            return
        try:
            data_dir = FilesConfig.from_settings(settings).data_dir.resolve()
        except ConfigError:
            data_dir = Path(str(settings.get("DATA_DIR") or "./data"))
        source = str(getattr(spider, "source", "") or spider.name)
        job = str(getattr(spider, "job_id", "") or "<job id>")
        command = shlex.join(
            ["scrapy", "load", "--source", source, "--job", job, "--data-dir", str(data_dir)]
        )
        logger.warning(
            "%s: the killed run may have held records in memory that %s never received "
            "(the files have them). %s with:\n  %s",
            "Resumed job" if at_close else "Resuming job",
            " and ".join(stores),
            "Deliver them" if at_close else "When this crawl ends, deliver them",
            command,
        )
