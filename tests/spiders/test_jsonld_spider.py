"""The jsonld spider: arguments, settings, callbacks on built responses, and a replayed crawl."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Namespace, URIRef
from replay_crawl import crawl_env, jsonl, run_crawl, turtle_graph
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.spiders.base import SpiderArgumentError
from mlentory_crawl.spiders.jsonld import PLAYWRIGHT_HANDLER, JsonLdSpider, skip_heavy_resources

SITE = sample_root("jsonld") / "site"
HOST = "https://zoo.example.org"
REPO = Path(__file__).resolve().parents[2]
FAIR4ML_NS = Namespace("https://w3id.org/fair4ml#")
SCHEMA_NS = Namespace("http://schema.org/")


def make_spider(settings: dict[str, Any] | None = None, **kwargs: Any) -> JsonLdSpider:
    crawler = get_crawler(JsonLdSpider, settings or {})
    spider = JsonLdSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    return spider


def stats(spider: JsonLdSpider) -> dict[str, Any]:
    assert spider.crawler.stats is not None
    return {k: v for k, v in spider.crawler.stats.get_stats().items() if k.startswith("source/")}


def page(name: str, url: str | None = None, **kwargs: Any) -> HtmlResponse:
    body = (SITE / name).read_text(encoding="utf-8").replace("{base}", HOST)
    request = Request(url or f"{HOST}/{name}")
    return HtmlResponse(request.url, body=body, encoding="utf-8", request=request, **kwargs)


async def started(spider: JsonLdSpider) -> list[Request]:
    return [r async for r in spider.start()]


def run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


# -- arguments and settings ---------------------------------------------------------------------


def test_arguments_are_validated() -> None:
    with pytest.raises(SpiderArgumentError, match="give page URLs"):
        make_spider()
    with pytest.raises(SpiderArgumentError, match="not an absolute http"):
        make_spider(urls="ftp://x.example/a")
    with pytest.raises(SpiderArgumentError, match="render"):
        make_spider(urls=f"{HOST}/a", render="sometimes")
    with pytest.raises(SpiderArgumentError, match="not a regular expression"):
        make_spider(sitemap=f"{HOST}/s.xml", match="(")
    with pytest.raises(SpiderArgumentError, match="unknown argument 'url'"):
        make_spider(url=f"{HOST}/a")
    with pytest.raises(SpiderArgumentError, match="cannot read URL file"):
        make_spider(file="/nonexistent/urls.txt")


def test_urls_file_and_sitemap_arguments(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# models\n{HOST}/b\n\n{HOST}/a?x=1,2#frag\n", encoding="utf-8")
    spider = make_spider(
        urls=f"{HOST}/a?x=1,2, {HOST}/c", file=str(listing), sitemap=f"{HOST}/sitemap.xml"
    )
    assert spider.args.urls == (f"{HOST}/a?x=1,2", f"{HOST}/c")
    assert spider.args.file == (f"{HOST}/b", f"{HOST}/a?x=1,2")
    requests = run(started(spider))
    assert [r.url for r in requests] == [
        f"{HOST}/a?x=1,2", f"{HOST}/c", f"{HOST}/b", f"{HOST}/sitemap.xml",
    ]  # fmt: skip
    assert [r.callback.__name__ for r in requests] == ["parse_page"] * 3 + ["parse_sitemap"]
    assert not any(r.meta.get("playwright") for r in requests)
    bad = tmp_path / "bad.txt"
    bad.write_text("https://ok.example/\nnot a url\n", encoding="utf-8")
    with pytest.raises(SpiderArgumentError, match="entry 2 is not an absolute"):
        make_spider(file=str(bad))


def test_update_settings_merges_handlers_and_obeys_robots() -> None:
    settings = Settings()
    settings.set("DOWNLOAD_HANDLERS", {"s3": None}, priority="project")
    settings.set("ITEM_PIPELINES", {"a.B": 100}, priority="project")
    JsonLdSpider.update_settings(settings)
    assert settings.getdict("DOWNLOAD_HANDLERS") == {
        "s3": None, "http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER,
    }  # fmt: skip
    assert settings.getdict("ITEM_PIPELINES") == {"a.B": 100}
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings["PLAYWRIGHT_ABORT_REQUEST"].endswith("skip_heavy_resources")
    cmdline = Settings()
    cmdline.set("DOWNLOAD_HANDLERS", {"https": "my.Handler"}, priority="cmdline")
    cmdline.set("ROBOTSTXT_OBEY", False, priority="cmdline")
    JsonLdSpider.update_settings(cmdline)
    assert cmdline.getdict("DOWNLOAD_HANDLERS") == {"https": "my.Handler"}
    assert cmdline.getbool("ROBOTSTXT_OBEY") is False


def test_heavy_resources_are_skipped_by_the_browser() -> None:
    class Fake:
        def __init__(self, kind: str) -> None:
            self.resource_type = kind

    assert skip_heavy_resources(Fake("image")) and skip_heavy_resources(Fake("font"))
    assert not skip_heavy_resources(Fake("script")) and not skip_heavy_resources(Fake("document"))


# -- rendering decisions ----------------------------------------------------------------------


def test_static_page_with_json_ld_yields_records_without_rendering() -> None:
    spider = make_spider(urls=f"{HOST}/models/cellseg.html")
    out = list(spider.parse_page(page("models/cellseg.html")))
    assert len(out) == 1 and isinstance(out[0], RawRecord)
    record = out[0]
    assert (record.source, record.kind) == ("jsonld", "page")
    assert record.source_id == record.url == record.api_url == f"{HOST}/models/cellseg.html"
    assert record.payload[0]["name"] == "CellSeg-2D"
    assert stats(spider) == {
        "source/jsonld/pages": 1, "source/jsonld/blocks": 1,
        "source/jsonld/records": 1, "source/jsonld/records/MLModel": 1,
    }  # fmt: skip


def test_auto_renders_a_page_without_json_ld_once() -> None:
    spider = make_spider(urls=f"{HOST}/models/js-injected.html")
    (request,) = list(spider.parse_page(page("models/js-injected.html")))
    assert isinstance(request, Request)
    assert request.meta["playwright"] is True
    assert request.meta["playwright_page_goto_kwargs"] == {"wait_until": "networkidle"}
    assert request.cb_kwargs == {"rendered": True} and request.dont_filter
    request.to_dict(spider=spider)  # JOBDIR-safe
    # the rendered page still has none: counted, not rendered again
    assert list(spider.parse_page(page("models/plain.html"), rendered=True)) == []
    assert stats(spider)["source/jsonld/render/requested"] == 1
    assert stats(spider)["source/jsonld/rendered"] == 1
    assert stats(spider)["source/jsonld/pages/no_jsonld"] == 1


def test_never_and_always() -> None:
    never = make_spider(urls=f"{HOST}/models/plain.html", render="never")
    assert list(never.parse_page(page("models/plain.html"))) == []
    assert stats(never)["source/jsonld/pages/no_jsonld"] == 1
    always = make_spider(urls=f"{HOST}/a", render="always", wait="load")
    (request,) = run(started(always))
    assert request.meta == {
        "playwright": True,
        "playwright_page_goto_kwargs": {"wait_until": "load"},
    }
    assert not request.dont_filter
    request.to_dict(spider=always)


# -- pages: several blocks, @graph, broken JSON, JSON documents ----------------------------------


def test_several_blocks_and_graph_forms_give_one_record_per_primary() -> None:
    spider = make_spider(urls=f"{HOST}/x")
    records = list(spider.parse_page(page("models/several-blocks.html")))
    base = f"{HOST}/models/several-blocks.html"
    assert [r.source_id for r in records] == [
        base + "#voxtag",
        base + "#https://doi.org/10.5555/acoustics.meet.1",
    ]
    for record in records:  # the five blocks, untouched: the fourth is an array
        assert len(record.payload) == 5 and isinstance(record.payload[3], list)
    assert stats(spider)["source/jsonld/entities/skipped/SoftwareApplication"] == 1
    graph = list(spider.parse_page(page("models/zoo-graph.html")))
    assert [r.source_id for r in graph] == [
        f"{HOST}/models/zoo-graph.html#planktonnet",
        f"{HOST}/models/zoo-graph.html#planktonnet-small",
    ]


def test_broken_json_ld_is_counted_and_the_unparseable_rest_goes_to_quarantine() -> None:
    spider = make_spider(urls=f"{HOST}/x")
    out = list(spider.parse_page(page("models/broken.html")))
    assert [r.source_id for r in out] == [
        f"{HOST}/models/broken.html#floodcast",
        f"{HOST}/models/broken.html#invalid-jsonld",
    ]
    quarantine = out[1]
    assert quarantine.payload == [] and list(quarantine.attachments) == ["jsonld-0"]
    assert '"name": "Gauges 1990-2024"' in (quarantine.attachments["jsonld-0"].text or "")
    assert stats(spider)["source/jsonld/blocks/invalid"] == 2
    assert stats(spider)["source/jsonld/blocks/repaired"] == 1
    assert stats(spider)["source/jsonld/blocks/unparseable"] == 1


def test_page_without_ml_entities_and_json_documents() -> None:
    spider = make_spider(urls=f"{HOST}/x")
    assert list(spider.parse_page(page("pages/about.html"))) == []
    assert stats(spider)["source/jsonld/pages/no_ml_entity"] == 1
    body = (SITE / "models/unet-lite.jsonld").read_bytes().replace(b"{base}", HOST.encode())
    url = f"{HOST}/models/unet-lite.jsonld"
    response = TextResponse(url, body=body, headers={"Content-Type": "application/ld+json"})
    (record,) = list(spider.parse_page(response))
    assert record.source_id == url and record.payload[0]["name"] == "UNet-lite"
    binary = Response(url, body=b"\x89PNG")
    assert list(spider.parse_page(binary)) == []
    assert stats(spider)["source/jsonld/errors/not_text"] == 1


# -- sitemaps ---------------------------------------------------------------------------------


def sitemap_response(name: str, gz: bool = False) -> Response:
    body = (SITE / name).read_bytes().replace(b"{base}", HOST.encode())
    if gz:
        return Response(f"{HOST}/{name}.gz", body=gzip.compress(body))
    return TextResponse(f"{HOST}/{name}", body=body, headers={"Content-Type": "text/xml"})


def test_sitemap_index_urlset_robots_match_and_limit() -> None:
    spider = make_spider(sitemap=f"{HOST}/robots.txt", match=r"/models/", limit=3)
    robots = list(spider.parse_sitemap(sitemap_response("robots.txt"), depth=0))
    assert [r.url for r in robots] == [f"{HOST}/sitemap-index.xml"]
    index = list(spider.parse_sitemap(sitemap_response("sitemap-index.xml"), depth=1))
    assert [r.url for r in index] == [f"{HOST}/sitemap-models.xml", f"{HOST}/sitemap-other.xml"]
    assert all(r.cb_kwargs == {"depth": 2} for r in index)
    pages = list(spider.parse_sitemap(sitemap_response("sitemap-models.xml", gz=True), depth=2))
    assert [r.url for r in pages] == [
        f"{HOST}/models/cellseg.html", f"{HOST}/models/zoo-graph.html",
        f"{HOST}/models/several-blocks.html",
    ]  # fmt: skip
    for request in pages + index:
        request.to_dict(spider=spider)
    other = list(spider.parse_sitemap(sitemap_response("sitemap-other.xml"), depth=2))
    assert other == []  # limit reached
    assert stats(spider)["source/jsonld/pages/over_limit"] == 2  # one per sitemap cut short
    assert list(spider.parse_sitemap(sitemap_response("sitemap-index.xml"), depth=3)) == []
    junk = TextResponse(f"{HOST}/s.xml", body=b"<html>not a sitemap</html>")
    assert list(spider.parse_sitemap(junk, depth=0)) == []
    assert stats(spider)["source/jsonld/sitemaps/invalid"] == 1


# -- end to end: scrapy crawl against the replay server -----------------------------------------


def crawl(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ReplayServer]:
    """Run ``scrapy crawl jsonld`` against the packaged sample site (``{base}`` in args)."""
    with ReplayServer(sample_root("jsonld")) as server:
        env = crawl_env(tmp_path, "e2e-jsonld")
        proc = run_crawl("jsonld", env, *(a.replace("{base}", server.url) for a in args))
    return proc, server


@pytest.mark.slow
def test_replay_crawl_of_a_sitemap_writes_valid_json_and_turtle(tmp_path: Path) -> None:
    proc, server = crawl(
        tmp_path, "-a", "sitemap={base}/robots.txt", "-a", "urls={base}/old/cellseg"
    )
    base = server.url
    records = [
        FAIR4MLRecord.model_validate(r)
        for r in jsonl(tmp_path / "normalized" / "jsonld" / "e2e-jsonld")
    ]
    topics = sorted(r.primaryTopic for r in records)
    assert topics == sorted([
        f"{base}/models/cellseg.html",  # via the redirect and the sitemap: one page, one record
        f"{base}/models/zoo-graph.html#planktonnet",
        f"{base}/models/zoo-graph.html#planktonnet-small",
        f"{base}/models/several-blocks.html#voxtag",
        "https://doi.org/10.5555/acoustics.meet.1",
        f"{base}/models/broken.html#floodcast",
        f"{base}/models/unet-lite.jsonld",
        f"{base}/datasets/plankton.html",
        "https://arxiv.org/abs/2503.01234",
    ])  # fmt: skip
    by_topic = {r.primaryTopic: r for r in records}
    cellseg = by_topic[f"{base}/models/cellseg.html"]
    assert cellseg.provenance.sourceId == f"{base}/models/cellseg.html"  # canonical after 301
    assert cellseg.primary.license == ["https://spdx.org/licenses/Apache-2.0"]  # type: ignore[attr-defined]
    quarantined = jsonl(tmp_path / "quarantine" / "jsonld" / "e2e-jsonld")
    assert [q["record"]["source_id"] for q in quarantined] == [
        f"{base}/models/broken.html#invalid-jsonld"
    ]
    assert "unparseable JSON-LD" in quarantined[0]["reason"]

    graph = turtle_graph(tmp_path / "rdf" / "jsonld" / "e2e-jsonld")
    net = URIRef(f"{base}/models/zoo-graph.html#planktonnet")
    small = URIRef(f"{base}/models/zoo-graph.html#planktonnet-small")
    assert (net, RDF.type, FAIR4ML_NS.MLModel) in graph
    assert (small, FAIR4ML_NS.fineTunedFrom, net) in graph
    assert (
        net,
        FAIR4ML_NS.trainedOn,
        URIRef(f"{base}/models/zoo-graph.html#plankton-train"),
    ) in graph
    assert (
        net,
        FAIR4ML_NS.mlTask,
        URIRef("https://example.org/mlentory-crawl/task/hf/image-classification"),
    ) in graph
    assert (URIRef(f"{base}/datasets/plankton.html"), RDF.type, SCHEMA_NS.Dataset) in graph
    voxtag = URIRef(f"{base}/models/several-blocks.html#voxtag")
    assert (voxtag, SCHEMA_NS.license, URIRef("https://spdx.org/licenses/MIT")) in graph

    paths = [r.path for r in server.requests]
    assert "/private/draft.html" not in paths  # robots.txt obeyed
    assert paths.count("/models/cellseg.html") == 1
    log = proc.stderr
    assert "'source/jsonld/errors/robots': 1" in log
    assert "'source/jsonld/errors/http_410': 1" in log
    assert "'source/jsonld/blocks/invalid': 2" in log
    assert "'fair4ml/quarantined/invalid_input': 1" in log
    # static pages only: the browser is never launched
    assert "playwright/browser_count" not in log
    assert "source/jsonld/rendered" not in log
    assert "Launching browser" not in log
