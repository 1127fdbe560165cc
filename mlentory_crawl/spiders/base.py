"""The base of the source spiders: validated arguments, a job id, state, stats, RawRecords.

Argument models and parsers live in :mod:`.args`, endpoint settings and ``Link`` headers in
:mod:`.endpoints`; both are re-exported here, so ``mlentory_crawl.spiders.base`` stays the one
import for spider code.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from twisted.python.failure import Failure

from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.spiders.args import (
    SpiderArgs,
    SpiderArgumentError,
    format_validation_error,
    parse_datetime_arg,
    parse_id_list,
    strip_comment,
)
from mlentory_crawl.spiders.endpoints import EndpointConfig, on_endpoint, parse_link_header

__all__ = [
    "BaseSourceSpider",
    "EndpointConfig",
    "SpiderArgs",
    "SpiderArgumentError",
    "failed_url",
    "failure_status",
    "format_validation_error",
    "header_text",
    "merge_component_setting",
    "new_job_id",
    "on_endpoint",
    "parse_datetime_arg",
    "parse_id_list",
    "parse_link_header",
    "strip_comment",
    "utc_now_iso",
]

logger = logging.getLogger(__name__)

STATE_JOB_ID_KEY = "job_id"
"""Key of the job id in ``spider.state`` (persisted by Scrapy in ``JOBDIR/spider.state``)."""


JOB_ID_FILE = "job_id"
"""File in ``JOBDIR`` that keeps the job id (survives a SIGKILL, unlike ``spider.state``)."""


def _read_small(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()[:200]
    except (FileNotFoundError, NotADirectoryError):
        return ""


def utc_now_iso() -> str:
    """The current UTC time as ISO-8601 with a ``Z`` suffix (millisecond precision)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    """A fresh job id: UTC timestamp plus a short random suffix (``20260101T120000Z-3f9a1c``)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def merge_component_setting(
    settings: BaseSettings, name: str, component: str, order: int | None
) -> None:
    """Add *component* to a component-priority dict setting, merging, at ``spider`` priority.

    For ``update_settings``: a component already listed (even mapped to ``None`` to disable
    it) is left alone. Use this instead of ``set_in_component_priority_dict``/``setdefault_…``:
    those keep the setting's current priority (``project``), and ``scrapy crawl`` in Scrapy
    2.19 re-applies the process settings onto the crawler's at equal priority, silently
    dropping the addition.

    Args:
        settings: the crawler settings passed to ``update_settings``.
        name: e.g. ``DOWNLOADER_MIDDLEWARES``.
        component: import path of the component.
        order: its order value.
    """
    current = settings.getdict(name)
    wanted = load_object(component)
    if any((load_object(k) if isinstance(k, str) else k) is wanted for k in current):
        return
    priority = max(SETTINGS_PRIORITIES["spider"], settings.getpriority(name) or 0)
    settings.set(name, {**current, component: order}, priority=priority)


def header_text(response: Response, name: str) -> str | None:
    """The first value of a response header as text (``None`` when absent or empty)."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def failed_url(failure: Failure) -> str:
    """The URL of a failed request (``?`` when the failure carries no request)."""
    request = getattr(failure, "request", None)
    return str(request.url) if request is not None else "?"


def failure_status(failure: Failure) -> int:
    """The HTTP status of an ``HttpError`` failure; ``0`` for network errors and others."""
    return failure.value.response.status if isinstance(failure.value, HttpError) else 0


