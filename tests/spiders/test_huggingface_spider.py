"""HuggingFace spider callbacks on saved bodies (the packaged replay sample) with Link headers."""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure

from mlentory_crawl.config import ConfigError
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.replay import sample_root
from mlentory_crawl.spiders.base import SpiderArgumentError, parse_link_header
from mlentory_crawl.spiders.huggingface import EXPAND_FIELDS, HuggingFaceSpider

SAMPLE = sample_root("huggingface")
ENDPOINT = "http://replay.test:8080"
ROUTES = {r.get("name", r["path"]): r for r in json.loads((SAMPLE / "routes.json").read_text())}


def make_spider(settings: dict[str, Any] | None = None, /, **kwargs: Any) -> HuggingFaceSpider:
    crawler = get_crawler(HuggingFaceSpider, {"HF_ENDPOINT": ENDPOINT, **(settings or {})})
    spider = HuggingFaceSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    return spider


def stats(spider: HuggingFaceSpider) -> dict[str, Any]:
    return spider.crawler.stats.get_stats()


def start(spider: HuggingFaceSpider) -> list[Any]:
    async def collect() -> list[Any]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def page(n: int) -> tuple[bytes, dict[str, str]]:
    """Body and headers of list page *n* of the sample, ``{base}`` → the test endpoint."""
    route = next(r for name, r in ROUTES.items() if name.startswith(f"list page {n}"))
    headers = {k: v.replace("{base}", ENDPOINT) for k, v in route["headers"].items()}
    return (SAMPLE / route["body_file"]).read_bytes(), headers


def respond(
    request: Request, body: bytes, headers: dict[str, Any] | None = None, status: int = 200
) -> TextResponse:
    return TextResponse(
        request.url, body=body, headers=headers or {}, status=status, encoding="utf-8",
        request=request,
    )  # fmt: skip


def run(spider: HuggingFaceSpider, request: Request, response: Response) -> list[Any]:
    assert request.callback is not None
    return list(request.callback(response, **request.cb_kwargs))


def split(out: list[Any]) -> tuple[list[Request], list[Request], list[RawRecord]]:
    """(card requests, list page requests, records)."""

    def named(r: Any, name: str) -> bool:
        return isinstance(r, Request) and getattr(r.callback, "__name__", None) == name

    cards = [r for r in out if named(r, "parse_card")]
    pages = [r for r in out if named(r, "parse_page")]
    records = [r for r in out if isinstance(r, RawRecord)]
    assert len(cards) + len(pages) + len(records) == len(out)
    return cards, pages, records


def close_reason(spider: HuggingFaceSpider) -> str | None:
    """The reason the spider gives when it becomes idle (``None``: a normal finish)."""
    try:
        spider.on_idle()
    except CloseSpider as exc:
        return exc.reason
    return None


def first_page(spider: HuggingFaceSpider) -> Request:
    (request,) = start(spider)
    return request


# -- start and the list URL ---------------------------------------------------------------------


def test_first_list_request_asks_for_every_expand_field() -> None:
    request = first_page(make_spider())
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ENDPOINT}/api/models"
    query = parse_qs(parts.query)
    assert query["limit"] == ["500"]
    assert query["expand"] == list(EXPAND_FIELDS)
    assert "sort" not in query and "cursor" not in query


def test_since_sorts_by_last_modified_and_filters_pass_through() -> None:
    spider = make_spider(since="2025-08-01", author="lumen-labs", search="7b", limit="3")
    query = parse_qs(urlsplit(first_page(spider).url).query)
    assert query["sort"] == ["lastModified"]
    assert query["author"] == ["lumen-labs"] and query["search"] == ["7b"]
    assert query["limit"] == ["3"]  # no bigger page than the limit needs


