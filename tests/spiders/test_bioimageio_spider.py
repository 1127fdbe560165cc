"""bioimage.io spider callbacks on saved bodies: pagination, selection, limits, errors as data."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from rdflib import Namespace, URIRef
from rdflib.namespace import RDF
from replay_crawl import crawl_env, jsonl, run_crawl, turtle_graph
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from mlentory_crawl.config import ConfigError
from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers.bioimageio import normalize
from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.spiders.base import SpiderArgumentError
from mlentory_crawl.spiders.bioimageio import BioImageIOSpider

DATA = Path(__file__).resolve().parents[1] / "data" / "bioimageio"
ENDPOINT = "http://replay.test"
ARTIFACTS = f"{ENDPOINT}/bioimage-io/artifacts"


def make_spider(page_size: int = 3, **kwargs: Any) -> BioImageIOSpider:
    crawler = get_crawler(
        BioImageIOSpider,
        {"BIOIMAGEIO_ENDPOINT": ENDPOINT + "/", "BIOIMAGEIO_PAGE_SIZE": page_size},
    )
    return BioImageIOSpider.from_crawler(crawler, **kwargs)


def stats(spider: BioImageIOSpider) -> dict[str, Any]:
    return spider.crawler.stats.get_stats()


def body(name: str) -> bytes:
    return (DATA / "index" / name).read_bytes()


def page_response(spider: BioImageIOSpider, request: Request, content: bytes) -> TextResponse:
    return TextResponse(request.url, body=content, encoding="utf-8", request=request)


def run_page(spider: BioImageIOSpider, offset: int, content: bytes, page: int = 0) -> list[Any]:
    request = spider.index_request(offset, page)
    return list(spider.parse_index(page_response(spider, request, content), **request.cb_kwargs))


def requests_of(out: list[Any]) -> tuple[list[Request], list[Request]]:
    """(rdf.yaml requests, index page requests) of a callback's output."""
    rdf = [r for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_rdf"]
    pages = [r for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_index"]
    assert len(rdf) + len(pages) == len(out)
    return rdf, pages


async def first(spider: BioImageIOSpider) -> list[Any]:
    return [request async for request in spider.start()]


def test_start_yields_the_first_index_page() -> None:
    spider = make_spider()
    (request,) = asyncio.run(first(spider))
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}" == ENDPOINT
    assert parts.path == "/public/services/artifact-manager/list"
    assert parse_qs(parts.query) == {
        "parent_id": ["bioimage-io/bioimage.io"],
        "offset": ["0"],
        "limit": ["3"],
        "pagination": ["true"],
    }
    assert request.to_dict(spider=spider)["callback"] == "parse_index"


def test_first_page_selects_models_and_follows_pagination() -> None:
    spider = make_spider()
    out = run_page(spider, 0, body("list_page_0.json"))
    rdf, pages = requests_of(out)
    assert [r.url for r in rdf] == [f"{ARTIFACTS}/sunny-otter/files/rdf.yaml?version=v1"]
    assert [parse_qs(urlsplit(p.url).query)["offset"] for p in pages] == [["3"]]
    assert pages[0].cb_kwargs == {"offset": 3, "page": 1}
    request = rdf[0]
    assert request.cb_kwargs["entry"]["id"] == "bioimage-io/sunny-otter"
    assert request.meta["handle_httpstatus_list"] == [400, 401, 403, 404, 410, 451]
    for req in out:  # JOBDIR-safe: plain data, method callbacks
        data = req.to_dict(spider=spider)  # scrapy 2.19: request_to_dict → to_dict
        json.dumps(data["cb_kwargs"])
    s = stats(spider)
    assert s["source/bioimageio/pages"] == 1
    assert s["source/bioimageio/skipped/type/dataset"] == 1
    assert s["source/bioimageio/skipped/type/application"] == 1


def test_types_model_and_dataset() -> None:
    spider = make_spider(types="model, dataset")
    rdf, _ = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert [r.cb_kwargs["entry"]["type"] for r in rdf] == ["model", "dataset"]


def test_last_page_has_no_next_request() -> None:
    spider = make_spider()
    rdf, pages = requests_of(run_page(spider, 3, body("list_page_1.json"), page=1))
    assert [r.cb_kwargs["entry"]["id"] for r in rdf] == [
        "bioimage-io/brave-heron",
        "bioimage-io/gone-mole",
    ]
    assert pages == []


def test_limit_stops_requests_and_closes_with_reason() -> None:
    spider = make_spider(limit="1", types="model,dataset")
    rdf, pages = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert len(rdf) == 1 and pages == []
    assert stats(spider)["source/bioimageio/limit_reached"] == 1
    with pytest.raises(CloseSpider) as closed:
        spider.on_idle()
    assert closed.value.reason == "limit"


def test_ids_select_across_pages_and_report_missing() -> None:
    spider = make_spider(ids="https://bioimage.io/#/artifacts/brave-heron,bioimage-io/nobody-here")
    rdf, pages = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert rdf == [] and len(pages) == 1
    rdf, pages = requests_of(run_page(spider, 3, body("list_page_1.json"), page=1))
    assert [r.cb_kwargs["entry"]["id"] for r in rdf] == ["bioimage-io/brave-heron"]
    assert stats(spider)["source/bioimageio/ids/not_found"] == 1


def test_ids_stop_the_walk_once_all_are_found_and_ignore_types() -> None:
    spider = make_spider(ids="quiet-lynx")  # a dataset, although types defaults to model
    rdf, pages = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert [r.cb_kwargs["entry"]["id"] for r in rdf] == ["bioimage-io/quiet-lynx"]
    assert pages == []


def test_ids_match_a_legacy_concept_doi_through_the_manifest() -> None:
    spider = make_spider(ids="10.5281/ZENODO.2222222")
    rdf, _ = requests_of(run_page(spider, 3, body("list_page_1.json"), page=1))
    assert [r.cb_kwargs["entry"]["id"] for r in rdf] == ["bioimage-io/brave-heron"]


def test_ids_never_select_applications() -> None:
    spider = make_spider(ids="eager-panda")
    rdf, _ = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert rdf == []
    assert stats(spider)["source/bioimageio/skipped/type/application"] == 1


def test_since_filters_on_the_latest_change() -> None:
    spider = make_spider(since="2023-01-01", types="model,dataset")
    rdf, _ = requests_of(run_page(spider, 0, body("list_page_0.json")))
    assert [r.cb_kwargs["entry"]["id"] for r in rdf] == ["bioimage-io/sunny-otter"]
    assert stats(spider)["source/bioimageio/skipped/since"] == 1


def test_prebuilt_index_json_and_bare_lists_are_single_pages() -> None:
    spider = make_spider(types="model,dataset")
    rdf, pages = requests_of(run_page(spider, 0, body("index.json")))
    assert [r.url for r in rdf] == [
        f"{ARTIFACTS}/sunny-otter/files/rdf.yaml?version=v1",
        f"{ARTIFACTS}/quiet-lynx/files/rdf.yaml?version=v0",
    ]
    assert pages == []
    items = json.loads(body("list_page_1.json"))["items"]
    rdf, pages = requests_of(run_page(make_spider(), 0, json.dumps(items).encode()))
    assert len(rdf) == 2 and pages == []


@pytest.mark.parametrize(
    ("content", "stat"),
    [
        (b"<html>502 Bad Gateway</html>", "pages/invalid_json"),
        (b'{"detail": "Out of range float values are not JSON compliant"}', "pages/invalid"),
    ],
)
def test_bad_index_pages_stop_the_walk_with_a_reason(content: bytes, stat: str) -> None:
    spider = make_spider()
    assert run_page(spider, 0, content) == []
    assert stats(spider)[f"source/bioimageio/{stat}"] == 1
    with pytest.raises(CloseSpider) as closed:
        spider.on_idle()
    assert closed.value.reason == "index_page_failed"


def test_empty_page_with_larger_total_does_not_loop() -> None:
    spider = make_spider()
    out = run_page(spider, 0, b'{"items": [], "total": 50, "offset": 0, "limit": 3}')
    assert out == []
    assert stats(spider)["source/bioimageio/pages/empty"] == 1


def test_invalid_entries_are_counted_and_hostile_ids_encoded() -> None:
    spider = make_spider()
    content = json.dumps(
        {
            "items": [
                {"type": "model"},
                "junk",
                {"id": "bioimage-io/a b?c", "type": "model", "versions": [{"version": "v 2"}]},
            ],
            "total": 3,
        }
    ).encode()
    rdf, _ = requests_of(run_page(spider, 0, content))
    assert [r.url for r in rdf] == [f"{ARTIFACTS}/a%20b%3Fc/files/rdf.yaml?version=v+2"]
    assert stats(spider)["source/bioimageio/entries/invalid"] == 2


def rdf_request(spider: BioImageIOSpider, alias: str, page: str = "list_page_0.json") -> Request:
    rdf, _ = requests_of(run_page(spider, 0, body(page)))
    return next(r for r in rdf if r.cb_kwargs["entry"]["id"].endswith(alias))


def test_rdf_200_becomes_a_raw_record_that_normalizes() -> None:
    spider = make_spider()
    request = rdf_request(spider, "sunny-otter")
    text = (DATA / "rdf" / "sunny-otter.yaml").read_bytes()
    # Hypha may redirect to pre-signed storage; the record keeps the URL we asked for.
    response = Response(
        "https://s3.example.org/bucket/rdf.yaml?X-Amz-Signature=secret",
        body=b"\xef\xbb\xbf" + text,
        headers={"Content-Type": "application/octet-stream"},
        request=request,
    )
    (record,) = list(spider.parse_rdf(response, **request.cb_kwargs))
    assert isinstance(record, RawRecord)
    assert record.source == "bioimageio"
    assert record.source_id == "bioimage-io/sunny-otter"
    assert record.kind == "model"
    assert record.url == "https://bioimage.io/#/artifacts/sunny-otter"
    assert record.api_url.startswith(f"{ENDPOINT}/public/services/artifact-manager/list?")
    assert record.payload["id"] == "bioimage-io/sunny-otter"
    rdf = record.attachments["rdf"]
    assert rdf.url == f"{ARTIFACTS}/sunny-otter/files/rdf.yaml?version=v1"
    assert "X-Amz" not in json.dumps(record.to_dict())
    assert rdf.status == 200 and rdf.text is not None and rdf.text.startswith("# Project")
    assert rdf.content_type == "application/octet-stream"
    assert record.job_id == spider.job_id
    assert normalize(record, Minter()).primaryTopic == "https://bioimage.io/#/artifacts/sunny-otter"
    assert stats(spider)["source/bioimageio/records"] == 1


def test_rdf_404_is_data_and_counted() -> None:
    spider = make_spider()
    request = rdf_request(spider, "gone-mole", "list_page_1.json")
    response = Response(request.url, status=404, body=b'{"detail":"not found"}', request=request)
    (record,) = list(spider.parse_rdf(response, **request.cb_kwargs))
    assert (record.attachments["rdf"].status, record.attachments["rdf"].text) == (404, None)
    assert stats(spider)["source/bioimageio/errors/rdf_404"] == 1


def test_rdf_failure_after_retries_keeps_the_record() -> None:
    spider = make_spider()
    request = rdf_request(spider, "sunny-otter")
    failure = Failure(TimeoutError("timed out"))
    failure.request = request  # type: ignore[attr-defined]
    (record,) = list(spider.rdf_failed(failure))
    assert record.attachments["rdf"].status == 0
    assert stats(spider)["source/bioimageio/errors/rdf_failed"] == 1
    response = Response(request.url, status=503, request=request)
    failure = Failure(HttpError(response))
    failure.request = request  # type: ignore[attr-defined]
    (record,) = list(spider.rdf_failed(failure))
    assert record.attachments["rdf"].status == 503


def test_index_failure_closes_with_reason() -> None:
    spider = make_spider()
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = spider.index_request(0)  # type: ignore[attr-defined]
    spider.index_failed(failure)
    assert stats(spider)["source/bioimageio/pages/failed"] == 1
    with pytest.raises(CloseSpider) as closed:
        spider.on_idle()
    assert closed.value.reason == "index_page_failed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": "0"}, "invalid argument 'limit'"),
        ({"types": "application"}, "types must be model and/or dataset"),
        ({"ids": "a,b", "since": "2024-01-01"}, "ids cannot be combined with since"),
        ({"ids": "not valid!"}, "not a bioimage.io resource id"),
        ({"since": "yesterday"}, "ISO-8601"),
        ({"limt": "5"}, "unknown argument 'limt'"),
    ],
)
def test_bad_arguments_fail_early(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SpiderArgumentError, match=message):
        make_spider(**kwargs)