class BaseSourceSpider(Spider):
    """Base of the source spiders.

    Subclasses set ``name``, ``source`` and ``args_model``; the validated arguments are in
    ``self.args``. Raw argument strings are *not* copied onto the spider as attributes (as
    plain :class:`scrapy.Spider` does), so nothing unvalidated can change behaviour.

    The job id (``self.job_id``) is, in order of preference: the id already stored by this
    ``JOBDIR`` (``self.state``, or ``JOBDIR/job_id``), so a resumed job keeps its id;
    Scrapyd's ``_job`` argument; the ``JOB_ID`` or ``SCRAPY_JOB`` environment variable; or a
    fresh ``<UTC timestamp>-<random>``. With ``JOBDIR`` the chosen id is stored in both.

    Shared plumbing: :attr:`progress` (counters under ``self.state[source]``, so limits
    survive a resume), :meth:`_inc` (``source/<source>/<key>`` stats), :meth:`read_json`, and
    a close reason: set ``self._close_reason`` and the spider closes with it once idle. A
    reason ending in ``_failed`` (``list_page_failed``, ``dump_failed``, …) marks a failed
    crawl, and ``scrapy crawl`` then exits 1 (:mod:`mlentory_crawl.commands.crawl`); use
    another word for a normal early end (``limit``).
    """

    source: ClassVar[str] = ""
    args_model: ClassVar[type[SpiderArgs]] = SpiderArgs
    progress_defaults: ClassVar[dict[str, Any]] = {}
    """The initial counters of :attr:`progress` (copied on first use)."""

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name)
        try:
            self.args: SpiderArgs = self.args_model.model_validate(kwargs)
        except ValidationError as exc:
            raise SpiderArgumentError(format_validation_error(self.name, exc)) from None
        self._job_id: str | None = None
        self._local_state: dict[str, Any] = {}
        self._close_reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Build the spider; listen for idleness (to close with ``self._close_reason``)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # -- state, close reason, stats ------------------------------------------------------------

    @property
    def state_store(self) -> dict[str, Any]:
        """``self.state`` (persisted under ``JOBDIR``), else an in-memory dict."""
        state = getattr(self, "state", None)
        return state if isinstance(state, dict) else self._local_state

    @property
    def progress(self) -> dict[str, Any]:
        """This spider's counters, ``state_store[source]`` (so limits survive a resume)."""
        store = self.state_store
        if self.source not in store:
            store[self.source] = copy.deepcopy(self.progress_defaults)
        progress: dict[str, Any] = store[self.source]
        return progress

    def on_idle(self) -> None:
        """Close with the telling reason set during the crawl (``limit``, …), once idle."""
        if self._close_reason:
            raise CloseSpider(self._close_reason)

    def _inc(self, key: str, count: int = 1) -> None:
        """Add ``count`` to the stat ``source/<source>/<key>``."""
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"source/{self.source}/{key}", count)

    def read_json(self, response: Response, stat: str, what: str) -> Any:
        """The parsed JSON body; ``None`` (stat ``stat`` counted, logged) when it is invalid."""
        try:
            return json.loads(response.body)
        except ValueError as exc:
            self._inc(stat)
            logger.error("Invalid JSON in %s %s: %s", what, response.url, exc)
            return None

    # -- job id and records --------------------------------------------------------------------

    @property
    def job_id(self) -> str:
        """The crawl job id, stable across ``JOBDIR`` resumes (see the class docstring).

        With ``JOBDIR`` the id is also written to ``JOBDIR/job_id`` the first time it is
        needed (a few bytes, once), so a resume after a SIGKILL, when Scrapy could not save
        ``spider.state``, keeps it too.
        """
        if self._job_id is not None:
            return self._job_id
        state = getattr(self, "state", None)
        state = state if isinstance(state, dict) else None
        id_file = self._job_id_file()
        stored = _read_small(id_file) if id_file is not None else ""
        job_id = str(
            (state or {}).get(STATE_JOB_ID_KEY)
            or stored
            or self.args.job
            or os.environ.get("JOB_ID", "").strip()
            or os.environ.get("SCRAPY_JOB", "").strip()
            or new_job_id()
        )
        if id_file is not None and stored != job_id:
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(job_id + "\n", encoding="utf-8")
        if state is not None:
            state[STATE_JOB_ID_KEY] = job_id
        self._job_id = job_id
        return job_id

    def _job_id_file(self) -> Path | None:
        crawler = getattr(self, "crawler", None)
        jobdir = crawler.settings.get("JOBDIR") if crawler is not None else None
        return Path(str(jobdir)) / JOB_ID_FILE if jobdir else None

    def make_record(
        self,
        *,
        source_id: str,
        url: str,
        api_url: str,
        payload: Any,
        kind: str = "model",
        attachments: dict[str, Attachment] | None = None,
        retrieved_at: str | None = None,
    ) -> RawRecord:
        """Build a :class:`RawRecord` for this spider's source and job.

        Args:
            source_id: the id at the source.
            url: the canonical public page of the record (never a mirror/replay URL).
            api_url: the URL the payload was actually fetched from.
            payload: the untouched parsed body (or this record's part of a list page).
            kind: the kind of source object.
            attachments: secondary documents by role.
            retrieved_at: ISO UTC time of the fetch; defaults to now.
        """
        return RawRecord(
            source=self.source,
            source_id=source_id,
            url=url,
            api_url=api_url,
            retrieved_at=retrieved_at or utc_now_iso(),
            payload=payload,
            kind=kind,
            attachments=dict(attachments or {}),
            job_id=self.job_id,
        )
