"""End to end: `scrapy crawl huggingface` from the replay server into Neo4j and Elasticsearch,
then `scrapy load` (idempotent reload, zero-downtime rebuild)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ES_URL, NEO4J_URI, wipe
from neo4j import Driver
from stores import (
    EsHttp,
    expected_graph,
    graph_snapshot,
    load_normalized,
    scrapy,
    stats_of,
)

from mlentory_crawl.replay import sample_root
from mlentory_crawl.replay.server import ReplayServer

pytestmark = [pytest.mark.services, pytest.mark.slow]

LORA = "https://huggingface.co/kiwi-nlp/kiwi-7b-chat-lora-med"
CHAT = "https://huggingface.co/kiwi-nlp/kiwi-7b-chat"
BASE = "https://huggingface.co/lumen-labs/lumen-7b"


class Crawl:
    """One crawl's environment, output and stats."""

    def __init__(self, tmp: Path, alias: str, replay_url: str) -> None:
        self.data = tmp / "data"
        self.alias = alias
        self.env = {
            "HF_ENDPOINT": replay_url,
            "DATA_DIR": str(self.data),
            "NEO4J_URI": NEO4J_URI,
            "ELASTICSEARCH_URL": ES_URL,
            "ELASTICSEARCH_INDEX": alias,
        }
        self.stats: dict[str, int] = {}
        self.log = ""

    def run(self, job: str) -> dict[str, int]:
        code, self.log = scrapy(["crawl", "huggingface", "-s", f"JOB_ID={job}"], self.env)
        assert code == 0, self.log[-3000:]
        self.stats = stats_of(self.log)
        return self.stats


@pytest.fixture(scope="module")
def crawl(
    tmp_path_factory: pytest.TempPathFactory, neo4j_driver: Driver, es_http: EsHttp
) -> Iterator[Crawl]:
    """A first crawl of the HF sample into empty stores (shared by this module's tests)."""
    wipe(neo4j_driver)
    alias = "test-e2e-models"
    es_http.drop(alias)
    with ReplayServer(sample_root("huggingface")) as replay:
        c = Crawl(tmp_path_factory.mktemp("e2e"), alias, replay.url)
        c.run("job-a")
        yield c
    es_http.drop(alias)


def test_the_crawl_fills_both_stores_exactly(
    crawl: Crawl, neo4j_driver: Driver, es_http: EsHttp
) -> None:
    records = load_normalized(crawl.data)
    models = [r for r in records if r.primary.type_name == "MLModel"]
    assert len(records) == crawl.stats["files/normalized/records"] == 13
    stats = crawl.stats
    assert stats["neo4j/records_upserted"] == 13 and stats["neo4j/batches"] >= 1
    assert stats["es/docs_indexed"] == len(models) and stats["es/batches"] >= 1
    assert not any(k.startswith(("neo4j/errors", "es/errors")) for k in stats)
    nodes, rels = expected_graph(records)
    snap = graph_snapshot(neo4j_driver)
    assert (len(snap[0]), len(snap[1])) == (nodes, rels)
    assert es_http("GET", f"/{crawl.alias}/_count")["count"] == len(models)


def test_search_and_facets(crawl: Crawl, es_http: EsHttp) -> None:
    records = load_normalized(crawl.data)
    target = next(r for r in records if r.provenance.sourceId == "fjordlab/fjord-sentiment-xlm")
    hits = es_http.search(crawl.alias, {"query": {"match": {"name": "fjord sentiment xlm"}}})
    assert hits["hits"]["hits"][0]["_source"]["iri"] == target.primaryTopic
    body = {
        "size": 0,
        "aggs": {
            "task": {"terms": {"field": "mlTask.iri", "size": 100}},
            "license": {"terms": {"field": "license.iri", "size": 100}},
        },
    }
    aggs = es_http.search(crawl.alias, body)["aggregations"]
    tasks: Counter[str] = Counter()
    licenses: Counter[str] = Counter()
    for rec in records:
        tasks.update(set(rec.primary.mlTask))  # type: ignore[attr-defined]
        licenses.update(set(rec.primary.license))  # type: ignore[attr-defined]
    assert {b["key"]: b["doc_count"] for b in aggs["task"]["buckets"]} == dict(tasks)
    assert {b["key"]: b["doc_count"] for b in aggs["license"]["buckets"]} == dict(licenses)
    assert len(tasks) >= 2 and len(licenses) >= 2


def test_fine_tune_lineage_is_walkable(crawl: Crawl, neo4j_driver: Driver) -> None:
    rows, _, _ = neo4j_driver.execute_query(
        "MATCH p = (m:MLModel {iri: $iri})-[:FINE_TUNED_FROM|BASED_ON*1..5]->(root:MLModel) "
        "WHERE NOT (root)-[:FINE_TUNED_FROM|BASED_ON]->() "
        "RETURN [n IN nodes(p) | n.iri] AS path, [r IN relationships(p) | r.relation] AS rel",
        iri=LORA,
    )
    paths = {tuple(r["path"]) for r in rows}
    assert (LORA, CHAT, BASE) in paths
    assert any(r["rel"][0] == "adapter" for r in rows)


def test_a_second_crawl_changes_nothing(
    crawl: Crawl, neo4j_driver: Driver, es_http: EsHttp
) -> None:
    before = graph_snapshot(neo4j_driver)
    docs = es_http.docs(crawl.alias)
    crawl.run("job-b")
    after = graph_snapshot(neo4j_driver)
    assert len(after[0]) == len(before[0]) and len(after[1]) == len(before[1])
    assert _structure(after) == _structure(before)  # same nodes, labels and relationships
    assert [d[0] for d in es_http.docs(crawl.alias)] == [d[0] for d in docs]


def _structure(snap: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    return [(n[0], n[1]) for n in snap[0]], [(r[0], r[1], r[3]) for r in snap[1]]


def test_load_rebuilds_the_stores_from_the_files(
    crawl: Crawl, neo4j_driver: Driver, es_http: EsHttp
) -> None:
    graph = graph_snapshot(neo4j_driver)
    docs = es_http.docs(crawl.alias)
    old_index = set(es_http("GET", f"/_alias/{crawl.alias}"))
    code, out = scrapy(["load", "--rebuild"], crawl.env)
    assert code == 0, out
    assert "26 records read" in out and "es: alias test-e2e-models ->" in out
    assert "neo4j: 26 written" in out or "neo4j: 13 written" in out
    new_index = set(es_http("GET", f"/_alias/{crawl.alias}"))
    assert new_index and new_index.isdisjoint(old_index)
    assert es_http.docs(crawl.alias) == docs
    assert graph_snapshot(neo4j_driver) == graph
    code, out = scrapy(["load", "--source", "huggingface", "--only", "neo4j"], crawl.env)
    assert code == 0 and graph_snapshot(neo4j_driver) == graph
    code, out = scrapy(["load", "--job", "no-such-job"], crawl.env)
    assert code == 1 and "nothing to load" in out
