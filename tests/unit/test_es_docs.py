"""Elasticsearch documents and mappings: built from FAIR4ML records, core-server features only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scrapy.settings import Settings
from test_graph_rows import (
    BASE_MODEL,
    DATASET,
    EVAL,
    HOSTILE,
    LICENSE,
    MODEL,
    PAPER,
    TASK,
    record,
)

from mlentory_crawl.config import ConfigError
from mlentory_crawl.identity import sha1_hex
from mlentory_crawl.items import Dataset, MLModel
from mlentory_crawl.sinks.elasticsearch import (
    EsConfig,
    EsDocument,
    build_document,
    bulk_lines,
    doc_id,
    index_template,
    mappings,
)

CORE_TYPES = {"text", "keyword", "long", "double", "date", "boolean", "nested", "object"}


def _walk(mapping: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in mapping["properties"].items():
        out[prefix + name] = spec
        if "properties" in spec:
            out |= _walk(spec, prefix + name + ".")
    return out


def _doc_paths(value: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, list):
        for item in value:
            paths |= _doc_paths(item, prefix)
    elif isinstance(value, dict):
        for key, item in value.items():
            paths.add(prefix + key)
            paths |= _doc_paths(item, prefix + key + ".")
    return paths


def test_document_fields_follow_the_record() -> None:
    rec = record()
    doc = build_document(rec)
    assert doc is not None
    assert doc.id == doc_id(MODEL) == sha1_hex(MODEL, 40)
    assert doc.version == int(rec.provenance.retrievedAt.timestamp() * 1000)
    src = doc.source
    assert src["iri"] == MODEL and src["name"] == "acme/tiny-bert"
    assert src["source"] == "huggingface" and src["retrievedAt"].startswith("2026-01-02T03:04:05")
    assert src["license"] == [{"iri": LICENSE, "name": "Apache-2.0", "code": "Apache-2.0"}]
    assert src["mlTask"][0]["code"] == "question-answering" and src["mlTask"][0]["iri"] == TASK
    assert "trainedOn" not in src and "citation" not in src  # only in the views
    assert src["datasets"] == [{"iri": DATASET, "name": HOSTILE, "role": "trainedOn"}]
    assert {(b["iri"], b["relation"]) for b in src["baseModels"]} == {
        (BASE_MODEL, "fineTunedFrom"),
        (BASE_MODEL, "adapter"),
    }
    assert src["inLanguage"] == ["en", "zh-Hant"] and src["downloads"] == 12
    assert src["evaluations"] == [
        {
            "iri": EVAL,
            "dataset": [{"iri": DATASET, "name": HOSTILE}],
            "metric": "f1",
            "value": 0.9,
            "valueText": "0.9",
        }
    ]
    assert "hasEvaluation" not in src
    assert src["papers"] == [{"iri": PAPER, "name": "A paper", "role": "citation"}]


def test_every_document_field_is_mapped_with_core_types() -> None:
    mapped = _walk(mappings())
    doc = build_document(record())
    assert doc is not None
    missing = _doc_paths(doc.source) - set(mapped)
    assert not missing, f"document fields without a mapping: {missing}"
    for path, spec in mapped.items():
        assert spec.get("type", "object") in CORE_TYPES, path
        assert "analyzer" not in spec, path  # the core server has only the standard analyzer
    assert mappings()["dynamic"] is False
    assert mapped["evaluations"]["type"] == "nested"
    assert mapped["name"]["fields"]["keyword"]["type"] == "keyword"
    assert mapped["dateModified"]["type"] == "date" and mapped["likes"]["type"] == "long"


def test_non_models_are_not_indexed() -> None:
    rec = record()
    dataset_record = rec.model_copy(
        update={"graph": [Dataset(id=DATASET, name="d")], "primaryTopic": DATASET}
    )
    assert build_document(dataset_record) is None


def test_template_and_mapping_hash_are_stable() -> None:
    cfg = EsConfig.from_settings(Settings({"ELASTICSEARCH_URL": "http://127.0.0.1:9200"}))
    tpl = index_template(cfg)
    assert tpl["index_patterns"] == ["mlentory-models-*"]
    assert tpl["template"]["mappings"]["_meta"] == mappings()["_meta"]
    assert json.dumps(mappings(), sort_keys=True) == json.dumps(mappings(), sort_keys=True)


def test_long_strings_fit_keyword_limits() -> None:
    model = MLModel(id=MODEL, name="n" * 40_000, description="d" * 100_000)
    rec = record().model_copy(update={"graph": [model]})
    doc = build_document(rec)
    assert doc is not None and len(doc.source["name"]) == 40_000
    assert mappings()["properties"]["name"]["fields"]["keyword"]["ignore_above"] <= 8191


def test_config_validation() -> None:
    cfg = EsConfig.from_settings(
        Settings(
            {
                "ELASTICSEARCH_URL": "http://u:secret@127.0.0.1:9200, http://h2:9200",
                "ELASTICSEARCH_API_KEY": "key-secret",
            }
        )
    )
    assert len(cfg.hosts) == 2 and "secret" not in cfg.safe_url and "secret" not in repr(cfg)
    with pytest.raises(ConfigError, match="lowercase"):
        EsConfig.from_settings(
            Settings({"ELASTICSEARCH_URL": "http://h", "ELASTICSEARCH_INDEX": "Bad*"})
        )
    with pytest.raises(ConfigError, match="http"):
        EsConfig.from_settings(Settings({"ELASTICSEARCH_URL": "h:9200"}))
    with pytest.raises(ConfigError, match="both"):
        EsConfig.from_settings(
            Settings({"ELASTICSEARCH_URL": "http://h", "ELASTICSEARCH_USER": "elastic"})
        )


def test_bulk_lines_are_the_action_and_the_source_serialised_once() -> None:
    doc = build_document(record())
    assert doc is not None
    action, source, tail = bulk_lines(doc).split(b"\n")
    assert tail == b""
    assert json.loads(action) == {
        "index": {"_id": doc.id, "version": doc.version, "version_type": "external_gte"}
    }
    assert json.loads(source) == doc.source


@pytest.mark.parametrize(
    ("value", "expected"),
    [("lone \ud800 surrogate", "lone \ud800 surrogate"), (10**30, 10**30)],
)
def test_bulk_lines_fall_back_for_what_orjson_refuses(value: Any, expected: Any) -> None:
    doc = EsDocument("a" * 40, 1, {"name": value})
    _, source, _ = bulk_lines(doc).split(b"\n")
    assert source.isascii() and json.loads(source) == {"name": expected}


def test_refresh_interval_setting() -> None:
    url = {"ELASTICSEARCH_URL": "http://127.0.0.1:9200"}
    cfg = EsConfig.from_settings(Settings(url))
    assert cfg.refresh_interval == "30s"
    assert index_template(cfg)["template"]["settings"]["refresh_interval"] == "30s"
    for good in ("1s", "500ms", "-1", "2m"):
        settings = Settings(url | {"ELASTICSEARCH_REFRESH_INTERVAL": good})
        assert EsConfig.from_settings(settings).refresh_interval == good
    for bad in ("0", "30", "fast", "-2s", "1s; drop"):
        with pytest.raises(ConfigError, match="REFRESH_INTERVAL"):
            EsConfig.from_settings(Settings(url | {"ELASTICSEARCH_REFRESH_INTERVAL": bad}))