def test_page_size_setting_is_used_and_checked() -> None:
    spider = make_spider({"HF_PAGE_SIZE": 50})
    assert parse_qs(urlsplit(first_page(spider).url).query)["limit"] == ["50"]
    with pytest.raises(ConfigError, match="HF_PAGE_SIZE"):
        make_spider({"HF_PAGE_SIZE": 501})
    with pytest.raises(ConfigError, match="HF_ENDPOINT"):
        make_spider({"HF_ENDPOINT": "ftp://example.org"})


# -- pagination -----------------------------------------------------------------------------------


def test_pagination_follows_link_verbatim_and_ends_without_link() -> None:
    spider = make_spider()
    request = first_page(spider)
    body, headers = page(1)
    cards, pages, records = split(run(spider, request, respond(request, body, headers)))
    assert len(cards) == 5 and not records
    (next_page,) = pages
    link = parse_link_header([headers["Link"]])["next"]
    assert next_page.url == link  # followed verbatim (same origin: no rewrite)
    assert "cursor" in parse_qs(urlsplit(next_page.url).query)
    assert all(c.priority > next_page.priority for c in cards)  # cards before the next page

    body3, headers3 = page(3)
    assert "Link" not in headers3
    cards, pages, _ = split(run(spider, next_page, respond(next_page, body3, headers3)))
    assert len(cards) == 3 and pages == []
    assert stats(spider)["source/huggingface/pages"] == 2


def test_short_page_with_link_continues() -> None:
    spider = make_spider()
    request = first_page(spider)
    short = json.dumps(json.loads(page(1)[0])[:2]).encode()
    link = f'<{ENDPOINT}/api/models?limit=500&cursor=abc>; rel="next"'
    cards, pages, _ = split(run(spider, request, respond(request, short, {"Link": link})))
    assert len(cards) == 2 and [p.url for p in pages] == [
        f"{ENDPOINT}/api/models?limit=500&cursor=abc"
    ]


def test_empty_page_without_link_ends_and_bad_json_stops_the_walk() -> None:
    spider = make_spider()
    request = first_page(spider)
    assert run(spider, request, respond(request, b"[]")) == []
    assert run(spider, request, respond(request, b"<html>oops</html>")) == []
    assert stats(spider)["source/huggingface/pages/invalid"] == 1
    assert close_reason(spider) == "list_page_failed"


def test_absolute_hub_link_is_moved_onto_the_endpoint() -> None:
    spider = make_spider()
    request = first_page(spider)
    body, headers = page(2)
    assert "https://huggingface.co/api/models?" in headers["Link"]
    _, (next_page,), _ = split(run(spider, request, respond(request, body, headers)))
    hub = urlsplit(parse_link_header([headers["Link"]])["next"])
    got = urlsplit(next_page.url)
    assert f"{got.scheme}://{got.netloc}" == ENDPOINT
    assert (got.path, got.query) == (hub.path, hub.query)
    assert stats(spider)["source/huggingface/link_rewrites"] == 1


def test_link_header_parsing_handles_several_links_and_headers() -> None:
    links = parse_link_header(
        [
            '<https://h/api/models?cursor=a,b>; rel="prev", <https://h/n?x=1>; rel=next',
            b'<https://h/other>; title="a, b; c"; rel="next last"',
        ]
    )
    assert links == {"prev": "https://h/api/models?cursor=a,b", "next": "https://h/n?x=1",
                     "last": "https://h/other"}  # fmt: skip
    assert parse_link_header([]) == {} and parse_link_header(["garbage"]) == {}


# -- limit and since -------------------------------------------------------------------------------


def test_limit_stops_yielding_and_requesting() -> None:
    spider = make_spider(limit="7")
    request = first_page(spider)
    body, headers = page(1)
    cards, (page2,), _ = split(run(spider, request, respond(request, body, headers)))
    assert len(cards) == 5
    body2, headers2 = page(2)
    cards, pages, _ = split(run(spider, page2, respond(page2, body2, headers2)))
    assert len(cards) == 2 and pages == []  # the Link is there, but the limit is reached
    assert stats(spider)["source/huggingface/limit_reached"] == 1
    assert close_reason(spider) == "limit"


