"""The file pipelines in order: raw → normalize (quarantine) → JSON → Turtle."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from mlentory_crawl.identity import Minter
from mlentory_crawl.items import Dataset, FAIR4MLRecord, MLModel, NormalizedItem, RawRecord
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.pipelines import normalize as normalize_mod
from mlentory_crawl.pipelines.json_store import JsonStorePipeline
from mlentory_crawl.pipelines.normalize import NormalizePipeline
from mlentory_crawl.pipelines.raw_store import RawStorePipeline
from mlentory_crawl.pipelines.turtle_store import TurtleStorePipeline
from mlentory_crawl.storage import iter_jsonl, part_files


def fake_normalizer(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    payload = raw.payload
    if payload.get("boom"):
        raise RuntimeError("unexpected bug")
    if not payload.get("id"):
        raise NormalizationError("payload has no id")
    iri = f"https://ex.org/models/{payload['id']}"
    builder = RecordBuilder(raw, minter)
    if payload.get("bad_dataset"):
        builder.add(Dataset(id="not an iri"))  # raises a pydantic ValidationError
    builder.add(Dataset(id="https://ex.org/d/1", name="d1"))
    builder.note("field/license/unknown")
    model = MLModel(id=iri, name=payload["id"], trainedOn=["https://ex.org/d/1"])
    return builder.build(model)


def raw(payload: dict[str, Any], source: str = "test") -> RawRecord:
    return RawRecord(
        source=source,
        source_id=str(payload.get("id")),
        url="https://ex.org/x",
        api_url="https://ex.org/api",
        retrieved_at="2026-01-01T00:00:00Z",
        payload=payload,
        job_id="job-1",
    )


@pytest.fixture
def crawler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Crawler:
    monkeypatch.setattr(
        normalize_mod,
        "get_normalizer",
        lambda source: fake_normalizer if source == "test" else _missing(source),
    )
    crawler = get_crawler(Spider, {"DATA_DIR": str(tmp_path), "STORE_PART_RECORDS": "2"})
    crawler.spider = Spider(name="test")
    crawler.spider.job_id = "job-1"  # type: ignore[attr-defined]
    crawler._apply_settings()
    crawler.stats.open_spider()
    return crawler


def _missing(source: str) -> Any:
    raise KeyError(f"no normalizer for source {source!r}")


def run_chain(crawler: Crawler, items: list[RawRecord]) -> list[Any]:
    pipelines = [
        RawStorePipeline.from_crawler(crawler),
        NormalizePipeline.from_crawler(crawler),
        JsonStorePipeline.from_crawler(crawler),
        TurtleStorePipeline.from_crawler(crawler),
    ]
    for p in pipelines:
        if hasattr(p, "open_spider"):
            p.open_spider()
    out: list[Any] = []

    async def go() -> None:
        for item in items:
            try:
                for p in pipelines:
                    item = await p.process_item(item)
                out.append(item)
            except DropItem as exc:
                out.append(exc)

    asyncio.run(go())
    for p in pipelines:
        p.close_spider()
    return out


def test_good_records_reach_every_file(crawler: Crawler, tmp_path: Path) -> None:
    out = run_chain(crawler, [raw({"id": f"m{i}"}) for i in range(3)])
    assert all(isinstance(o, NormalizedItem) for o in out)
    raw_lines = list(iter_jsonl(part_files(tmp_path / "raw", "jsonl")))
    assert [r["source_id"] for r in raw_lines] == ["m0", "m1", "m2"]
    norm_parts = part_files(tmp_path / "normalized", "jsonl")
    assert len(norm_parts) == 2  # rotated after 2 records
    assert norm_parts[0].parent == tmp_path / "normalized" / "test" / "job-1"
    docs = list(iter_jsonl(norm_parts))
    records = [FAIR4MLRecord.model_validate(d) for d in docs]
    assert [r.primaryTopic for r in records] == [f"https://ex.org/models/m{i}" for i in range(3)]
    context = json.loads((tmp_path / "normalized" / "context.jsonld").read_text())
    assert context["@context"]["fineTunedFrom"]["@id"] == "fair4ml:fineTunedFrom"
    graph = Graph()
    for part in part_files(tmp_path / "rdf", "ttl"):
        assert part.suffix == ".ttl"
        graph.parse(part, format="turtle")
    trained = URIRef("https://w3id.org/fair4ml#trainedOn")
    assert len(list(graph.triples((None, trained, URIRef("https://ex.org/d/1"))))) == 3
    stats = crawler.stats.get_stats()
    assert stats["fair4ml/records/normalized"] == 3
    assert stats["fair4ml/field/trainedOn/present"] == 3
    assert stats["fair4ml/field/license/missing"] == 3
    assert stats["fair4ml/field/license/unknown"] == 3
    assert stats["files/normalized/records"] == 3
    assert stats["files/rdf/records"] == 3


def test_bad_records_are_quarantined_with_reasons(crawler: Crawler, tmp_path: Path) -> None:
    items = [
        raw({"name": "no id"}),
        raw({"id": "v", "bad_dataset": True}),
        raw({"id": "b", "boom": True}),
        raw({"id": "u"}, source="unknown-source"),
        raw({"id": "ok"}),
    ]
    out = run_chain(crawler, items)
    assert [type(o).__name__ for o in out] == ["DropItem"] * 4 + ["NormalizedItem"]
    quarantined = list(iter_jsonl(part_files(tmp_path / "quarantine", "jsonl")))
    reasons = [q["reason"] for q in quarantined]
    assert reasons[0] == "payload has no id"
    assert reasons[1].startswith("1 validation error(s): id: Value error, not an absolute")
    assert reasons[2] == "RuntimeError: unexpected bug"
    assert "no normalizer" in reasons[3]
    assert quarantined[1]["errors"][0]["type"] == "value_error"
    assert quarantined[0]["record"]["payload"] == {"name": "no id"}
    stats = crawler.stats.get_stats()
    assert stats["fair4ml/quarantined/invalid_input"] == 1
    assert stats["fair4ml/quarantined/validation_error"] == 1
    assert stats["fair4ml/quarantined/unexpected_error"] == 1
    assert stats["fair4ml/quarantined/no_normalizer"] == 1
    assert stats["fair4ml/records/normalized"] == 1
    # Raw records are kept even when normalisation fails: nothing is silently lost.
    assert len(list(iter_jsonl(part_files(tmp_path / "raw", "jsonl")))) == 5


def test_bad_settings_fail_early(tmp_path: Path) -> None:
    from mlentory_crawl.config import ConfigError

    crawler = get_crawler(Spider, {"DATA_DIR": str(tmp_path), "STORE_PART_RECORDS": "0"})
    with pytest.raises(ConfigError, match="STORE_PART_RECORDS must be >= 1"):
        JsonStorePipeline.from_crawler(crawler)
    crawler = get_crawler(Spider, {"MLENTORY_BASE_IRI": "urn:x"})
    with pytest.raises(ConfigError, match="MLENTORY_BASE_IRI"):
        NormalizePipeline.from_crawler(crawler)


def test_log_lines_name_items_instead_of_dumping_payloads() -> None:
    from mlentory_crawl.logformatter import ItemNamingLogFormatter

    item = raw({"id": "m1", "card": "contact: someone@example.org"})
    formatter = ItemNamingLogFormatter()
    spider = Spider(name="t")
    spider.crawler = get_crawler(Spider)
    result = formatter.dropped(item, DropItem("bad", log_level="INFO"), None, spider)
    text = result["msg"] % result["args"]
    assert "test model 'm1'" in text
    assert "someone@example.org" not in text
    result = formatter.scraped(item, None, spider)
    assert "example.org" not in result["msg"] % result["args"]
