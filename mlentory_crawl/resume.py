"""Crash-safe resumption of ``JOBDIR`` crawls: a request journal next to Scrapy's job state.

Scrapy keeps a job in ``JOBDIR`` (a disk request queue, ``requests.seen``, ``spider.state``),
but writes most of it only when the spider closes cleanly. After a SIGKILL the disk queue's
size header and ``active.json`` are stale, fingerprints still in a write buffer are lost and
``spider.state`` is the one of the previous clean stop. Resuming then loses requests (popped
and in flight, or queued but not indexed, yet already marked as seen) and repeats others.

:class:`JournalScheduler` (the ``SCHEDULER`` of this project) keeps its own journal, a SQLite
database ``JOBDIR/resume.sqlite`` (:mod:`.resume_journal`) updated in one small transaction
per accepted request: the fingerprints it has seen (it replaces ``requests.seen``; filtering
uses the crawler's ``REQUEST_FINGERPRINTER_CLASS``), and every accepted request, serialized
like the disk queue does (:mod:`.resume_restore`), until it is *done*: popped, downloaded and
its callback or errback output fully processed (every item through every pipeline, every
follow-up or retry request enqueued).

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
a popped request is still in flight is read from the engine's downloader and scraper
(:mod:`.resume_inflight`, the only code reading those undocumented attributes): if a Scrapy
upgrade removes them, no request is marked done, so resumes repeat more work but never lose
any.

Settings: ``RESUME_JOURNAL_ENABLED`` (default on; only with ``JOBDIR``),
``RESUME_CHECKPOINT_INTERVAL`` (seconds, default 0.5). Stats: ``resume/checkpoints``,
``resume/unclean_resumes``, ``resume/requests_restored``, ``resume/unserializable``,
``resume/journal_errors``, ``resume/restore_errors``. The guarantee and its limits:
``docs/resume.md``.

Modules: this one (the scheduler, ``SCHEDULER = "mlentory_crawl.resume.JournalScheduler"``,
and the public names), :mod:`.resume_journal` (the SQLite journal), :mod:`.resume_restore`
(stored forms, restoring after an unclean stop), :mod:`.resume_inflight` (what the engine
still holds).
"""

from __future__ import annotations

import logging
import pickle
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter, RFPDupeFilter
from scrapy.utils.job import job_dir
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from mlentory_crawl.resume_inflight import HandledRequests, scraper_idle
from mlentory_crawl.resume_journal import (
    JOURNAL_FILE,
    SCHEMA_VERSION,
    JournalError,
    RequestJournal,
    ResumeConfig,
    StopKind,
)
from mlentory_crawl.resume_restore import (
    RESUME_ID_META,
    SERIALIZATION_ERRORS,
    dump_request,
    dump_state,
    has_scrapy_job_state,
    load_request,
    load_state,
    put_state,
    stores_to_reload,
)

__all__ = [
    "JOURNAL_FILE",
    "RESUME_ID_META",
    "SCHEMA_VERSION",
    "JournalError",
    "JournalScheduler",
    "RequestJournal",
    "ResumeConfig",
    "StopKind",
]

logger = logging.getLogger(__name__)


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
        self._handled = HandledRequests()
        self._checkpoint_wanted = False
        self._ticker: LoopingCall | None = None
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
        if not (path / JOURNAL_FILE).exists() and has_scrapy_job_state(path):
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
        self._handled.sweep(self._engine)
        clean = not self._handled.in_progress and not self._journal_failed
        pending: int | str = "?"
        try:
            self.journal.checkpoint(self._handled.done, self._state_blob(), clean=clean)
            self._handled.done = []
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
                self._handled.popped(request, request_id)
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
        try:
            return dump_request(request, request_id, self.spider)
        except SERIALIZATION_ERRORS as exc:
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
                request = load_request(blob, request_id, spider)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the resume
                self._inc("resume/restore_errors")
                logger.error("Cannot restore journaled request %s: %s", request_id, exc)
                continue
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
            state = load_state(self.journal.state())
        except (sqlite3.Error, pickle.UnpicklingError, EOFError) as exc:
            logger.error("Cannot restore spider.state from the resume journal: %s", exc)
            return
        if state is None:
            return
        put_state(spider, state)
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

    @property
    def _engine(self) -> Any:
        return getattr(self.crawler, "engine", None)

    def _try_checkpoint(self) -> None:
        if self.journal is None or self._journal_failed:
            self._checkpoint_wanted = False
            return
        self._handled.sweep(self._engine)
        if not self._handled.done:
            self._checkpoint_wanted = False
            return
        if not scraper_idle(self._engine):
            self._checkpoint_wanted = True  # try again right after the next response
            return
        try:
            self.journal.checkpoint(self._handled.done, self._state_blob())
        except sqlite3.Error as exc:
            self._journal_error(exc)
            return
        self._handled.done = []
        self._checkpoint_wanted = False
        self._inc("resume/checkpoints")

    def _state_blob(self) -> bytes | None:
        state = getattr(self.spider, "state", None) if hasattr(self, "spider") else None
        if state is None:
            return None
        try:
            return dump_state(state)
        except SERIALIZATION_ERRORS as exc:
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
        stores, command = stores_to_reload(self.crawler.settings, spider)
        if not stores:
            return
        logger.warning(
            "%s: the killed run may have held records in memory that %s never received "
            "(the files have them). %s with:\n  %s",
            "Resumed job" if at_close else "Resuming job",
            " and ".join(stores),
            "Deliver them" if at_close else "When this crawl ends, deliver them",
            command,
        )
