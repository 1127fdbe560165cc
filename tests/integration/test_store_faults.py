"""Faults: a store down at start, documents Elasticsearch rejects, an outage mid-crawl."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import ES_URL, NEO4J_URI
from neo4j import Driver
from stores import (
    EsHttp,
    TcpProxy,
    free_port,
    graph_snapshot,
    make_record,
    run_pipelines,
    scrapy,
)

from mlentory_crawl.replay import sample_root
from mlentory_crawl.replay.server import ReplayServer
from mlentory_crawl.storage import iter_jsonl, part_files

pytestmark = pytest.mark.services


@pytest.mark.slow
@pytest.mark.parametrize("store", ["neo4j", "es"])
def test_a_store_down_at_start_stops_the_crawl_with_a_clear_error(
    store: str, tmp_path: Any, neo4j_driver: Driver, es_http: EsHttp
) -> None:
    port = free_port()
    env = {"DATA_DIR": str(tmp_path), "NEO4J_PASSWORD": "s3cret-pw", "NEO4J_URI": NEO4J_URI}
    env |= {"ELASTICSEARCH_URL": ES_URL, "ELASTICSEARCH_INDEX": f"test-down-{port}"}
    env |= {"NEO4J_CONNECT_TIMEOUT": "1", "ELASTICSEARCH_CONNECT_TIMEOUT": "1"}
    if store == "neo4j":
        env["NEO4J_URI"] = f"bolt://127.0.0.1:{port}"
        expected = f"Neo4j is configured but unusable: Neo4j at bolt://127.0.0.1:{port}"
    else:
        env["ELASTICSEARCH_URL"] = f"http://127.0.0.1:{port}"
        expected = (
            f"Elasticsearch is configured but unusable: Elasticsearch at http://127.0.0.1:{port}"
        )
    with ReplayServer(sample_root("huggingface")) as replay:
        env["HF_ENDPOINT"] = replay.url
        code, log = scrapy(["crawl", "huggingface"], env, timeout=120)
        assert replay.count() == 0, "no request may go out when a store is down"
    assert code == 1, "a crawl stopped by an unusable store must exit non-zero"
    assert expected in log and "after 1s" in log
    assert f"'finish_reason': '{store}_unavailable'" in log
    assert "s3cret-pw" not in log
    es_http.drop(f"test-down-{port}")


def test_documents_elasticsearch_rejects_are_counted_and_quarantined(
    store_settings: dict[str, Any], es_http: EsHttp, caplog: pytest.LogCaptureFixture
) -> None:
    alias = store_settings["ELASTICSEARCH_INDEX"]
    # An index someone created with another mapping: `downloads` is a 32-bit integer there.
    es_http(
        "PUT", f"/{alias}-legacy", {"mappings": {"properties": {"downloads": {"type": "integer"}}}}
    )
    es_http(
        "POST", "/_aliases", {"actions": [{"add": {"index": f"{alias}-legacy", "alias": alias}}]}
    )
    records = [make_record(i, downloads=10**12 if i in (1, 3) else i) for i in range(6)]
    settings = store_settings | {"NEO4J_URI": ""}
    with caplog.at_level(logging.WARNING):
        stats = run_pipelines(settings, records)
    assert stats["es/docs_indexed"] == 4
    errors = {k: v for k, v in stats.items() if k.startswith("es/errors/")}
    assert sum(errors.values()) == 2 and len(errors) == 1, errors
    assert "older or foreign mappings" in caplog.text
    lines = list(iter_jsonl(part_files(tmp_dir(settings) / "quarantine", "jsonl")))
    assert sorted(line["errors"]["iri"] for line in lines) == sorted(
        records[i].primaryTopic for i in (1, 3)
    )
    assert all(line["stage"] == "es" and "downloads" in line["reason"] for line in lines)
    count = (
        es_http("GET", f"/{alias}/_count")["count"] if es_http("POST", f"/{alias}/_refresh") else 0
    )
    assert count == 4


def tmp_dir(settings: dict[str, Any]) -> Path:
    """The test's DATA_DIR."""
    return Path(settings["DATA_DIR"])


@pytest.mark.slow
def test_an_outage_mid_crawl_loses_nothing_after_load(
    store_settings: dict[str, Any],
    graph: Driver,
    es_http: EsHttp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both stores go away after two batches and come back before the end; `load` repairs."""
    alias = store_settings["ELASTICSEARCH_INDEX"]
    bolt = NEO4J_URI.rsplit(":", 1)
    neo_proxy = TcpProxy((bolt[0].split("//")[1], int(bolt[1]))).start()
    http = ES_URL.rsplit(":", 1)
    es_proxy = TcpProxy((http[0].split("//")[1], int(http[1].strip("/")))).start()
    settings = store_settings | {
        "NEO4J_URI": f"bolt://127.0.0.1:{neo_proxy.port}",
        "ELASTICSEARCH_URL": f"http://127.0.0.1:{es_proxy.port}",
        "NEO4J_RETRY_SECONDS": 1,
        "ELASTICSEARCH_RETRY_SECONDS": 1,
    }
    records = [make_record(i) for i in range(50)]

    async def outage(index: int, pipes: list[Any]) -> None:
        if index in (20, 40):  # batches are written by tasks: let those taken out finish
            for pipe in pipes:
                if hasattr(pipe, "drain"):
                    await pipe.drain()
        if index == 20:  # batches 1-2 delivered
            neo_proxy.stop()
            es_proxy.stop()
        if index == 40:  # batches 3-4 lost; the stores are back for batch 5
            neo_proxy.start()
            es_proxy.start()

    try:
        with caplog.at_level(logging.ERROR):
            stats = run_pipelines(settings, records, hook=outage)
        assert stats["neo4j/records_unsent"] == 20 and stats["es/records_unsent"] == 20
        assert stats["neo4j/records_upserted"] == 30 and stats["es/docs_indexed"] == 30
        commands = [
            line.strip()
            for line in caplog.text.splitlines()
            if line.strip().startswith("scrapy load")
        ]
        assert len(commands) == 2, caplog.text
        env = {
            "NEO4J_URI": settings["NEO4J_URI"],
            "ELASTICSEARCH_URL": settings["ELASTICSEARCH_URL"],
        }
        env["ELASTICSEARCH_INDEX"] = alias
        for command in commands:
            code, out = scrapy(shlex.split(command)[1:], env, timeout=120)
            assert code == 0, out
            assert "50 records read" in out
    finally:
        neo_proxy.stop()
        es_proxy.stop()
    after_load = graph_snapshot(graph), es_http.docs(alias)
    # The same records, written without an outage, give the same stores.
    graph.execute_query("MATCH (n) DETACH DELETE n")
    es_http.drop(alias)
    stats = run_pipelines(store_settings, records)
    assert stats["neo4j/records_upserted"] == 50
    uninterrupted = graph_snapshot(graph), es_http.docs(alias)
    for mine, theirs in zip(uninterrupted, after_load, strict=True):
        for part_a, part_b in (
            zip(mine, theirs, strict=True) if isinstance(mine, tuple) else [(mine, theirs)]
        ):
            a, b = {repr(x) for x in part_a}, {repr(x) for x in part_b}
            assert a - b == set() and b - a == set()
    assert uninterrupted == after_load