def test_limit_with_cards_off_counts_records_exactly() -> None:
    spider = make_spider(limit="5", cards="false")
    request = first_page(spider)
    body, headers = page(1)
    cards, pages, records = split(run(spider, request, respond(request, body, headers)))
    assert (len(cards), len(pages), len(records)) == (0, 0, 5)
    assert stats(spider)["source/huggingface/models"] == 5


def test_since_stops_the_walk_at_the_first_older_model() -> None:
    spider = make_spider(since="2025-08-01", cards="off")
    request = first_page(spider)
    body, headers = page(2)  # lastModified 09-30, 09-12, 08-21 | 07-15, 06-30
    _, pages, records = split(run(spider, request, respond(request, body, headers)))
    assert [r.source_id for r in records] == [
        "quokka-research/quokka-llama-3.1-8b-de", "kiwi-nlp/kiwi-7b-chat",
        "tinkerbytes/tb-whisper-small-nl",
    ]  # fmt: skip
    assert pages == []
    assert stats(spider)["source/huggingface/since_reached"] == 1
    assert close_reason(spider) is None  # a since stop is a normal end


# -- records and cards -----------------------------------------------------------------------------


def test_card_callback_builds_the_record() -> None:
    spider = make_spider(_job="job-42")
    request = first_page(spider)
    body, headers = page(1)
    cards, _, _ = split(run(spider, request, respond(request, body, headers)))
    card = cards[3]
    assert card.url == f"{ENDPOINT}/nordlicht-ai/nordlicht-gemma-2b-sv/raw/main/README.md"
    text = (SAMPLE / "cards/nordlicht-ai/nordlicht-gemma-2b-sv/README.md").read_bytes()
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    (record,) = run(spider, card, respond(card, text, headers))
    assert record.source == "huggingface" and record.kind == "model"
    assert record.source_id == "nordlicht-ai/nordlicht-gemma-2b-sv"
    assert record.url == "https://huggingface.co/nordlicht-ai/nordlicht-gemma-2b-sv"
    assert record.api_url == request.url
    assert record.payload["gated"] == "manual"
    assert record.job_id == "job-42"
    assert record.retrieved_at.endswith("Z")
    attachment = record.attachments["card"]
    assert attachment.status == 200 and attachment.url == card.url
    assert attachment.text is not None and "svensk språkmodell" in attachment.text


@pytest.mark.parametrize("status", [404, 401, 403])
def test_unavailable_card_keeps_the_record(status: int) -> None:
    spider = make_spider()
    model = json.loads(page(3)[0])[1]
    card = spider.card_request(model, f"{ENDPOINT}/api/models", "2026-01-01T00:00:00.000Z")
    assert status in card.meta["handle_httpstatus_list"]
    headers = {"X-Error-Code": "EntryNotFound"}
    (record,) = run(spider, card, respond(card, b"Entry not found", headers, status=status))
    assert record.attachments["card"].status == status
    assert record.attachments["card"].text is None
    assert stats(spider)[f"source/huggingface/cards/{status}"] == 1


def test_failed_card_download_still_yields_the_record() -> None:
    spider = make_spider()
    model = json.loads(page(3)[0])[0]
    card = spider.card_request(model, f"{ENDPOINT}/api/models", "2026-01-01T00:00:00.000Z")
    failure = Failure(ConnectionRefusedError())
    failure.request = card  # type: ignore[attr-defined]
    (record,) = list(spider.card_failed(failure))
    assert record.source_id == "lumen-labs/lumen-7b" and record.attachments["card"].status == 0
    response = respond(card, b"busy", status=503)
    failure = Failure(HttpError(response))
    failure.request = card  # type: ignore[attr-defined]
    (record,) = list(spider.card_failed(failure))
    assert record.attachments["card"].status == 503
    assert stats(spider)["source/huggingface/cards/failed"] == 2


