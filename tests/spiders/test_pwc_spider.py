"""PapersWithCode spider: streaming parser, arguments, locations, callbacks, end-to-end crawls.

Callback tests drive ``start()`` / ``parse_chunk()`` on hand-made responses (no network);
the ``slow`` tests run ``scrapy crawl paperswithcode`` as a subprocess against the replay
server (no Range support: 200 + the whole file) and against a small Range-capable server
(many 206 chunks), and check the files, the re-import idempotency and the error handling.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from mlentory_crawl.config import ConfigError
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.spiders.base import SpiderArgumentError
from mlentory_crawl.spiders.paperswithcode import PapersWithCodeSpider
from mlentory_crawl.spiders.pwc_config import resolve_sources
from mlentory_crawl.spiders.pwc_dumps import DUMPS, parse_dumps
from mlentory_crawl.streaming import DumpFormatError, DumpReader

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "paperswithcode"
SAMPLE = sample_root("paperswithcode")
BASE_URL = "http://dumps.test/pwc"
XLMR = "https://arxiv.org/abs/1911.02116"
SCHEMA = Namespace("http://schema.org/")
FAIR4ML = Namespace("https://w3id.org/fair4ml#")


# ----------------------------------------------------------------------------- streaming


def read_all(data: bytes, step: int, batch: int = 3, **kwargs: Any) -> list[Any]:
    reader = DumpReader(**kwargs)
    out: list[Any] = []
    for start in range(0, len(data), step):
        reader.push(data[start : start + step])
        while items := reader.next_batch(batch):
            out += items
    reader.finish()
    while items := reader.next_batch(batch):
        out += items
    assert reader.done
    return out


ITEMS = [{"i": i, "text": "é☃\"\\" * (i % 7) + "x" * (i * 37 % 500), "n": [1.5, -2e9, None]}
         for i in range(60)]  # fmt: skip
ARRAY = json.dumps(ITEMS, ensure_ascii=False, indent=1).encode()


@pytest.mark.parametrize("step", [1, 2, 7, 100, 4096, 10**6])
@pytest.mark.parametrize(
    "data",
    [
        ARRAY,
        gzip.compress(ARRAY, mtime=0),
        gzip.compress(ARRAY[:3000], mtime=0) + gzip.compress(ARRAY[3000:], mtime=0),
        b"\xef\xbb\xbf" + ARRAY,
        "\n".join(json.dumps(i) for i in ITEMS).encode(),  # JSON Lines
    ],
    ids=["plain", "gzip", "multi-member-gzip", "bom", "json-lines"],
)
def test_reader_yields_every_element_whatever_the_piece_sizes(data: bytes, step: int) -> None:
    assert read_all(data, step, piece_chars=997) == ITEMS


def test_reader_small_documents() -> None:
    assert read_all(b"[1, 22, 333]", 1) == [1, 22, 333]  # numbers cut at piece ends
    assert read_all(b'{"task": "one tree"}', 2) == [{"task": "one tree"}]
    assert read_all(b"[ ]", 1) == []
    assert read_all(b'[{"a": 1}, ]', 1) == [{"a": 1}]  # a trailing comma is tolerated


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"a": 1}, {"b": 2,}, {"c": 3}]', r"malformed JSON at 19"),
        (b'[{"a": 1}, {"b": 2}', "not closed"),
        (b"", "empty dump"),
        (b'"a string"', "not a JSON array or object stream"),
        (b"[1] trailing", "data after the end"),
        (gzip.compress(json.dumps(ITEMS).encode(), mtime=0)[:-12], "truncated gzip"),
        (gzip.compress(json.dumps(ITEMS).encode(), mtime=0)[:200], "truncated gzip|not closed"),
        (b"\x1f\x8bnot really gzip", "corrupt gzip"),
        (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "nested too deeply"),
    ],
)
def test_reader_reports_malformed_dumps(data: bytes, message: str) -> None:
    with pytest.raises(DumpFormatError, match=message):
        read_all(data, 5)


def test_reader_hands_out_good_elements_before_the_error() -> None:
    reader = DumpReader()
    reader.push(b'[{"a": 1}, {"b": 2}, {"c": oops}]')
    reader.finish()
    assert reader.next_batch(10) == [{"a": 1}, {"b": 2}]
    with pytest.raises(DumpFormatError):
        reader.next_batch(10)
    assert reader.done and reader.failed
    assert reader.next_batch(10) == []


def test_reader_rejects_an_oversized_element() -> None:
    data = json.dumps([{"big": "y" * 50_000}, {"small": 1}]).encode()
    with pytest.raises(DumpFormatError, match="exceeds 10000 characters"):
        read_all(data, 1000, max_element_chars=10_000)
    assert len(read_all(data, 1000, max_element_chars=100_000)) == 2


def test_reader_memory_stays_bounded_by_the_piece_and_the_element() -> None:
    element = {"abstract": "z" * 2000}
    data = gzip.compress(json.dumps([element] * 3000).encode(), mtime=0)  # ~6 MB of JSON
    reader = DumpReader(piece_chars=64 * 1024)
    peak = count = 0
    for start in range(0, len(data), 4096):
        reader.push(data[start : start + 4096])
        while items := reader.next_batch(50):
            count += len(items)
            peak = max(peak, len(reader._json._buf), len(reader._json.ready))
    reader.finish()
    while items := reader.next_batch(50):
        count += len(items)
    assert count == 3000
    assert reader.bytes_out > 6_000_000
    assert peak < 3 * 64 * 1024  # the parse buffer never holds more than a few pieces


# ----------------------------------------------------------------------------- arguments


def make_spider(tmp_path: Path, settings: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    crawler = get_crawler(
        PapersWithCodeSpider,
        {"DATA_DIR": str(tmp_path), "PWC_CHUNK_BYTES": 1024, **(settings or {})},
    )
    return PapersWithCodeSpider.from_crawler(crawler, **kwargs)


def stats(spider: Any) -> dict[str, Any]:
    return spider.crawler.stats.get_stats()


def test_dumps_argument() -> None:
    assert parse_dumps(None) is None and parse_dumps("all") is None
    assert parse_dumps("methods, papers,links-between-paper-and-code") == (
        "papers-with-abstracts", "links-between-papers-and-code", "methods",
    )  # fmt: skip
    assert parse_dumps("evaluation-tables.json.gz") == ("evaluation-tables",)
    with pytest.raises(ValueError, match="unknown dump 'paper'; choose from papers-with"):
        parse_dumps("paper")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dumps": "nope"}, "unknown dump"),
        ({"limit": "0"}, "'limit'"),
        ({"base_url": "ftp://x/"}, "http://, https:// or file://"),
        ({"path": "/tmp", "base_url": "http://x/"}, "either path or base_url"),
        ({"limt": "5"}, "unknown argument 'limt'"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    tmp_path: Path, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(SpiderArgumentError, match=message):
        make_spider(tmp_path, **kwargs)


def test_location_is_required_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no dump location"):
        make_spider(tmp_path, {"PWC_DUMPS_URL": ""})
    with pytest.raises(ConfigError, match="does not exist"):
        make_spider(tmp_path, path=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="PWC_CHUNK_BYTES"):
        make_spider(tmp_path, {"PWC_CHUNK_BYTES": "10"}, path=str(DATA))


def test_local_folder_single_file_and_file_urls(tmp_path: Path) -> None:
    (tmp_path / "methods.json.gz").write_bytes(b"")
    (tmp_path / "links-between-paper-and-code.json").write_bytes(b"")  # the HF archive's name
    found, missing = resolve_sources(str(tmp_path), None)
    assert [s.dump for s in found] == ["links-between-papers-and-code", "methods"]
    assert missing == ["papers-with-abstracts", "datasets", "evaluation-tables"]
    assert found[1].url == (tmp_path / "methods.json.gz").resolve().as_uri()
    found, missing = resolve_sources((tmp_path / "methods.json.gz").as_uri(), None)
    assert [(s.dump, s.path) for s in found] == [("methods", tmp_path / "methods.json.gz")]
    with pytest.raises(ConfigError, match="not among dumps"):
        resolve_sources(str(tmp_path / "methods.json.gz"), ("datasets",))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a dump file"):
        resolve_sources(str(tmp_path / "notes.txt"), None)


def test_http_locations() -> None:
    found, missing = resolve_sources(BASE_URL + "/", ("methods", "datasets"))
    assert [s.url for s in found] == [f"{BASE_URL}/methods.json.gz", f"{BASE_URL}/datasets.json.gz"]
    assert missing == [] and all(s.path is None for s in found)
    found, _ = resolve_sources("https://mirror.test/x/datasets.json.gz", None)
    assert [(s.dump, s.url) for s in found] == [
        ("datasets", "https://mirror.test/x/datasets.json.gz")
    ]
    with pytest.raises(ConfigError, match="query"):
        resolve_sources("https://mirror.test/x/?sig=1", None)


# ----------------------------------------------------------------------------- local streaming


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


def test_local_dumps_stream_in_archive_order_with_papers_resolved(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, path=str(DATA))
    out = asyncio.run(collect(spider.start()))
    assert all(isinstance(r, RawRecord) for r in out)
    kinds = list(dict.fromkeys(r.kind for r in out))
    assert kinds == ["paper", "code", "method", "dataset", "task", "model"]
    assert {r.source for r in out} == {"paperswithcode"}
    assert len({r.job_id for r in out}) == 1
    methods = [r for r in out if r.kind == "method"]
    assert methods[0].api_url == (DATA / "methods.json").resolve().as_uri()
    attachment = methods[0].attachments["papers"]  # OtterNet's paper, found in the index
    assert json.loads(attachment.text or "") == {
        "https://paperswithcode.com/paper/sparse-otter-attention": {
            "arxiv_id": "2403.01234",
            "url_abs": "https://arxiv.org/abs/2403.01234v3",
            "url_pdf": "https://arxiv.org/pdf/2403.01234v3.pdf",
        }
    }
    assert "papers" not in methods[1].attachments  # no paper
    values = stats(spider)
    assert values["source/paperswithcode/dumps/done"] == 5
    assert values["source/paperswithcode/records/papers-with-abstracts"] == 6
    assert values["source/paperswithcode/elements/evaluation-tables"] == 3
    assert values["source/paperswithcode/records/evaluation-tables"] == 8  # 4 tasks, 4 models
    models = [r for r in out if r.kind == "model"]
    assert [r.source_id for r in models] == sorted(r.source_id for r in models)
    otternet = next(r for r in models if r.payload["model_name"] == "OtterNet-L")
    assert len(otternet.payload["results"]) == 3  # rows of two task trees, one record
    assert not list((tmp_path / "index" / "paperswithcode").glob("rows-*"))  # stage deleted
    assert (tmp_path / "index" / "paperswithcode" / "papers.sqlite3").is_file()
    spider.closed("finished")


def test_limit_caps_records_per_dump_and_sets_the_close_reason(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, path=str(DATA), dumps="methods,evaluations", limit="2")
    out = asyncio.run(collect(spider.start()))
    assert [r.kind for r in out] == ["method", "method", "task", "task"]
    assert stats(spider)["source/paperswithcode/limit_reached"] == 2
    with pytest.raises(CloseSpider) as closing:
        spider.on_idle()
    assert closing.value.reason == "limit"


def test_malformed_local_dump_keeps_earlier_records_and_reports(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    good = json.loads((DATA / "methods.json").read_text())[:2]
    text = json.dumps(good)[:-1] + ', {"url": "x", "name": oops}]'
    (folder / "methods.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    spider = make_spider(tmp_path, {"PWC_PAPER_INDEX": "off"}, path=str(folder))
    out = asyncio.run(collect(spider.start()))
    assert [r.payload["name"] for r in out] == ["OtterNet", "Otter Dropout"]
    values = stats(spider)
    assert values["source/paperswithcode/errors/malformed_dump"] == 1
    assert values["source/paperswithcode/dumps/missing"] == 4  # the other four: not there
    with pytest.raises(CloseSpider) as closing:
        spider.on_idle()
    assert closing.value.reason == "dump_failed"


# ----------------------------------------------------------------------------- HTTP chunks


def gz(dump: str) -> bytes:
    return (SAMPLE / "dumps" / f"{dump}.json.gz").read_bytes()


def answer(request: Request, data: bytes | None, ranged: bool = True) -> Response:
    """What a server answers: 206 slices of ``data`` (or 200 + all, or 404 for ``None``)."""
    if data is None:
        return Response(request.url, status=404, body=b"Not Found", request=request)
    if not ranged:
        return Response(request.url, status=200, body=data, request=request)
    match = re.match(r"bytes=(\d+)-(\d+)", request.headers[b"Range"].decode())
    assert match
    start, end = int(match.group(1)), min(int(match.group(2)), len(data) - 1)
    if start >= len(data):
        return Response(request.url, status=416, request=request)
    headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
    return Response(
        request.url, status=206, headers=headers, body=data[start : end + 1], request=request
    )


def serve(
    spider: Any, files: dict[str, bytes | None], ranged: bool = True
) -> tuple[list[RawRecord], list[Request]]:
    """Answer every request the spider makes until none is left; returns records and requests."""
    pending = asyncio.run(collect(spider.start()))
    records: list[RawRecord] = []
    seen: list[Request] = []
    while pending:
        request = pending.pop(0)
        assert isinstance(request, Request)
        seen.append(request)
        name = request.url.rsplit("/", 1)[-1]
        response = answer(request, files.get(name), ranged)
        for item in asyncio.run(collect(request.callback(response, **request.cb_kwargs))):
            (records if isinstance(item, RawRecord) else pending).append(item)
    return records, seen


def test_remote_dumps_are_read_in_range_chunks(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE_URL)
    files = {f"{d}.json.gz": gz(d) for d in DUMPS}
    records, requests = serve(spider, files)
    assert len(records) == 19
    papers = [r for r in requests if r.url.endswith("/papers-with-abstracts.json.gz")]
    assert [r.headers[b"Range"] for r in papers] == [b"bytes=0-1023", b"bytes=1024-2047"]
    first = requests[0]
    assert first.headers[b"Accept-Encoding"] == b"identity"
    assert first.dont_filter  # one URL, many ranges
    assert first.meta["handle_httpstatus_list"] == [404, 410, 416]
    # JOBDIR-safe: plain cb_kwargs, the callback is a spider method
    restored = request_from_dict(first.to_dict(spider=spider), spider=spider)
    assert restored.callback == spider.parse_chunk and restored.cb_kwargs == first.cb_kwargs
    # the dumps that need the paper index are only asked for once papers and links ended
    order = [r.url.rsplit("/", 1)[-1] for r in requests if r.cb_kwargs["start"] == 0]
    assert set(order[:2]) == {
        "papers-with-abstracts.json.gz",
        "links-between-papers-and-code.json.gz",
    }
    assert set(order[2:]) == {"methods.json.gz", "datasets.json.gz", "evaluation-tables.json.gz"}
    assert stats(spider)["source/paperswithcode/papers/resolved"] == 6
    xlmr = next(r for r in records if r.kind == "method" and r.payload["name"] == "XLM-R")
    assert "1911.02116" in (xlmr.attachments["papers"].text or "")


def test_a_server_ignoring_range_gets_the_whole_file_once(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE_URL, dumps="methods")
    records, requests = serve(spider, {"methods.json.gz": gz("methods")}, ranged=False)
    assert [r.payload["name"] for r in records] == ["XLM-R", "Fjord Attention", "LumenNet"]
    assert len(requests) == 1


def test_missing_remote_dumps_are_skipped_or_reported(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE_URL)
    records, _ = serve(spider, {"methods.json.gz": gz("methods")})
    assert len(records) == 3
    assert stats(spider)["source/paperswithcode/dumps/missing"] == 4
    spider = make_spider(tmp_path, base_url=BASE_URL, dumps="datasets")
    assert serve(spider, {})[0] == []
    assert stats(spider)["source/paperswithcode/errors/missing_dump"] == 1


def test_bad_and_stale_chunks(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE_URL, dumps="methods")
    (request,) = asyncio.run(collect(spider.start()))
    wrong = Response(
        request.url, status=206, headers={"Content-Range": "bytes 5-9/100"}, body=b"x" * 5,
        request=request,
    )  # fmt: skip
    assert asyncio.run(collect(spider.parse_chunk(wrong, **request.cb_kwargs))) == []
    assert stats(spider)["source/paperswithcode/errors/bad_chunk"] == 1
    # a chunk of an earlier stream (e.g. from a resumed JOBDIR queue) is dropped
    stale = {**request.cb_kwargs, "token": "0000"}
    assert asyncio.run(collect(spider.parse_chunk(answer(request, gz("methods")), **stale))) == []
    assert stats(spider)["source/paperswithcode/chunks/stale"] == 1


def test_failed_chunk_stops_the_dump_and_opens_the_waiting_ones(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE_URL, dumps="papers,methods")
    (request,) = asyncio.run(collect(spider.start()))
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = request  # type: ignore[attr-defined]
    (follow,) = asyncio.run(collect(spider.chunk_failed(failure)))
    assert follow.url.endswith("/methods.json.gz")
    assert stats(spider)["source/paperswithcode/errors/chunk_failed"] == 1
    with pytest.raises(CloseSpider) as closing:
        spider.on_idle()
    assert closing.value.reason == "dump_failed"


# ----------------------------------------------------------------------------- end to end


def run_crawl(
    tmp_path: Path, env: dict[str, str], *args: str, job: str = "e2e-pwc", check: bool = True
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATA_DIR": str(tmp_path), "JOB_ID": job, "LOG_LEVEL": "INFO", **env}
    full_env.pop("NEO4J_URI", None)
    full_env.pop("ELASTICSEARCH_URL", None)
    command = [sys.executable, "-m", "scrapy", "crawl", "paperswithcode", *args]
    command += ["-s", "AUTOTHROTTLE_ENABLED=0"]
    proc = subprocess.run(
        command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def jsonl(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for part in sorted(folder.glob("*.jsonl"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]


def turtle(folder: Path) -> Graph:
    graph = Graph()
    for part in sorted(folder.glob("*.ttl")):
        graph.parse(part, format="turtle")
    return graph


@pytest.mark.slow
def test_replay_crawl_writes_valid_json_and_turtle(tmp_path: Path) -> None:
    with ReplayServer(SAMPLE) as server:
        run_crawl(tmp_path, {"PWC_DUMPS_URL": server.url})
        assert server.count(path="/papers-with-abstracts.json.gz") == 1
    lines = jsonl(tmp_path / "normalized" / "paperswithcode" / "e2e-pwc")
    records = [FAIR4MLRecord.model_validate(line) for line in lines]
    assert len(records) == 19
    kinds = sorted(r.primary.type_name for r in records)
    assert kinds.count("MLModel") == 5  # 3 leaderboard models + 2 model-family methods
    assert kinds.count("ScholarlyArticle") == 4
    assert not (tmp_path / "quarantine").exists()
    graph = turtle(tmp_path / "rdf" / "paperswithcode" / "e2e-pwc")
    paper = URIRef(XLMR)
    assert (paper, RDF.type, SCHEMA.ScholarlyArticle) in graph
    assert (paper, SCHEMA.version, Literal("v2")) in graph
    hub = URIRef("https://huggingface.co/datasets/fjordlab/nordic-reviews")
    pwc_dataset = URIRef("https://paperswithcode.com/dataset/nordic-reviews")
    assert (pwc_dataset, SCHEMA.sameAs, hub) in graph
    models = set(graph.subjects(FAIR4ML.evaluatedOn, pwc_dataset))
    assert len(models) == 2
    assert all((m, RDF.type, FAIR4ML.MLModel) in graph for m in models)
    # leaderboard rows name their paper by its PwC page; the paper index made it the arXiv IRI
    assert (None, URIRef("https://w3id.org/codemeta/referencePublication"), paper) in graph
    articles = {str(s) for s in graph.subjects(RDF.type, SCHEMA.ScholarlyArticle)}
    assert not any("paperswithcode.com/paper/unsupervised" in a for a in articles)


def comparable(folder: Path) -> list[str]:
    """Normalized lines, byte for byte, with the retrieval time and job id blanked out."""
    out = []
    for part in sorted(folder.glob("*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            line = re.sub(r'"retrievedAt":"[^"]*"', '"retrievedAt":""', line)
            out.append(re.sub(r'"jobId":"[^"]*"', '"jobId":""', line))
    return out


def comparable_turtle(folder: Path) -> set[tuple[Any, ...]]:
    graph = turtle(folder)
    prov = Namespace("http://www.w3.org/ns/prov#")
    return {
        t for t in graph
        if t[1] not in (prov.generatedAtTime, prov.wasGeneratedBy)
        and "/job/" not in str(t[0])
    }  # fmt: skip


@pytest.mark.slow
def test_reimport_of_unchanged_dumps_changes_nothing(tmp_path: Path) -> None:
    env = {"PWC_DUMPS_URL": str(SAMPLE / "dumps")}
    run_crawl(tmp_path, env, job="first")
    run_crawl(tmp_path, env, job="second")
    normalized = tmp_path / "normalized" / "paperswithcode"
    first, second = comparable(normalized / "first"), comparable(normalized / "second")
    assert len(first) == 19 and first == second  # byte-identical apart from time and job
    rdf = tmp_path / "rdf" / "paperswithcode"
    assert comparable_turtle(rdf / "first") == comparable_turtle(rdf / "second")


@pytest.mark.slow
def test_a_resumed_job_rereads_the_dumps_without_writing_records_twice(tmp_path: Path) -> None:
    """The job folder already holds parts from a cleanly stopped run of the same job (what a
    JOBDIR resume after Ctrl-C finds): the dumps are read again, no record is written twice."""
    env = {"PWC_DUMPS_URL": str(SAMPLE / "dumps")}
    run_crawl(tmp_path, env, job="resumed")
    folders = {
        area: tmp_path / area / "paperswithcode" / "resumed" for area in ("raw", "normalized")
    }
    before = {area: jsonl(folder) for area, folder in folders.items()}
    triples = len(turtle(tmp_path / "rdf" / "paperswithcode" / "resumed"))
    again = run_crawl(tmp_path, env, job="resumed")
    assert "'files/normalized/duplicates_skipped': 19" in again.stderr
    assert "'files/raw/duplicates_skipped'" in again.stderr
    assert "'files/rdf/duplicates_skipped': 19" in again.stderr
    assert {area: jsonl(folder) for area, folder in folders.items()} == before
    assert len(before["normalized"]) == 19
    assert len(turtle(tmp_path / "rdf" / "paperswithcode" / "resumed")) == triples


@pytest.mark.slow
def test_replay_crawl_with_missing_and_truncated_dumps(tmp_path: Path) -> None:
    with ReplayServer(SAMPLE, scenario="missing") as server:
        proc = run_crawl(tmp_path, {"PWC_DUMPS_URL": f"{server.url}/"}, check=False)
    assert proc.returncode == 1, proc.stderr[-4000:]  # a failure reason: scrapy crawl exits 1
    assert "'finish_reason': 'dump_failed'" in proc.stderr
    assert "The paperswithcode crawl failed (finish_reason dump_failed)" in proc.stderr
    assert "'source/paperswithcode/dumps/missing': 1" in proc.stderr  # methods: 404
    assert "'source/paperswithcode/errors/malformed_dump': 1" in proc.stderr
    assert "dump evaluation-tables stopped after" in proc.stderr
    lines = jsonl(tmp_path / "normalized" / "paperswithcode" / "e2e-pwc")
    assert 10 <= len(lines) < 19  # papers, links, datasets and what preceded the cut


class RangeHandler(BaseHTTPRequestHandler):
    """Serves files from ``self.server.root`` with single ``Range`` support (206/416)."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        root: Path = self.server.root  # type: ignore[attr-defined]
        path = (root / self.path.lstrip("/")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = path.read_bytes()
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        body = data
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def synthetic_papers(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {
            "paper_url": f"https://paperswithcode.com/paper/synthetic-{i}",
            "arxiv_id": f"2401.{i:05d}",
            "title": f"Synthetic paper {i}",
            "abstract": "word " * 200,
            "url_abs": f"https://arxiv.org/abs/2401.{i:05d}v1",
            "authors": [f"Author {i % 17}"],
            "tasks": ["Question Answering"],
            "date": "2024-01-02",
            "methods": [],
        }


@pytest.mark.slow
def test_range_crawl_of_a_multi_chunk_dump_equals_the_local_crawl(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    text = json.dumps(list(synthetic_papers(300)))
    (dumps / "papers-with-abstracts.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    server = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    server.root = dumps.resolve()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        proc = run_crawl(tmp_path / "http", {}, "-a", f"base_url={url}", "-s",
                         "PWC_CHUNK_BYTES=4096")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    chunks = int(re.search(r"'source/paperswithcode/chunks': (\d+)", proc.stderr).group(1))  # type: ignore[union-attr]
    assert chunks >= 5
    run_crawl(tmp_path / "local", {}, "-a", f"path={dumps}")

    def strip(folder: Path) -> list[str]:
        lines = []
        for line in jsonl(folder / "normalized" / "paperswithcode" / "e2e-pwc"):
            for key in ("retrievedAt", "jobId", "apiUrl", "fetchedUrls"):
                line["provenance"].pop(key)
            lines.append(json.dumps(line, sort_keys=True))
        return lines

    over_http, local = strip(tmp_path / "http"), strip(tmp_path / "local")
    assert len(over_http) == 300 and over_http == local


def test_sample_dumps_are_the_gzip_of_their_readable_sources() -> None:
    for src in sorted((SAMPLE / "src").glob("*.json")):
        packed = SAMPLE / "dumps" / f"{src.name}.gz"
        assert gzip.decompress(packed.read_bytes()) == src.read_bytes(), packed.name
    assert sorted(p.name for p in (SAMPLE / "dumps").iterdir()) == sorted(
        f"{name}.json.gz" for name in DUMPS
    )