def test_ids_forms_and_file(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# wanted\naffable-shark\nbioimage-io/other-id  # note\n", encoding="utf-8")
    assert make_spider(ids=f"@{ids_file}").args.ids == ("affable-shark", "other-id")
    spider = make_spider(ids="https://bioimage.io/#/artifacts/x-y, 10.5281/Zenodo.5764892")
    assert spider.args.ids == ("x-y", "10.5281/zenodo.5764892")


def test_bad_endpoint_setting_fails_early() -> None:
    crawler = get_crawler(BioImageIOSpider, {"BIOIMAGEIO_ENDPOINT": "ftp://nope"})
    with pytest.raises(ConfigError, match="BIOIMAGEIO_ENDPOINT"):
        BioImageIOSpider.from_crawler(crawler)
    crawler = get_crawler(BioImageIOSpider, {"BIOIMAGEIO_PAGE_SIZE": 0})
    with pytest.raises(ConfigError, match="BIOIMAGEIO_PAGE_SIZE"):
        BioImageIOSpider.from_crawler(crawler)


# -- end to end: scrapy crawl against the replay server -----------------------------------------

ZOO = "https://bioimage.io/#/artifacts/"
FAIR4ML_NS = Namespace("https://w3id.org/fair4ml#")
SCHEMA_NS = Namespace("http://schema.org/")


def crawl(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ReplayServer]:
    """Run ``scrapy crawl bioimageio`` against the packaged replay sample."""
    with ReplayServer(sample_root("bioimageio")) as server:
        env = crawl_env(
            tmp_path, "e2e-bio", BIOIMAGEIO_ENDPOINT=server.url, BIOIMAGEIO_PAGE_SIZE="3"
        )
        proc = run_crawl("bioimageio", env, *args)
    return proc, server


@pytest.mark.slow
def test_replay_crawl_writes_valid_json_and_turtle(tmp_path: Path) -> None:
    proc, server = crawl(tmp_path, "-a", "types=model,dataset")
    records = jsonl(tmp_path / "normalized" / "bioimageio" / "e2e-bio")
    parsed = [FAIR4MLRecord.model_validate(line) for line in records]
    assert sorted(r.primaryTopic for r in parsed) == [
        ZOO + "amber-walrus",
        ZOO + "lost-marmot",  # rdf.yaml 404 → built from the index manifest
        ZOO + "misty-fjord",
        ZOO + "tidy-newt",  # rdf.yaml behind a 302 to pre-signed storage
    ]
    quarantined = jsonl(tmp_path / "quarantine" / "bioimageio" / "e2e-bio")
    assert [q["record"]["source_id"] for q in quarantined] == ["bioimage-io/broken-yak"]
    assert "rdf.yaml is not valid YAML" in quarantined[0]["reason"]

    graph = turtle_graph(tmp_path / "rdf" / "bioimageio" / "e2e-bio")
    walrus, fjord = URIRef(ZOO + "amber-walrus"), URIRef(ZOO + "misty-fjord")
    assert (walrus, RDF.type, FAIR4ML_NS.MLModel) in graph
    assert (fjord, RDF.type, SCHEMA_NS.Dataset) in graph
    assert (walrus, FAIR4ML_NS.trainedOn, fjord) in graph
    assert (walrus, FAIR4ML_NS.fineTunedFrom, URIRef(ZOO + "calm-badger")) in graph
    assert (walrus, SCHEMA_NS.author, URIRef("https://orcid.org/0000-0002-1825-0097")) in graph
    cc_by = URIRef("https://spdx.org/licenses/CC-BY-4.0")
    assert (URIRef(ZOO + "tidy-newt"), SCHEMA_NS.license, cc_by) in graph  # "CC BY 4.0"
    assert (walrus, FAIR4ML_NS.mlTask, None) in graph

    written = "".join(
        p.read_text(encoding="utf-8")
        for area in ("normalized", "rdf")
        for p in (tmp_path / area / "bioimageio").rglob("*")
        if p.is_file()
    )
    assert "@example.org" not in written  # e-mails never reach FAIR4ML files
    assert "X-Amz-Signature" not in written  # nor pre-signed storage URLs
    paths = [r.path for r in server.requests]
    assert paths.count("/public/services/artifact-manager/list") == 2
    assert not any("jolly-kestrel" in p for p in paths)  # the application is never fetched
    assert "'source/bioimageio/skipped/type/application': 1" in proc.stderr
    assert "'source/bioimageio/errors/rdf_404': 1" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "expected", "index_pages"),
    [
        (("-a", "limit=1"), [ZOO + "amber-walrus"], 1),
        (("-a", "ids=tidy-newt"), [ZOO + "tidy-newt"], 2),
    ],
)
def test_replay_crawl_selection(
    tmp_path: Path, args: tuple[str, ...], expected: list[str], index_pages: int
) -> None:
    _, server = crawl(tmp_path, *args)
    records = jsonl(tmp_path / "normalized" / "bioimageio" / "e2e-bio")
    assert [r["primaryTopic"] for r in records] == expected
    paths = [r.path for r in server.requests]
    assert paths.count("/public/services/artifact-manager/list") == index_pages
    assert len(paths) == index_pages + len(expected) + (1 if "ids=tidy-newt" in args else 0)
