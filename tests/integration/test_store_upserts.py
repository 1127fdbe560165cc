"""Exact, idempotent upserts into real Neo4j and Elasticsearch, through the crawl pipelines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from scrapy.settings import Settings
from stores import (
    EsHttp,
    expected_graph,
    graph_counts,
    graph_snapshot,
    make_record,
    run_pipelines,
)

from mlentory_crawl.identity import sha1_hex
from mlentory_crawl.items import MLModel, NormalizedItem
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.sinks.elasticsearch import EsConfig
from mlentory_crawl.sinks.es_client import EsSink
from mlentory_crawl.sinks.neo4j import Neo4jConfig
from mlentory_crawl.sinks.neo4j_client import Neo4jSink

pytestmark = pytest.mark.services


def reload_from_scratch(
    settings: dict[str, Any], graph: Driver, es: EsHttp, records: list[Any]
) -> tuple[Any, Any]:
    """Wipe both stores and write ``records`` directly with the sinks (the reference state)."""
    graph.execute_query("MATCH (n) DETACH DELETE n")
    es.drop(settings["ELASTICSEARCH_INDEX"])

    async def go() -> None:
        s = Settings(settings)
        for sink in (Neo4jSink(Neo4jConfig.from_settings(s)), EsSink(EsConfig.from_settings(s))):
            await sink.open()
            await sink.write(records)
            if isinstance(sink, EsSink):
                await sink.refresh()
            await sink.close()

    asyncio.run(go())
    return graph_snapshot(graph), es.docs(settings["ELASTICSEARCH_INDEX"])


def test_counts_are_exact_and_a_second_run_changes_nothing(
    store_settings: dict[str, Any], graph: Driver, es_http: EsHttp
) -> None:
    records = [make_record(i) for i in range(25)]
    stats = run_pipelines(store_settings, records)
    assert stats["neo4j/records_upserted"] == 25 and stats["neo4j/batches"] == 3
    assert stats["es/docs_indexed"] == 25 and stats["es/batches"] == 3
    assert stats["neo4j/rows_upserted"] > 25 * 10
    nodes, rels = expected_graph(records)
    snap = graph_snapshot(graph)
    assert (len(snap[0]), len(snap[1])) == (nodes, rels)
    labels, types = graph_counts(graph)
    assert labels["MLModel"] == 25 + 0  # bases lab0/model-0..12 are among the 25
    assert labels["Record"] == 25 and labels["License"] == 3 and labels["Task"] == 3
    assert labels["Language"] == 2 and labels["Evaluation"] == 25 and labels["Metric"] == 25
    assert types["TRAINED_ON"] == 50 and types["LICENSE"] == 25 and types["FINE_TUNED_FROM"] == 24
    assert es_http("GET", f"/{store_settings['ELASTICSEARCH_INDEX']}/_count")["count"] == 25
    unnamed, _, _ = graph.execute_query("MATCH (d:Dataset|License) WHERE d.name IS NULL RETURN d")
    assert not unnamed  # targets are enriched with the record's properties

    docs = es_http.docs(store_settings["ELASTICSEARCH_INDEX"])
    again = [make_record(i, retrieved="2026-01-02T00:00:00Z", job="job-2") for i in range(25)]
    stats = run_pipelines(store_settings, again, job="job-2")
    snap2 = graph_snapshot(graph)
    assert (len(snap2[0]), len(snap2[1])) == (nodes, rels)
    assert [r[:2] + r[3:] for r in snap2[1]] == [r[:2] + r[3:] for r in snap[1]]
    docs2 = es_http.docs(store_settings["ELASTICSEARCH_INDEX"])
    assert [d[0] for d in docs2] == [d[0] for d in docs]


def test_a_changed_record_replaces_its_relationships_exactly(
    store_settings: dict[str, Any], graph: Driver, es_http: EsHttp
) -> None:
    alias = store_settings["ELASTICSEARCH_INDEX"]
    old = [make_record(i) for i in range(6)]
    run_pipelines(store_settings, old)
    model = old[2].primaryTopic
    before, _, _ = graph.execute_query(
        "MATCH (:Resource {iri: $iri})-[:TRAINED_ON]->(d) RETURN collect(d.iri) AS ds", iri=model
    )
    assert len(before[0]["ds"]) == 2
    # Dataset 9 removed, licence changed, evaluation dropped; harvested later.
    changed = make_record(
        2, datasets=(2,), license="MIT", evaluation=False, retrieved="2026-02-01T00:00:00Z"
    )
    stats = run_pipelines(store_settings, [changed], job="job-2")
    assert stats["neo4j/records_upserted"] == 1
    rows, _, _ = graph.execute_query(
        "MATCH (m:Resource {iri: $iri})-[r]->(t) RETURN type(r) AS type, t.iri AS t", iri=model
    )
    out = {(r["type"], r["t"]) for r in rows}
    assert ("TRAINED_ON", "https://huggingface.co/datasets/org/corpus-9") not in out
    assert ("TRAINED_ON", "https://huggingface.co/datasets/org/corpus-2") in out
    assert {t for typ, t in out if typ == "LICENSE"} == {"https://spdx.org/licenses/MIT"}
    assert not {t for typ, t in out if typ == "HAS_EVALUATION"}
    doc = es_http("GET", f"/{alias}/_doc/{sha1_hex(model, 40)}")["_source"]
    assert [d["iri"] for d in doc["datasets"]] == ["https://huggingface.co/datasets/org/corpus-2"]
    assert doc["license"][0]["code"] == "MIT" and not doc.get("evaluations")

    # Exactly what a fresh load of the current records gives: no stale edge or orphan left.
    current = [changed if r.id == changed.id else r for r in old]
    live = graph_snapshot(graph), es_http.docs(alias)
    fresh = reload_from_scratch(store_settings, graph, es_http, current)
    assert live == fresh


def test_an_older_harvest_never_overwrites_a_newer_one(
    store_settings: dict[str, Any], graph: Driver, es_http: EsHttp
) -> None:
    alias = store_settings["ELASTICSEARCH_INDEX"]
    new = make_record(1, license="MIT", retrieved="2026-03-01T00:00:00Z", job="job-new")
    run_pipelines(store_settings, [new], job="job-new")
    state = graph_snapshot(graph), es_http.docs(alias)
    old = make_record(1, license="CC-BY-4.0", retrieved="2026-01-01T00:00:00Z", job="job-old")
    stats = run_pipelines(store_settings, [old], job="job-old")
    assert stats["neo4j/skipped/stale"] == 1 and stats["es/skipped/stale"] == 1
    assert stats.get("neo4j/records_upserted", 0) == 0 and stats.get("es/docs_indexed", 0) == 0
    assert (graph_snapshot(graph), es_http.docs(alias)) == state


HOSTILE_IRI = "https://example.org/m/x')%20MATCH(n)DETACH;DELETE$n//é中文/" + "a" * 2000
HOSTILE_TEXT = (
    'Robert\'); MATCH (n) DETACH DELETE n; // `backtick` {brace} "quote" \\ $param '
    "RETURN CREATE MERGE UNWIND — ünïcödé 中文 🤖\n" + "x" * 50_000
)


def test_hostile_values_round_trip_unchanged(
    store_settings: dict[str, Any], graph: Driver, es_http: EsHttp
) -> None:
    rec = make_record(3, iri=HOSTILE_IRI, name=HOSTILE_TEXT, languages=("en'}) RETURN 1 //",))
    decoy = make_record(4)
    stats = run_pipelines(store_settings, [decoy, rec])
    assert stats["neo4j/records_upserted"] == 2 and stats["es/docs_indexed"] == 2
    rows, _, _ = graph.execute_query(
        "MATCH (m:MLModel {iri: $iri})-[:IN_LANGUAGE]->(l) RETURN m.name AS name, l.code AS code",
        iri=HOSTILE_IRI,
    )
    assert rows[0]["name"] == HOSTILE_TEXT and rows[0]["code"] == "en'}) RETURN 1 //"
    assert graph.execute_query("MATCH (n:MLModel) RETURN count(n) AS c")[0][0]["c"] >= 2
    alias = store_settings["ELASTICSEARCH_INDEX"]
    doc = es_http("GET", f"/{alias}/_doc/{sha1_hex(HOSTILE_IRI, 40)}")["_source"]
    assert doc["iri"] == HOSTILE_IRI and doc["name"] == HOSTILE_TEXT
    hits = es_http.search(alias, {"query": {"match": {"name": "backtick ünïcödé"}}})["hits"]["hits"]
    assert [h["_source"]["iri"] for h in hits] == [HOSTILE_IRI]


def test_timer_flushes_a_partial_batch_while_the_crawl_runs(
    store_settings: dict[str, Any], graph: Driver
) -> None:
    settings = store_settings | {"NEO4J_FLUSH_INTERVAL": 0.2, "ELASTICSEARCH_FLUSH_INTERVAL": 0.2}
    seen: list[int] = []

    async def hook(index: int, _pipes: list[Any]) -> None:
        if index == 3:  # 3 records buffered (batch size 10): the timer must write them
            count = 0
            for _ in range(100):  # up to 10 s on a loaded machine; no more items meanwhile
                await asyncio.sleep(0.1)
                query = "MATCH (r:Record) RETURN count(r) AS c"
                count = graph.execute_query(query)[0][0]["c"]
                if count:
                    break
            seen.append(count)

    run_pipelines(settings, [make_record(i) for i in range(5)], hook=hook)
    assert seen == [3]


def test_non_model_records_are_graph_only(
    store_settings: dict[str, Any], graph: Driver, tmp_path: Path
) -> None:
    rec = make_record(1)
    dataset = next(n for n in rec.graph if not isinstance(n, MLModel))
    only_dataset = FAIR4MLRecord.model_validate(
        rec.model_dump(by_alias=True) | {"primaryTopic": dataset.id}
    )
    stats = run_pipelines(store_settings, [only_dataset])
    assert stats["neo4j/records_upserted"] == 1 and stats["es/skipped/not_a_model"] == 1
    assert isinstance(NormalizedItem(only_dataset).record, FAIR4MLRecord)
