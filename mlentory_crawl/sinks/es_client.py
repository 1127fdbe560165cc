"""The Elasticsearch client shared by the crawl pipeline and ``scrapy load``.

Writes go through an alias (``ELASTICSEARCH_INDEX``) to a concrete ``<alias>-<timestamp>``
index created from the project's index template, so :meth:`EsSink.rebuild` can fill a fresh
index and swap the alias atomically (no downtime). Bulk requests are bounded by count and
bytes; documents use ``version_type=external_gte`` with the retrieval time as version, so an
older harvest never overwrites a newer one while re-sending the same harvest is a no-op.
Per-document 429/5xx are retried with backoff; other per-document errors (a mapping conflict)
are returned as failures for the caller to count and quarantine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from elastic_transport import AiohttpHttpNode
from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from elasticsearch.serializer import OrjsonSerializer

from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.sinks.elasticsearch import EsConfig, build_document, bulk_lines, index_template
from mlentory_crawl.sinks.retry import Failure, StoreUnavailable, WriteResult, retry_async

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 502, 503, 504})
#: What a bulk answer must hold for us: one entry per action, with its status and any error.
_BULK_FILTER = "errors,items.*.status,items.*.error"


class EsPrepared(NamedTuple):
    """A record and its bulk lines (``None``: not a model, nothing to index)."""

    record: FAIR4MLRecord
    lines: bytes | None


class _RetryItems(Exception):
    """Some bulk items got 429/5xx; raised inside a retry loop to back off and resend them."""

    def __init__(self, status: int, error_type: str) -> None:
        super().__init__(f"{status} {error_type} on some documents")
        self.status = status
        self.error_type = error_type


def is_transient(exc: BaseException) -> bool:
    """Connection problems, 429 and 5xx gateway/unavailable answers are worth retrying."""
    if isinstance(exc, _RetryItems | TransportError):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in _RETRY_STATUS


class EsSink:
    """Bulk indexing of model documents into Elasticsearch through an alias.

    Args:
        config: the validated settings.
    """

    store = "es"

    def __init__(self, config: EsConfig) -> None:
        self.config = config
        self.target = config.alias  # the alias, or a fresh index while rebuilding
        self._client: AsyncElasticsearch | None = None

    @property
    def client(self) -> AsyncElasticsearch:
        """The open client (after :meth:`open`)."""
        if self._client is None:
            raise RuntimeError("EsSink.open() was not awaited")
        return self._client

    async def open(self) -> None:
        """Connect (waiting up to ``connect_timeout``), install the template, ensure the alias.

        Raises:
            StoreUnavailable: the cluster is unreachable, refuses the credentials, or the
                alias name is taken by a plain index.
        """
        cfg = self.config
        auth: dict[str, Any] = {}
        if cfg.api_key:
            auth["api_key"] = cfg.api_key
        elif cfg.user:
            auth["basic_auth"] = (cfg.user, cfg.password)
        self._client = AsyncElasticsearch(
            list(cfg.hosts),
            request_timeout=cfg.request_timeout,
            max_retries=0,  # retries are ours (retry_async), with stats
            retry_on_timeout=False,
            node_class=AiohttpHttpNode,
            serializer=OrjsonSerializer(),  # parses bulk answers several times faster
            **auth,
        )
        where = f"Elasticsearch at {cfg.safe_url}"
        try:
            await retry_async(
                self._health,
                is_transient=is_transient,
                budget=cfg.connect_timeout,
                what=f"Connecting to {where}",
            )
            await self.client.indices.put_index_template(**index_template(cfg))
            await self._ensure_alias()
        except (ApiError, TransportError) as exc:
            await self.close()
            status = getattr(getattr(exc, "meta", None), "status", None)
            hint = " (check the credentials)" if status in (401, 403) else ""
            raise StoreUnavailable(
                self.store,
                f"{where} is not usable after {cfg.connect_timeout:g}s{hint} "
                f"({type(exc).__name__}: {str(exc)[:300]}). Start it (e.g. `bash "
                "scripts/services.sh up es`) or unset ELASTICSEARCH_URL to crawl to files only",
                type(exc).__name__,
            ) from exc
        logger.info("Connected to %s; writing through alias %r", where, cfg.alias)

    async def _health(self) -> None:
        # The core distribution has no `GET /`; cluster health is always there.
        await self.client.cluster.health(wait_for_status="yellow", timeout="5s")

    async def _ensure_alias(self) -> None:
        alias = self.config.alias
        if await self.client.indices.exists_alias(name=alias):
            indices = await self.client.indices.get_mapping(index=alias)
            wanted = index_template(self.config)["template"]["mappings"]["_meta"]
            for name, body in indices.body.items():
                meta = body.get("mappings", {}).get("_meta", {})
                if meta != wanted:
                    logger.warning(
                        "Index %s behind alias %r has older or foreign mappings; rebuild it "
                        "with `scrapy load --only es --rebuild`",
                        name,
                        alias,
                    )
            await self._apply_refresh_interval(list(indices.body))
            return
        if await self.client.indices.exists(index=alias):
            raise StoreUnavailable(
                self.store,
                f"{alias!r} is a plain index, not an alias; delete it or set another "
                "ELASTICSEARCH_INDEX, then `scrapy load --only es`",
                "AliasConflict",
            )
        name = await self.create_index()
        await self.client.indices.update_aliases(
            actions=[{"add": {"index": name, "alias": alias, "is_write_index": True}}]
        )

    async def _apply_refresh_interval(self, indices: list[str]) -> None:
        """Give the indices behind the alias the configured refresh interval (older indices
        were made with Elasticsearch's default, 1s)."""
        wanted = self.config.refresh_interval
        current = await self.client.indices.get_settings(
            index=",".join(indices), name="index.refresh_interval", flat_settings=True
        )
        # An index without the setting is left out of the answer.
        stale = [
            name
            for name in indices
            if current.body.get(name, {}).get("settings", {}).get("index.refresh_interval")
            != wanted
        ]
        if stale:
            await self.client.indices.put_settings(
                index=",".join(stale), settings={"index.refresh_interval": wanted}
            )
            logger.info("Elasticsearch index %s: refresh_interval set to %s", stale, wanted)

    async def create_index(self, *, loading: bool = False) -> str:
        """Create a new concrete index (template mappings, no alias) and return its name.

        Args:
            loading: the index is filled before anyone reads it (``scrapy load --rebuild``):
                no periodic refresh and no replicas until :meth:`settle`.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.config.alias}-{stamp}"
        settings = {"index.refresh_interval": "-1", "index.number_of_replicas": 0}
        await self.client.indices.create(index=name, settings=settings if loading else None)
        return name

    async def settle(self, index: str) -> None:
        """Give an index made with ``loading=True`` the configured refresh interval and
        replicas, then refresh it: everything loaded becomes searchable."""
        await self.client.indices.put_settings(
            index=index,
            settings={
                "index.refresh_interval": self.config.refresh_interval,
                "index.number_of_replicas": self.config.replicas,
            },
        )
        await self.client.indices.refresh(index=index)

    async def swap_alias(self, new_index: str) -> list[str]:
        """Point the alias at ``new_index`` atomically; delete and return the old indices."""
        alias = self.config.alias
        old: list[str] = []
        if await self.client.indices.exists_alias(name=alias):
            old = [i for i in (await self.client.indices.get_alias(name=alias)).body]
        actions: list[dict[str, Any]] = [
            {"remove": {"index": i, "alias": alias}} for i in old if i != new_index
        ]
        actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
        await self.client.indices.update_aliases(actions=actions)
        gone = [i for i in old if i != new_index]
        if gone:
            await self.client.indices.delete(index=",".join(gone))
        self.target = alias
        return gone

    async def refresh(self) -> None:
        """Make everything indexed so far searchable."""
        await self.client.indices.refresh(index=self.target)

    async def close(self) -> None:
        """Close the client (idempotent)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def write(
        self, records: Sequence[FAIR4MLRecord], *, budget: float | None = None
    ) -> WriteResult:
        """Index the model documents of a batch of records (bulk, bounded by bytes).

        Args:
            records: FAIR4ML records; non-model records are skipped (``not_a_model``).
            budget: retry budget in seconds (default ``config.retry_seconds``).

        Returns:
            Counts, plus the documents Elasticsearch refused (for quarantine).

        Raises:
            StoreUnavailable: the cluster kept failing within the budget.
        """
        return await self.write_prepared([self.prepare(r) for r in records], budget=budget)

    def prepare(self, record: FAIR4MLRecord) -> EsPrepared:
        """Build the bulk lines of a record now (``lines`` is ``None`` for a non-model)."""
        doc = build_document(record)
        return EsPrepared(record, None if doc is None else bulk_lines(doc))

    async def write_prepared(
        self, prepared: Sequence[EsPrepared], *, budget: float | None = None
    ) -> WriteResult:
        """:meth:`write` for records already turned into bulk lines by :meth:`prepare`."""
        budget = self.config.retry_seconds if budget is None else budget
        result = WriteResult()
        chunks: list[list[tuple[FAIR4MLRecord, bytes]]] = [[]]
        size = 0
        for record, lines in prepared:
            if lines is None:
                result.skipped["not_a_model"] = result.skipped.get("not_a_model", 0) + 1
                continue
            if chunks[-1] and size + len(lines) > self.config.max_bulk_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append((record, lines))
            size += len(lines)
        for number, chunk in enumerate(chunks):
            if not chunk:
                continue
            try:
                result.add(await self._bulk(chunk, budget))
            except StoreUnavailable as exc:
                later = [record for rest in chunks[number + 1 :] for record, _ in rest]
                exc.unsent = [*(exc.unsent or [r for r, _ in chunk]), *later]
                exc.partial = result
                raise
        return result

    async def _bulk(self, chunk: list[tuple[FAIR4MLRecord, bytes]], budget: float) -> WriteResult:
        result = WriteResult(rows=len(chunk))
        pending = chunk

        def count_retry(_exc: BaseException) -> None:
            result.retries += 1

        async def attempt() -> None:
            nonlocal pending
            body = b"".join(lines for _, lines in pending)
            response = await self.client.bulk(
                operations=cast(Any, body),
                index=self.target,
                refresh=False,
                filter_path=_BULK_FILTER,
            )
            if not response.get("errors"):
                result.records += len(pending)
                pending = []
                return
            retry: list[tuple[FAIR4MLRecord, bytes]] = []
            last: tuple[int, str] = (0, "")
            for (record, lines), item in zip(pending, response["items"], strict=True):
                outcome = item.get("index", {})
                status = int(outcome.get("status", 500))
                error = outcome.get("error") or {}
                if status < 300:
                    result.records += 1
                elif status == 409:
                    result.stale += 1
                elif status in _RETRY_STATUS or status >= 500:
                    retry.append((record, lines))
                    last = (status, str(error.get("type", status)))
                else:
                    reason = f"{error.get('type', status)}: {error.get('reason', '')}"
                    if error.get("caused_by"):
                        cause = error["caused_by"]
                        reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
                    result.failures.append(
                        Failure(record, str(error.get("type", status)), reason[:2000])
                    )
            pending = retry
            if pending:
                raise _RetryItems(*last)

        try:
            await retry_async(
                attempt,
                is_transient=is_transient,
                budget=budget,
                what=f"Elasticsearch bulk of {len(pending)} document(s)",
                on_retry=count_retry,
            )
        except _RetryItems as exc:
            raise StoreUnavailable(
                self.store,
                f"{exc.status} {exc.error_type} on {len(pending)} document(s) after retries",
                exc.error_type,
                unsent=[record for record, _ in pending],
            ) from exc
        except (ApiError, TransportError) as exc:
            raise StoreUnavailable(
                self.store, f"{type(exc).__name__}: {str(exc)[:500]}", type(exc).__name__
            ) from exc
        return result

    async def count(self) -> int:
        """Documents behind the alias."""
        return int((await self.client.count(index=self.config.alias))["count"])
