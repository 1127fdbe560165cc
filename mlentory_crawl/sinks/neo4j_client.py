"""The Neo4j client shared by the crawl pipeline and ``scrapy load``: connect, DDL, batch upserts.

One batch is one managed write transaction: a stale check, the cleanup of relationships the
records no longer state, then one ``UNWIND $rows … MERGE`` statement per shape (see
:class:`~mlentory_crawl.sinks.neo4j.GraphBatch`). Transient failures (connection lost,
deadlock, leader switch) are retried with backoff for ``NEO4J_RETRY_SECONDS``; a batch that
still fails raises :class:`~mlentory_crawl.sinks.retry.StoreUnavailable` and the caller reports
its records as unsent. A statement error caused by the data (rare: all values are parameters)
is isolated by splitting the batch, and only the offending records are returned as failures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import AuthError, DriverError, Neo4jError

from mlentory_crawl import __version__
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.sinks.graph_rows import GraphBatch, RecordRows, record_rows
from mlentory_crawl.sinks.neo4j import FIND_STORED, SCHEMA_STATEMENTS, Neo4jConfig
from mlentory_crawl.sinks.retry import Failure, StoreUnavailable, WriteResult, retry_async

logger = logging.getLogger(__name__)

#: Error codes caused by one record's data: the batch is split to isolate the record. Other
#: errors (a syntax error is a bug) fail the batch as unsent, never quarantine good records.
_DATA_ERRORS = (
    "Neo.ClientError.Statement.TypeError",
    "Neo.ClientError.Statement.ArgumentError",
    "Neo.ClientError.Statement.ArithmeticError",
    "Neo.ClientError.Schema.ConstraintValidation",
    "Neo.DatabaseError.Statement.ExecutionFailed",  # e.g. an IRI too long for the index
)

#: Relationships first, in small transactions (a dense licence node would not fit one).
WIPE = (
    "MATCH (n)-[r]-() WHERE n:Resource OR n:Record "
    "CALL (r) { DELETE r } IN TRANSACTIONS OF 5000 ROWS",
    "MATCH (n) WHERE n:Resource OR n:Record CALL (n) { DELETE n } IN TRANSACTIONS OF 5000 ROWS",
)


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying (connection lost, deadlock, leader switch, ...)."""
    if isinstance(exc, AuthError):
        return False
    if isinstance(exc, Neo4jError | DriverError):
        return bool(exc.is_retryable())
    return isinstance(exc, OSError | TimeoutError)


def _is_data_error(exc: BaseException) -> bool:
    return isinstance(exc, Neo4jError) and str(exc.code or "").startswith(_DATA_ERRORS)