def test_failed_list_page_closes_with_a_reason() -> None:
    spider = make_spider()
    failure = Failure(ConnectionRefusedError())
    failure.request = first_page(spider)  # type: ignore[attr-defined]
    spider.page_failed(failure)
    assert stats(spider)["source/huggingface/pages/failed"] == 1
    assert close_reason(spider) == "list_page_failed"


# -- ids mode --------------------------------------------------------------------------------------


def test_ids_mode_requests_each_model(tmp_path: Path) -> None:
    spider = make_spider(ids="lumen-labs/lumen-7b, fjord-sentiment")
    requests = start(spider)
    assert [r.cb_kwargs["requested_id"] for r in requests] == [
        "lumen-labs/lumen-7b",
        "fjord-sentiment",
    ]
    parts = urlsplit(requests[0].url)
    assert parts.path == "/api/models/lumen-labs/lumen-7b"
    assert [v for k, v in parse_qsl(parts.query) if k == "expand"] == list(EXPAND_FIELDS)

    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# models\nlumen-labs/lumen-7b\n\nkiwi-nlp/kiwi-7b-chat  # chat\n")
    for value in (f"@{ids_file}", str(ids_file)):
        got = [r.cb_kwargs["requested_id"] for r in start(make_spider(ids=value))]
        assert got == ["lumen-labs/lumen-7b", "kiwi-nlp/kiwi-7b-chat"]


def test_ids_mode_limit_requests_only_the_first_ids() -> None:
    spider = make_spider(ids="a/b,c/d,e/f", limit="2")
    assert len(start(spider)) == 2
    assert close_reason(spider) == "limit"


def test_model_callback_uses_the_canonical_id_after_a_rename() -> None:
    spider = make_spider(ids="fjord-sentiment")
    (request,) = start(spider)
    # RedirectMiddleware follows the relative Location of the 307, keeping the query.
    redirect_mw = RedirectMiddleware.from_crawler(spider.crawler)
    location = "/api/models/fjordlab/fjord-sentiment-xlm?" + urlsplit(request.url).query
    moved = Response(request.url, status=307, headers={"Location": location}, request=request)
    redirected = redirect_mw.process_response(request, moved)
    assert isinstance(redirected, Request)
    assert redirected.url == f"{ENDPOINT}{location}"
    assert redirected.callback == request.callback and redirected.cb_kwargs == request.cb_kwargs

    body = (SAMPLE / "api/models/fjordlab/fjord-sentiment-xlm.json").read_bytes()
    (card,) = run(spider, redirected, respond(redirected, body))
    assert card.url == f"{ENDPOINT}/fjordlab/fjord-sentiment-xlm/raw/main/README.md"
    assert card.cb_kwargs["api_url"] == redirected.url
    assert stats(spider)["source/huggingface/models/renamed"] == 1

    spider = make_spider(ids="fjord-sentiment", cards="0")
    redirected = redirected.replace(callback=spider.parse_model, errback=spider.model_failed)
    (record,) = run(spider, redirected, respond(redirected, body))
    assert record.source_id == "fjordlab/fjord-sentiment-xlm"
    assert record.url == "https://huggingface.co/fjordlab/fjord-sentiment-xlm"


@pytest.mark.parametrize(("status", "stat"), [(401, "unauthorized"), (404, "not_found")])
def test_unavailable_model_is_counted_not_crashed(status: int, stat: str) -> None:
    spider = make_spider(ids="nordlicht-ai/nordlicht-internal-13b")
    (request,) = start(spider)
    assert status in request.meta["handle_httpstatus_list"]
    headers = {"X-Error-Code": "RepoNotFound"}
    response = respond(request, b'{"error":"Repository not found"}', headers, status=status)
    assert run(spider, request, response) == []
    assert stats(spider)[f"source/huggingface/models/{stat}"] == 1


