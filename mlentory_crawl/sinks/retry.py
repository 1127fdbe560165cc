"""What the store sinks share: backoff retries, write results, and the unsent-records report.

The stores (Neo4j, Elasticsearch) are projections of the files under ``DATA_DIR/normalized``.
When a store stays unreachable after retries, the records of the failed batches are not lost
(the files hold them); :class:`UnsentRecords` remembers which (source, job) folders they live
in, and :meth:`UnsentRecords.commands` prints the exact ``scrapy load`` command that delivers
them once the store is back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from scrapy.settings import BaseSettings

from mlentory_crawl.config import ConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class StoreUnavailable(Exception):
    """A store could not be reached (or kept failing transiently) within the retry budget.

    Args:
        store: ``neo4j`` or ``es``.
        reason: what went wrong (never contains credentials).
        error_type: a short error class name, used in the ``<store>/errors/<type>`` stat.
    """

    def __init__(
        self,
        store: str,
        reason: str,
        error_type: str = "unavailable",
        unsent: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(f"{store}: {reason}")
        self.store = store
        self.reason = reason
        self.error_type = error_type
        self.unsent = unsent  # the records not delivered, when not the whole batch
        self.partial: WriteResult | None = None  # what the batch did deliver, if anything


def number_setting(
    settings: BaseSettings, name: str, default: float, low: float, high: float
) -> float:
    """A numeric setting within ``[low, high]``.

    Raises:
        ConfigError: the value is not a number or out of range.
    """
    try:
        value = float(settings.get(name, default))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number, got {settings.get(name)!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def redact_url(url: str) -> str:
    """The URL without any ``user:password@`` part (safe to log)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


@dataclass
class Failure:
    """One record a store refused for a reason tied to the record itself (not an outage)."""

    record: Any  # FAIR4MLRecord
    error_type: str
    reason: str


@dataclass
class WriteResult:
    """What one batch write did.

    Attributes:
        records: records written (upserted nodes/edges, or indexed documents).
        rows: rows sent (Neo4j: node + edge rows; Elasticsearch: documents).
        stale: records skipped because the store already holds a newer harvest of them.
        skipped: records skipped on purpose, by reason (e.g. ``not_a_model``).
        failures: records refused for a reason of their own (quarantined by the caller).
        retries: transient failures retried inside this write.
    """

    records: int = 0
    rows: int = 0
    stale: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    retries: int = 0

    def add(self, other: WriteResult) -> None:
        """Fold ``other`` into this result."""
        self.records += other.records
        self.rows += other.rows
        self.stale += other.stale
        self.retries += other.retries
        self.failures.extend(other.failures)
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


async def retry_async(
    call: Callable[[], Awaitable[T]],
    *,
    is_transient: Callable[[BaseException], bool],
    budget: float,
    what: str,
    first_delay: float = 0.5,
    max_delay: float = 8.0,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Await ``call()``; retry transient failures with jittered exponential backoff.

    Args:
        call: makes a fresh attempt each time it is called.
        is_transient: tells a retryable error (connection lost, 429, 503, deadlock) from a
            permanent one, which is raised at once.
        budget: seconds after which the last transient error is raised (0: one attempt).
        what: a description for the log (``"Neo4j batch of 500 records"``).
        first_delay: the first backoff, doubled after every failure.
        max_delay: the longest single backoff.
        on_retry: called with each transient error before sleeping (stats).

    Returns:
        The first successful result.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise
            if on_retry is not None:
                on_retry(exc)
            sleep = min(delay, max_delay, remaining) * (0.75 + random.random() / 2)  # noqa: S311
            logger.warning(
                "%s failed (attempt %s, %s: %s); retrying in %.1fs",
                what,
                attempt,
                type(exc).__name__,
                str(exc)[:300],
                sleep,
            )
            await asyncio.sleep(sleep)
            delay *= 2


def load_command(source: str, job: str, only: str, data_dir: Path) -> str:
    """The shell command that (re)loads one job folder of ``data/normalized`` into a store."""
    parts = ["scrapy", "load", "--source", source, "--job", job, "--only", only]
    parts += ["--data-dir", str(data_dir)]
    return shlex.join(parts)


@dataclass
class UnsentRecords:
    """Records a store did not receive, grouped by the (source, job) folder holding them.

    Memory stays bounded: counts per folder and a few sample IRIs, never every record.
    """

    store: str
    samples: int = 5
    by_folder: dict[tuple[str, str], int] = field(default_factory=dict)
    sample_iris: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many records were not delivered."""
        return sum(self.by_folder.values())

    def add(self, records: Sequence[Any], reason: str) -> None:
        """Remember the records of a failed batch (FAIR4ML records)."""
        for record in records:
            key = (record.provenance.source, record.provenance.jobId)
            self.by_folder[key] = self.by_folder.get(key, 0) + 1
            if len(self.sample_iris) < self.samples:
                self.sample_iris.append(record.primaryTopic[:200])
        self.reasons[reason] = self.reasons.get(reason, 0) + len(records)

    def commands(self, data_dir: Path) -> list[str]:
        """One ``scrapy load`` command per (source, job) folder, in job order."""
        return [
            load_command(source, job, self.store, data_dir.resolve())
            for source, job in sorted(self.by_folder, key=lambda k: (k[1], k[0]))
        ]

    def report(self, data_dir: Path, log: logging.Logger) -> None:
        """Log an ERROR naming how many records are missing and how to deliver them."""
        if not self.total:
            return
        log.error(
            "%s did not receive %s record(s) (%s; e.g. %s). They are safe in %s; "
            "deliver them when the store is back with:\n  %s",
            self.store,
            self.total,
            ", ".join(f"{r} x{n}" for r, n in sorted(self.reasons.items())),
            ", ".join(self.sample_iris),
            (data_dir / "normalized").resolve(),
            "\n  ".join(self.commands(data_dir)),
        )