class Neo4jSink:
    """Batched, exact upserts of FAIR4ML records into Neo4j.

    Args:
        config: the validated settings.
    """

    store = "neo4j"

    def __init__(self, config: Neo4jConfig) -> None:
        self.config = config
        self._driver: AsyncDriver | None = None

    @property
    def driver(self) -> AsyncDriver:
        """The open driver (after :meth:`open`)."""
        if self._driver is None:
            raise RuntimeError("Neo4jSink.open() was not awaited")
        return self._driver

    async def open(self) -> None:
        """Connect (waiting up to ``connect_timeout``), then create constraints and indexes.

        Raises:
            StoreUnavailable: the server is unreachable, refuses the credentials, or the
                database does not exist. The message names the URI, never the password.
        """
        cfg = self.config
        self._driver = AsyncGraphDatabase.driver(
            cfg.uri,
            auth=cfg.auth,
            connection_timeout=min(10.0, max(cfg.connect_timeout, 1.0)),
            max_transaction_retry_time=0,  # retries are ours (retry_async), with stats
            user_agent=f"mlentory-crawl/{__version__}",
            notifications_min_severity="OFF",
        )
        where = f"Neo4j at {cfg.safe_uri} (database {cfg.database!r})"
        try:
            await retry_async(
                self._ping,
                is_transient=is_transient,
                budget=cfg.connect_timeout,
                what=f"Connecting to {where}",
            )
            for statement in SCHEMA_STATEMENTS:
                await self.driver.execute_query(statement, database_=cfg.database)
        except AuthError as exc:
            await self.close()
            raise StoreUnavailable(
                self.store, f"{where} refused the credentials of user {cfg.user!r}", "AuthError"
            ) from exc
        except (Neo4jError, DriverError, OSError, TimeoutError) as exc:
            await self.close()
            raise StoreUnavailable(
                self.store,
                f"{where} is not reachable after {cfg.connect_timeout:g}s "
                f"({type(exc).__name__}: {exc}). Start it (e.g. `bash scripts/services.sh up "
                "neo4j`) or unset NEO4J_URI to crawl to files only",
                type(exc).__name__,
            ) from exc
        logger.info("Connected to %s; constraints and indexes in place", where)

    async def _ping(self) -> None:
        await self.driver.execute_query("RETURN 1", database_=self.config.database)

    async def close(self) -> None:
        """Close the driver (idempotent)."""
        if self._driver is not None:
            driver, self._driver = self._driver, None
            await driver.close()

    async def write(
        self, records: Sequence[FAIR4MLRecord], *, budget: float | None = None
    ) -> WriteResult:
        """Upsert a batch of records in one transaction.

        Args:
            records: FAIR4ML records; a record repeated in the batch keeps its last version.
            budget: retry budget in seconds (default ``config.retry_seconds``; 0: one try).

        Returns:
            Counts, plus the records refused for a reason of their own.

        Raises:
            StoreUnavailable: the batch could not be written within the budget.
        """
        return await self.write_prepared([self.prepare(r) for r in records], budget=budget)

    def prepare(self, record: FAIR4MLRecord) -> RecordRows:
        """Turn a record into rows now (the pipeline does it as items arrive, so this CPU
        work overlaps with the previous batch's transaction)."""
        return record_rows(record, self.config.base_iri)

    async def write_prepared(
        self, rows: Sequence[RecordRows], *, budget: float | None = None
    ) -> WriteResult:
        """:meth:`write` for records already turned into rows by :meth:`prepare`."""
        budget = self.config.retry_seconds if budget is None else budget
        return await self._write_rows(list(rows), budget)

    async def _write_rows(self, rows: list[RecordRows], budget: float) -> WriteResult:
        result = WriteResult()

        def count_retry(_exc: BaseException) -> None:
            result.retries += 1

        try:
            stale, upserted, sent = await retry_async(
                lambda: self._execute(rows),
                is_transient=is_transient,
                budget=budget,
                what=f"Neo4j batch of {len(rows)} record(s)",
                on_retry=count_retry,
            )
        except Exception as exc:
            if not _is_data_error(exc):
                if isinstance(exc, Neo4jError | DriverError | OSError | TimeoutError):
                    raise StoreUnavailable(
                        self.store, f"{type(exc).__name__}: {exc}", type(exc).__name__
                    ) from exc
                raise
            if len(rows) == 1:
                code = str(getattr(exc, "code", "") or type(exc).__name__).rsplit(".", 1)[-1]
                result.failures.append(Failure(rows[0].record, code, str(exc)[:2000]))
                return result
            middle = len(rows) // 2
            result.add(await self._write_rows(rows[:middle], budget))
            result.add(await self._write_rows(rows[middle:], budget))
            return result
        result.records, result.stale, result.rows = upserted, stale, sent
        return result

    async def _execute(self, rows: list[RecordRows]) -> tuple[int, int, int]:
        async with self.driver.session(database=self.config.database) as session:
            return await session.execute_write(_upsert_tx, rows)

    async def wipe(self) -> None:
        """Delete every node this project wrote (``:Resource`` and ``:Record``)."""
        async with self.driver.session(database=self.config.database) as session:
            for query in WIPE:
                result = await session.run(query)
                await result.consume()

    async def counts(self) -> dict[str, Any]:
        """Node and relationship totals (for progress output and tests)."""
        records, _, _ = await self.driver.execute_query(
            "MATCH (n) RETURN count(n) AS nodes "
            "UNION ALL MATCH ()-[r]->() RETURN count(r) AS nodes",
            database_=self.config.database,
        )
        return {"nodes": records[0]["nodes"], "relationships": records[1]["nodes"]}


async def _upsert_tx(tx: AsyncManagedTransaction, rows: list[RecordRows]) -> tuple[int, int, int]:
    """The transaction function: skip stale records, then run every statement of the batch
    (the cleanup ones only for records already stored).

    A record present twice in the batch (two harvests) keeps its newest version; the older
    one counts as stale, like a record older than the stored one.
    """
    newest: dict[str, RecordRows] = {}
    for r in rows:
        held = newest.get(r.iri)
        if held is None or r.retrieved_at >= held.retrieved_at:  # ISO UTC text sorts by time
            newest[r.iri] = r
    result = await tx.run(
        FIND_STORED,
        records=[{"iri": r.iri, "retrievedAt": r.retrieved_at} for r in newest.values()],
    )
    stored = {row["iri"]: row["stale"] for row in await result.data()}
    fresh = [r for r in newest.values() if not stored.get(r.iri)]
    batch = GraphBatch(fresh, stored=set(stored))
    skipped = len(rows) - len(batch.records)
    if not batch.records:
        return skipped, 0, 0
    for query, params in batch.statements():
        summary = await tx.run(query, params)
        await summary.consume()
    return skipped, len(batch.records), batch.row_count()