# -- serialisation (JOBDIR) ------------------------------------------------------------------------


def test_every_request_is_serializable() -> None:
    spider = make_spider()
    list_request = first_page(spider)
    body, headers = page(1)
    out = run(spider, list_request, respond(list_request, body, headers))
    (model_request,) = start(make_spider(ids="lumen-labs/lumen-7b"))
    model_request = model_request.replace(callback=spider.parse_model, errback=spider.model_failed)
    for request in [list_request, model_request, *out]:
        assert isinstance(request, Request)
        data = request.to_dict(spider=spider)  # request_to_dict() is gone in 2.19
        assert b"Authorization" not in request.headers
        restored = request_from_dict(pickle.loads(pickle.dumps(data, protocol=4)), spider=spider)
        assert restored.url == request.url
        assert restored.callback == request.callback and restored.errback == request.errback
        assert restored.cb_kwargs == request.cb_kwargs


# -- arguments and job id --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": "0"}, "'limit'"),
        ({"limit": "ten"}, "'limit'"),
        ({"since": "last week"}, "'since'"),
        ({"cards": "maybe"}, "'cards'"),
        ({"limt": "5"}, "unknown argument 'limt'"),
        ({"ids": "../../etc/passwd"}, "not a HuggingFace repo id"),
        ({"ids": "@/nonexistent/ids.txt"}, "cannot read ids file"),
        ({"ids": " , "}, "no id given"),
        ({"ids": "a/b", "author": "x"}, "ids cannot be combined with author"),
    ],
)
def test_invalid_arguments_fail_clearly(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SpiderArgumentError, match=message) as err:
        make_spider(**kwargs)
    assert str(err.value).startswith("huggingface: ")


def test_arguments_arrive_as_strings_and_are_typed() -> None:
    spider = make_spider(limit="12", since="2025-01-31", cards="False", _job="j1", _version="r3")
    assert spider.args.limit == 12 and spider.args.cards is False
    assert (
        spider.args.since is not None
        and spider.args.since.isoformat() == "2025-01-31T00:00:00+00:00"
    )


def test_job_id_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JOB_ID", raising=False)
    monkeypatch.delenv("SCRAPY_JOB", raising=False)
    assert make_spider(_job="scrapyd-1").job_id == "scrapyd-1"
    generated = make_spider().job_id
    assert generated != make_spider().job_id and generated[:8].isdigit()
    monkeypatch.setenv("JOB_ID", "from-env")
    assert make_spider().job_id == "from-env"
    spider = make_spider({"JOBDIR": str(tmp_path / "a")})
    spider.state = {"job_id": "persisted"}  # type: ignore[attr-defined]
    assert spider.job_id == "persisted"  # a resumed job keeps its id


def test_job_id_survives_a_resume_without_saved_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JOB_ID", raising=False)
    jobdir = str(tmp_path / "job")
    first = make_spider({"JOBDIR": jobdir})
    first.state = {}  # type: ignore[attr-defined]
    job_id = first.job_id
    assert first.state["job_id"] == job_id  # type: ignore[attr-defined]
    assert (tmp_path / "job" / "job_id").read_text().strip() == job_id
    monkeypatch.setenv("JOB_ID", "another")
    killed = make_spider({"JOBDIR": jobdir})  # SIGKILL: spider.state was never saved
    killed.state = {}  # type: ignore[attr-defined]
    assert killed.job_id == job_id


def test_limit_progress_lives_in_the_jobdir_state() -> None:
    spider = make_spider({"JOBDIR": "/tmp/unused-jobdir"}, limit="6", cards="no")
    spider.state = {"huggingface": {"reserved": 4}}  # type: ignore[attr-defined]
    request = first_page(spider)
    body, headers = page(1)
    _, pages, records = split(run(spider, request, respond(request, body, headers)))
    assert len(records) == 2 and pages == []
    assert spider.state["huggingface"]["reserved"] == 6  # type: ignore[attr-defined]
