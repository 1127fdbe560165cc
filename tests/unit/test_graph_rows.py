"""Neo4j graph model: record → rows grouped by shape, generated Cypher, config validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.settings import Settings

from mlentory_crawl.config import ConfigError
from mlentory_crawl.identity import Minter
from mlentory_crawl.items import Dataset, FAIR4MLRecord, MLModel, RawRecord, ScholarlyArticle
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    CreativeWork,
    DefinedTerm,
    MLModelEvaluation,
    Organization,
    PropertyValue,
)
from mlentory_crawl.items.vocab import TERMS
from mlentory_crawl.sinks.graph_rows import GraphBatch, record_rows
from mlentory_crawl.sinks.neo4j import (
    EDGE_PROPERTIES,
    LINK_PROPERTIES,
    Neo4jConfig,
    edge_query,
    language_iri,
    node_query,
    rel_type,
)

BASE = "https://example.org/base/"
HOSTILE = 'x\'}) MATCH (n) DETACH DELETE n //`{}` RETURN "é—中文"'
MODEL = "https://huggingface.co/acme/tiny-bert"
DATASET = "https://huggingface.co/datasets/acme/corpus"
LICENSE = "https://spdx.org/licenses/Apache-2.0"
TASK = BASE + "task/hf/question-answering"
KEYWORD = BASE + "keyword/pytorch"
ORG = "https://huggingface.co/acme"
PAPER = "https://arxiv.org/abs/2401.00001"
BASE_MODEL = "https://huggingface.co/acme/base"
EVAL = BASE + "evaluation/abc"
METRIC = EVAL + "#f1"


def record(name: str = "acme/tiny-bert", datasets: tuple[str, ...] = (DATASET,)) -> FAIR4MLRecord:
    raw = RawRecord("huggingface", name, MODEL, MODEL, "2026-01-02T03:04:05Z", {}, job_id="job-1")
    b = RecordBuilder(raw, Minter(BASE))
    for d in datasets:
        b.add(Dataset(id=d, name=HOSTILE))
    b.add(CreativeWork(id=LICENSE, name="Apache-2.0", identifier=["Apache-2.0"]))
    b.add(DefinedTerm(id=TASK, name="Question Answering", termCode="question-answering"))
    b.add(DefinedTerm(id=KEYWORD, name="pytorch"))
    b.add(Organization(id=ORG, name="acme"))
    b.add(ScholarlyArticle(id=PAPER, name="A paper"))
    b.add(PropertyValue(id=METRIC, propertyID="f1", value=0.9))
    b.add(
        MLModelEvaluation(
            id=EVAL,
            evaluatedMLModel=[MODEL],
            evaluationDataset=[DATASET],
            evaluationResults=[METRIC],
        )
    )
    model = MLModel(
        id=MODEL,
        name=name,
        trainedOn=list(datasets),
        license=[LICENSE],
        mlTask=[TASK],
        keywords=[KEYWORD],
        sharedBy=[ORG],
        citation=[PAPER],
        fineTunedFrom=[BASE_MODEL],
        baseModelAdapter=[BASE_MODEL],
        inLanguage=["en", "zh-Hant"],
        hasEvaluation=[EVAL],
        url=MODEL,
        downloads=12,
    )
    return b.build(model)


def test_every_iri_term_is_an_edge_or_a_link() -> None:
    for name, (_curie, kind) in TERMS.items():
        if kind == "id":
            assert (name in EDGE_PROPERTIES) != (name in LINK_PROPERTIES), name
    assert rel_type("trainedOn") == "TRAINED_ON"
    assert rel_type("referencePublication") == "REFERENCE_PUBLICATION"
    assert rel_type("citation") == "CITES"
    assert rel_type("mlTask") == "TASK"
    assert rel_type("baseModelQuantized") == "BASED_ON"


def test_labels_come_from_class_and_role() -> None:
    rows = record_rows(record(), BASE)
    assert rows.primary_labels == ("MLModel",)
    labels = {iri: labels for iri, (labels, _props) in rows.nodes.items()}
    assert labels[DATASET] == {"Dataset"}
    assert labels[LICENSE] == {"CreativeWork", "License"}
    assert labels[TASK] == {"DefinedTerm", "Task"}
    assert labels[KEYWORD] == {"DefinedTerm", "Keyword"}
    assert labels[ORG] == {"Organization", "Agent"}
    assert labels[EVAL] == {"Evaluation"}
    assert labels[METRIC] == {"PropertyValue", "Metric"}
    assert labels[BASE_MODEL] == {"MLModel"}  # absent from the record: typed by its role
    assert labels[language_iri(BASE, "zh-Hant")] == {"Language"}
    assert rows.nodes[language_iri(BASE, "en")][1]["code"] == "en"


def test_edges_carry_type_relation_and_record() -> None:
    rec = record()
    rows = record_rows(rec, BASE)
    edges = {(t, r["s"], target, r.get("relation")) for t, _, r in rows.edges for target in r["ts"]}
    assert rows.edge_count == len(edges)
    assert ("TRAINED_ON", MODEL, DATASET, None) in edges
    assert ("LICENSE", MODEL, LICENSE, None) in edges
    assert ("TASK", MODEL, TASK, None) in edges
    assert ("KEYWORD", MODEL, KEYWORD, None) in edges
    assert ("SHARED_BY", MODEL, ORG, None) in edges
    assert ("CITES", MODEL, PAPER, None) in edges
    assert ("FINE_TUNED_FROM", MODEL, BASE_MODEL, None) in edges
    assert ("BASED_ON", MODEL, BASE_MODEL, "adapter") in edges
    assert ("IN_LANGUAGE", MODEL, language_iri(BASE, "en"), None) in edges
    assert ("HAS_EVALUATION", MODEL, EVAL, None) in edges
    assert ("EVALUATED_ML_MODEL", EVAL, MODEL, None) in edges
    assert ("EVALUATION_DATASET", EVAL, DATASET, None) in edges
    assert ("HAS_RESULT", EVAL, METRIC, None) in edges
    assert all(r["record"] == rec.id for _, _, r in rows.edges)
    subjects = {s["subject"]: s["keys"] for s in rows.subjects}
    assert set(subjects) == {MODEL, EVAL}
    assert f"BASED_ON|adapter|{BASE_MODEL}" in subjects[MODEL]
    assert rows.record_row["props"]["subjects"] == sorted(subjects)


def test_properties_keep_values_and_provenance() -> None:
    rows = record_rows(record(), BASE)
    props = rows.primary_row["props"]
    assert props["iri"] == MODEL and props["record"] == rows.iri
    assert props["url"] == MODEL and props["downloads"] == 12
    assert props["source"] == "huggingface" and props["jobId"] == "job-1"
    assert props["retrievedAt"] == "2026-01-02T03:04:05+00:00"  # stored as DateTime by Cypher
    assert "trainedOn" not in props and "inLanguage" not in props  # edges, not properties
    assert rows.nodes[DATASET][1]["name"] == HOSTILE
    assert rows.nodes[METRIC][1]["value"] == 0.9
    assert rows.nodes[BASE_MODEL][1] == {
        "source": "huggingface",
        "retrievedAt": props["retrievedAt"],
        "jobId": "job-1",
    }


def test_batch_groups_by_shape_and_dedupes() -> None:
    first = record_rows(record(datasets=(DATASET,)), BASE)
    again = record_rows(record(datasets=(DATASET + "2",)), BASE)  # same record IRI, newer
    other = record_rows(record(name="acme/other"), BASE)
    other.iri = other.record_row["iri"] = other.iri + "x"
    batch = GraphBatch([first, again, other])
    assert len(batch.records) == 2 and batch.records[0] is again
    statements = list(batch.statements())
    texts = [q for q, _ in statements]
    assert len(texts) == len(set(texts)), "one statement per shape"
    trained = next(p["rows"] for q, p in statements if ":`TRAINED_ON`" in q)
    assert {t for r in trained for t in r["ts"]} == {DATASET + "2", DATASET}
    datasets = next(p["rows"] for q, p in statements if q == node_query(("Dataset",)))
    assert len({r["iri"] for r in datasets}) == len(datasets)
    for text in texts:
        assert HOSTILE not in text and "acme" not in text  # values are parameters


def test_dates_are_sent_as_text_and_stored_as_datetimes() -> None:
    rows = record_rows(record(), BASE)
    assert rows.record_row["props"]["retrievedAt"] == "2026-01-02T03:04:05+00:00"
    query = node_query(("Dataset",))
    for name in ("dateCreated", "dateModified", "datePublished", "retrievedAt"):
        assert f"`{name}`: coalesce(datetime(props.`{name}`), n.`{name}`)" in query


def test_generated_cypher_is_parameterized() -> None:
    q = edge_query("BASED_ON", True)
    assert "MERGE (s)-[r:`BASED_ON` {relation: row.relation}]->(t)" in q
    assert "row.record IN r.records" in q
    assert node_query(("Dataset", "Keyword")).count("SET n:`Dataset`:`Keyword`") == 1


def test_config_reads_and_validates() -> None:
    cfg = Neo4jConfig.from_settings(
        Settings({"NEO4J_URI": "bolt://u:secret@127.0.0.1:7687", "NEO4J_PASSWORD": "pw"})
    )
    assert cfg.auth == ("neo4j", "pw")
    assert "secret" not in cfg.safe_uri and "pw" not in repr(cfg) and "secret" not in repr(cfg)
    assert Neo4jConfig.from_settings(Settings({"NEO4J_URI": "neo4j://h"})).auth is None
    with pytest.raises(ConfigError, match="NEO4J_URI must look like"):
        Neo4jConfig.from_settings(Settings({"NEO4J_URI": "http://u:secret@h"}))
    with pytest.raises(ConfigError, match="NEO4J_BATCH_SIZE"):
        Neo4jConfig.from_settings(Settings({"NEO4J_URI": "bolt://h", "NEO4J_BATCH_SIZE": "0"}))
    with pytest.raises(ConfigError, match="number"):
        Neo4jConfig.from_settings(Settings({"NEO4J_URI": "bolt://h", "NEO4J_FLUSH_INTERVAL": "x"}))


def test_a_batch_keeps_the_newest_harvest_of_a_record() -> None:
    newer = record()
    older = newer.model_copy(
        update={
            "provenance": newer.provenance.model_copy(
                update={"retrievedAt": datetime(2025, 1, 1, tzinfo=UTC)}
            )
        }
    )
    batch = GraphBatch([record_rows(newer, BASE), record_rows(older, BASE)])
    assert [r.retrieved_at for r in batch.records] == ["2026-01-02T03:04:05+00:00"]
