"""FAIR4ML models: validation, cleaning, merging, JSON-LD and RDF serialisation."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from rdflib import Dataset as RDFDataset
from rdflib import Graph, Literal, Namespace, URIRef

from mlentory_crawl.identity import Minter
from mlentory_crawl.items import Dataset, FAIR4MLRecord, MLModel, RawRecord, ScholarlyArticle
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.rdf import record_to_graph, record_to_turtle
from mlentory_crawl.items.vocab import CLASSES, TERMS, jsonld_context

FAIR4ML = Namespace("https://w3id.org/fair4ml#")
SCHEMA = Namespace("http://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
MODEL = "https://huggingface.co/acme/tiny-bert"


def _record() -> FAIR4MLRecord:
    raw = RawRecord(
        source="huggingface",
        source_id="acme/tiny-bert",
        url=MODEL,
        api_url="http://127.0.0.1:1/api/models/acme/tiny-bert",
        retrieved_at="2026-01-02T03:04:05Z",
        payload={"id": "acme/tiny-bert"},
        job_id="job-1",
    )
    builder = RecordBuilder(raw, Minter("https://example.org/base/"))
    builder.add(Dataset(id="https://huggingface.co/datasets/acme/corpus", name="acme/corpus"))
    builder.add(ScholarlyArticle(id="https://arxiv.org/abs/2401.00001", name="A paper"))
    model = MLModel(
        id=MODEL,
        name="acme/tiny-bert",
        description="  Ein kleines Modell — für Tests  ",
        trainedOn=["https://huggingface.co/datasets/acme/corpus"],
        citation=["https://arxiv.org/abs/2401.00001"],
        fineTunedFrom=["https://huggingface.co/acme/base"],
        dateModified="2025-05-06T07:08:09.000Z",
        downloads=12,
        modelCategory=["bert", "bert", ""],
    )
    return builder.build(model)


def test_text_is_cleaned_and_lists_deduplicated() -> None:
    model = MLModel(
        id=MODEL,
        name="x",
        description="[More Information Needed]",
        modelCategory=["a", "a", " ", "b"],
    )
    assert model.description is None
    assert model.modelCategory == ["a", "b"]


def test_invalid_iri_is_rejected() -> None:
    with pytest.raises(ValidationError):
        MLModel(id="not an iri", name="x")
    with pytest.raises(ValidationError):
        MLModel(id=MODEL, trainedOn=["https://huggingface.co/datasets/a b"])


def test_every_field_has_a_term() -> None:
    from mlentory_crawl.items.fair4ml import NODE_CLASSES

    for cls in NODE_CLASSES.values():
        for name in cls.model_fields:
            if name not in ("id", "type"):
                assert name in TERMS, f"{cls.__name__}.{name} has no IRI in vocab.TERMS"
    assert set(NODE_CLASSES) <= set(CLASSES)


def test_builder_merges_nodes_with_one_iri() -> None:
    raw = RawRecord("s", "1", MODEL, MODEL, "2026-01-01T00:00:00Z", {})
    builder = RecordBuilder(raw, Minter())
    builder.add(Dataset(id="https://ex.org/d", name="d", keywords=["https://ex.org/k1"]))
    builder.add(Dataset(id="https://ex.org/d", description="desc", keywords=["https://ex.org/k2"]))
    record = builder.build(MLModel(id=MODEL, name="m"))
    datasets = [n for n in record.graph if n.id == "https://ex.org/d"]
    assert len(datasets) == 1
    assert datasets[0].description == "desc"
    assert datasets[0].keywords == ["https://ex.org/k1", "https://ex.org/k2"]
    assert record.graph[0].id == MODEL


def test_jsonld_round_trip_and_rdf_agree() -> None:
    record = _record()
    doc = record.to_jsonld()
    assert doc["@context"] == "https://example.org/mlentory-crawl/context.jsonld"
    assert doc["@graph"][0]["@type"] == "MLModel"
    assert "keywords" not in doc["@graph"][0]  # empty lists are omitted
    again = FAIR4MLRecord.model_validate(doc)
    assert again.to_jsonld() == doc

    # The JSON-LD, read with our context by a JSON-LD processor, states the same triples as
    # the direct rdflib conversion (the record's nodes sit in the record's named graph).
    base = "https://example.org/base/"
    ds = RDFDataset(default_union=True)
    ds.parse(data=json.dumps(record.to_jsonld(jsonld_context(base))), format="json-ld")
    from_jsonld = set(ds.triples((None, None, None)))
    direct = record_to_graph(record, base)
    node_triples = {t for t in direct if not str(t[0]).startswith(base)}
    node_triples -= set(direct.triples((None, PROV.wasDerivedFrom, None)))
    assert node_triples <= from_jsonld


def test_turtle_uses_official_namespaces_and_provenance() -> None:
    record = _record()
    ttl = record_to_turtle(record, "https://example.org/base/")
    assert "@prefix schema: <http://schema.org/>" in ttl
    assert "@prefix fair4ml: <https://w3id.org/fair4ml#>" in ttl
    graph = Graph().parse(data=ttl, format="turtle")
    model = URIRef(MODEL)
    assert (model, FAIR4ML.fineTunedFrom, URIRef("https://huggingface.co/acme/base")) in graph
    assert (
        model,
        FAIR4ML.trainedOn,
        URIRef("https://huggingface.co/datasets/acme/corpus"),
    ) in graph
    assert (model, SCHEMA.citation, URIRef("https://arxiv.org/abs/2401.00001")) in graph
    assert (model, SCHEMA.description, Literal("Ein kleines Modell — für Tests")) in graph
    rec = URIRef(record.id)
    assert (rec, PROV.wasGeneratedBy, URIRef("https://example.org/base/job/job-1")) in graph
    assert (model, PROV.wasDerivedFrom, URIRef(record.provenance.apiUrl)) in graph
    downloads = URIRef("https://example.org/base/vocab#downloads")
    assert graph.value(model, downloads).toPython() == 12


def test_json_schema_export() -> None:
    from mlentory_crawl.items.fair4ml import record_json_schema

    schema = record_json_schema()
    assert "MLModel" in schema["$defs"]
    assert "fineTunedFrom" in schema["$defs"]["MLModel"]["properties"]


def test_fast_turtle_equals_rdflib_graph_even_for_hostile_text() -> None:
    from rdflib.compare import isomorphic

    record = _record()
    model = record.graph[0]
    model.description = 'quotes " and \\ backslash\nnew line\ttab \x07 bell — ünïcödé 🙂'
    model.name = '""" triple quotes and `backticks` {braces} MATCH (n) DETACH DELETE n'
    model.modelCategory = ["a'b", "x" * 10000]
    base = "https://example.org/base/"
    parsed = Graph().parse(data=record_to_turtle(record, base), format="turtle")
    assert isomorphic(parsed, record_to_graph(record, base))
    assert (URIRef(MODEL), SCHEMA.description, Literal(model.description)) in parsed
