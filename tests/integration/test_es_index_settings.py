"""Elasticsearch index settings: the refresh interval while writing, and rebuilds that load
without refreshes, against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from stores import EsHttp, make_record, run_pipelines

from mlentory_crawl.sinks.elasticsearch import EsConfig
from mlentory_crawl.sinks.es_client import EsSink

pytestmark = pytest.mark.services


def es_only(store_settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The store settings without Neo4j."""
    return store_settings | {"NEO4J_URI": ""} | extra


def index_settings(es_http: EsHttp, alias: str) -> dict[str, dict[str, Any]]:
    """Flat settings of every index behind ``alias``."""
    body = es_http("GET", f"/{alias}/_settings?flat_settings=true")
    return {name: entry["settings"] for name, entry in body.items()}


def test_a_crawl_refreshes_at_close_whatever_the_interval(
    store_settings: dict[str, Any], es_http: EsHttp
) -> None:
    alias = store_settings["ELASTICSEARCH_INDEX"]
    settings = es_only(store_settings, ELASTICSEARCH_REFRESH_INTERVAL="-1")
    stats = run_pipelines(settings, [make_record(i) for i in range(25)])
    assert stats["es/docs_indexed"] == 25
    (only,) = index_settings(es_http, alias).values()
    assert only["index.refresh_interval"] == "-1"
    # No periodic refresh at all: the documents are searchable because the crawl refreshed.
    assert es_http("GET", f"/{alias}/_count")["count"] == 25


def test_the_configured_interval_reaches_new_and_existing_indices(
    store_settings: dict[str, Any], es_http: EsHttp
) -> None:
    alias = store_settings["ELASTICSEARCH_INDEX"]
    run_pipelines(es_only(store_settings), [make_record(1)])
    (index,) = index_settings(es_http, alias)
    assert index_settings(es_http, alias)[index]["index.refresh_interval"] == "30s"
    # An index made with Elasticsearch's default (as before this setting) follows the setting.
    es_http("PUT", f"/{index}/_settings", {"index": {"refresh_interval": None}})
    assert "index.refresh_interval" not in index_settings(es_http, alias)[index]
    run_pipelines(es_only(store_settings, ELASTICSEARCH_REFRESH_INTERVAL="5s"), [make_record(2)])
    assert index_settings(es_http, alias)[index]["index.refresh_interval"] == "5s"
    assert es_http("GET", f"/{alias}/_count")["count"] == 2


def test_a_rebuild_loads_without_refreshes_then_settles(
    store_settings: dict[str, Any], es_http: EsHttp
) -> None:
    """What `scrapy load --rebuild` does with the new index, step by step."""
    from scrapy.settings import Settings

    config = EsConfig.from_settings(Settings(es_only(store_settings)))
    records = [make_record(i) for i in range(12)]

    async def go() -> tuple[dict[str, Any], int, dict[str, Any], int]:
        sink = EsSink(config)
        await sink.open()
        try:
            new = sink.target = await sink.create_index(loading=True)
            loading = index_settings(es_http, new)[new]
            result = await sink.write(records)
            assert result.records == 12
            unrefreshed = es_http("GET", f"/{new}/_count")["count"]
            await sink.settle(new)
            settled = index_settings(es_http, new)[new]
            await sink.swap_alias(new)
            return loading, unrefreshed, settled, await sink.count()
        finally:
            await sink.close()

    loading, unrefreshed, settled, count = asyncio.run(go())
    assert loading["index.refresh_interval"] == "-1"
    assert loading["index.number_of_replicas"] == "0"
    assert unrefreshed == 0  # nothing searchable before the settle
    assert settled["index.refresh_interval"] == "30s"
    assert settled["index.number_of_replicas"] == str(config.replicas)
    assert count == 12
