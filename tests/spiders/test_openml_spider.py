"""OpenML spider: callbacks on saved bodies (pagination, limits, selection, error JSON as data,
invalid pages, serializable requests), the API-key hygiene, and a replay-server crawl."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import RDF
from replay_crawl import crawl_env, jsonl, run_crawl, turtle_graph
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse
from scrapy.settings import Settings
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from mlentory_crawl import settings as project_settings
from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord, MLModelEvaluation
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers.openml import normalize
from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.spiders.base import SpiderArgumentError
from mlentory_crawl.spiders.openml import OpenMLSpider
from mlentory_crawl.spiders.openml_support import (
    OpenMLApiKeyMiddleware,
    RedactSecretFilter,
    strip_api_key,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "openml"
ENDPOINT = "http://replay.test"
API = ENDPOINT + "/api/v1/json/"
JSON = {"Content-Type": "application/json; charset=utf-8"}


def make_spider(**kwargs: Any) -> OpenMLSpider:
    crawler = get_crawler(OpenMLSpider, {"OPENML_ENDPOINT": ENDPOINT + "/"})
    return OpenMLSpider.from_crawler(crawler, **kwargs)


def stats(spider: OpenMLSpider) -> dict[str, Any]:
    assert spider.crawler.stats is not None
    return spider.crawler.stats.get_stats()


def respond(
    request: Request,
    name: str | None = None,
    *,
    body: bytes | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> TextResponse:
    content = body if body is not None else (DATA / str(name)).read_bytes()
    return TextResponse(
        request.url,
        body=content,
        encoding="utf-8",
        request=request,
        status=status,
        headers=headers or JSON,
    )


def call(spider: OpenMLSpider, request: Request, response: Response) -> list[Any]:
    callback = getattr(spider, request.callback.__name__)  # type: ignore[union-attr]
    return list(callback(response, **request.cb_kwargs))


def requests(out: list[Any], callback: str | None = None) -> list[Request]:
    found = [r for r in out if isinstance(r, Request)]
    if callback is not None:
        found = [r for r in found if r.callback.__name__ == callback]  # type: ignore[union-attr]
    return found


def records(out: list[Any], kind: str | None = None) -> list[RawRecord]:
    return [r for r in out if isinstance(r, RawRecord) and (kind is None or r.kind == kind)]


async def _start(spider: OpenMLSpider) -> list[Request]:
    return [request async for request in spider.start()]


def start(spider: OpenMLSpider) -> list[Request]:
    return asyncio.run(_start(spider))


def assert_serializable(spider: OpenMLSpider, request: Request) -> None:
    data = request.to_dict(spider=spider)  # what a JOBDIR disk queue stores
    json.dumps(data["cb_kwargs"])  # plain data only
    again = request_from_dict(data, spider=spider)
    assert again.url == request.url
    assert again.callback == request.callback
    assert again.cb_kwargs == request.cb_kwargs


# -- arguments and first requests ------------------------------------------------------------


def test_start_lists_flows_from_the_first_page() -> None:
    spider = make_spider()
    (request,) = start(spider)
    assert request.url == API + "flow/list/limit/1000/offset/0"
    assert request.callback == spider.parse_flow_list
    assert request.headers.get("Accept") == b"application/json"
    assert "api_key" not in request.url
    assert_serializable(spider, request)


def test_since_starts_near_that_id_and_page_size_applies() -> None:
    (request,) = start(make_spider(since="5001", page_size="250"))
    assert request.url == API + "flow/list/limit/250/offset/5000"


def test_flow_ids_select_flows_and_their_runs() -> None:
    spider = make_spider(flow_ids="8801, 8803", run_page_size="50")
    out = start(spider)
    assert [r.url for r in out] == [
        API + "flow/8801",
        API + "flow/8803",
        API + "run/list/flow/8801,8803/limit/50/offset/0",
    ]
    for request in out:
        assert_serializable(spider, request)


def test_flows_only_and_limit() -> None:
    out = start(make_spider(flow_ids="1,2,3", flows_only="true", limit="2"))
    assert [r.url for r in out] == [API + "flow/1", API + "flow/2"]


def test_task_ids_select_runs_by_task() -> None:
    out = start(make_spider(task_ids="3954"))
    assert [r.url for r in out] == [API + "run/list/task/3954/limit/200/offset/0"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flows_only": "true", "task_ids": "1"}, "cannot be combined"),
        ({"limit": "0"}, "'limit'"),
        ({"since": "9", "until": "3"}, "since must not be greater"),
        ({"flow_ids": "1,x"}, "'flow_ids"),
        ({"flow_ids": "0"}, "positive"),
        ({"limt": "5"}, "unknown argument 'limt'"),
        ({"page_size": "20000"}, "'page_size'"),
    ],
)
def test_bad_arguments_fail_early(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SpiderArgumentError, match=message):
        make_spider(**kwargs)


def test_bad_endpoint_fails_early() -> None:
    crawler = get_crawler(OpenMLSpider, {"OPENML_ENDPOINT": "ftp://example.org"})
    with pytest.raises(ValueError, match="OPENML_ENDPOINT"):
        OpenMLSpider.from_crawler(crawler)


def test_test_server_endpoint_keeps_test_server_iris() -> None:
    crawler = get_crawler(OpenMLSpider, {"OPENML_ENDPOINT": "https://test.openml.org"})
    spider = OpenMLSpider.from_crawler(crawler, flow_ids="5")
    (request, _) = start(spider)
    (record,) = call(spider, request, respond(request, "flow_single.json"))
    assert record.url == "https://test.openml.org/f/5"


# -- flow lists -------------------------------------------------------------------------------


def flow_page(spider: OpenMLSpider, name: str, size: int = 3, offset: int = 0, **kw: Any) -> Any:
    request = spider._flow_page(offset, size, first=kw.get("first", True), forward=True)
    return call(spider, request, respond(request, name, **kw.get("response", {})))


def test_flow_page_requests_flows_runs_and_the_next_page() -> None:
    spider = make_spider(page_size="3")
    out = flow_page(spider, "flow_list_page.json")
    assert [r.url for r in requests(out, "parse_flow")] == [
        API + "flow/8801",
        API + "flow/8802",
        API + "flow/8803",
    ]
    assert [r.url for r in requests(out, "parse_run_list")] == [
        API + "run/list/flow/8801,8802,8803/limit/200/offset/0"
    ]
    (following,) = requests(out, "parse_flow_list")
    assert following.url == API + "flow/list/limit/3/offset/3"
    assert following.cb_kwargs == {"offset": 3, "size": 3, "first": False, "forward": True}
    assert stats(spider)["source/openml/pages"] == 1
    for request in requests(out):
        assert_serializable(spider, request)


def test_short_page_is_the_last_one() -> None:
    out = flow_page(make_spider(page_size="5"), "flow_list_page.json", size=5)
    assert requests(out, "parse_flow_list") == []


def test_no_results_error_ends_the_listing() -> None:
    spider = make_spider()
    out = flow_page(spider, "error_flow_no_results.json", response={"status": 412})
    assert out == []
    assert stats(spider)["source/openml/pages/no_results"] == 1
    assert "source/openml/errors/api_500" not in stats(spider)


def test_limit_stops_flows_and_pages() -> None:
    spider = make_spider(limit="2", flows_only="true")
    out = flow_page(spider, "flow_list_page.json")
    assert [r.url for r in requests(out)] == [API + "flow/8801", API + "flow/8802"]
    assert stats(spider)["source/openml/skipped/limit"] == 1


def test_until_bounds_the_id_range() -> None:
    out = flow_page(make_spider(until="8802", flows_only="true"), "flow_list_page.json")
    assert [r.url for r in requests(out)] == [API + "flow/8801", API + "flow/8802"]


def test_since_steps_back_when_ids_were_deleted() -> None:
    spider = make_spider(since="8800", flows_only="true", page_size="3")
    # offset since-1 = 8799 should start at id 8800; it starts at 8801: ids were deleted
    out = flow_page(spider, "flow_list_page.json", offset=8799)
    assert len(requests(out, "parse_flow")) == 3
    back, following = requests(out, "parse_flow_list")
    assert back.url == API + "flow/list/limit/3/offset/8796"
    assert (back.cb_kwargs["first"], back.cb_kwargs["forward"]) == (True, False)
    assert following.url == API + "flow/list/limit/3/offset/8802"
    # rows of the earlier page below `since` are skipped
    out = call(spider, back, respond(back, "flow_list_page.json"))
    assert requests(out, "parse_flow") == []  # 8801..8803 were taken already


def test_invalid_page_is_bisected_then_the_row_salvaged() -> None:
    spider = make_spider(page_size="2")
    out = flow_page(spider, "flow_list_invalid.txt", size=2)
    halves = requests(out, "parse_flow_list")
    assert [r.url for r in halves] == [
        API + "flow/list/limit/1/offset/0",
        API + "flow/list/limit/1/offset/1",
        API + "flow/list/limit/2/offset/2",  # the walk goes on
    ]
    assert [r.cb_kwargs["forward"] for r in halves] == [False, False, True]
    assert stats(spider)["source/openml/errors/invalid_body"] == 1
    assert stats(spider)["source/openml/bisect"] == 1
    # the one-row page is still invalid: its id is read and the flow fetched on its own
    bad = '{"flows":{"flow":[{"id":8804, "name":"my "quoted" flow", "version":1}]}}'
    single = halves[0]
    out = call(spider, single, respond(single, body=bad.encode()))
    assert [r.url for r in requests(out)] == [
        API + "flow/8804",
        API + "run/list/flow/8804/limit/200/offset/0",
    ]
    assert stats(spider)["source/openml/salvaged"] == 1
    assert requests(out, "parse_flow_list") == []


def test_html_error_page_is_not_bisected() -> None:
    spider = make_spider()
    out = flow_page(spider, None, response={"status": 404, "body": b"<html>gone"})
    assert out == []
    assert stats(spider)["source/openml/errors/http_404"] == 1


# -- single flows -----------------------------------------------------------------------------


def test_flow_document_becomes_a_raw_record() -> None:
    spider = make_spider(flow_ids="8801", flows_only="true")
    (request,) = start(spider)
    (record,) = call(spider, request, respond(request, "flow_pipeline.json"))
    assert isinstance(record, RawRecord)
    assert (record.source, record.kind, record.source_id) == ("openml", "flow", "8801")
    assert record.url == "https://www.openml.org/f/8801"
    assert record.api_url == API + "flow/8801"
    assert record.payload == json.loads((DATA / "flow_pipeline.json").read_text())
    assert record.job_id
    assert stats(spider)["source/openml/records/flow"] == 1


def test_unknown_flow_error_is_counted_not_raised() -> None:
    spider = make_spider(flow_ids="8899", flows_only="true")
    (request,) = start(spider)
    out = call(spider, request, respond(request, "error_unknown_flow.json", status=412))
    assert out == []
    assert stats(spider)["source/openml/errors/api_181"] == 1


# -- runs, tasks, evaluations ----------------------------------------------------------------


def run_page(spider: OpenMLSpider, where: str = "flow/8801,8803", size: int = 3) -> list[Any]:
    request = spider._run_page(where, 0, size, forward=True)
    return call(spider, request, respond(request, "run_list_page.json"))


def test_run_page_asks_for_unknown_tasks_then_pages_on() -> None:
    spider = make_spider()
    out = run_page(spider)
    (tasks,) = requests(out, "parse_task_list")
    assert tasks.url == API + "task/list/task_id/3954,146820"
    assert [r["run_id"] for r in tasks.cb_kwargs["runs"]] == [770001, 770002, 770003]
    # another page in flight may wait for the same tasks with other runs: never deduplicated
    assert tasks.dont_filter
    (twin,) = requests(run_page(spider), "parse_task_list")
    assert twin.url == tasks.url and twin.dont_filter
    (following,) = requests(out, "parse_run_list")
    assert following.url == API + "run/list/flow/8801,8803/limit/3/offset/3"
    for request in requests(out):
        assert_serializable(spider, request)


def test_task_list_gives_task_records_datasets_and_the_evaluation_request() -> None:
    spider = make_spider()
    (tasks,) = requests(run_page(spider), "parse_task_list")
    out = call(spider, tasks, respond(tasks, "task_list_page.json"))
    task_records = records(out, "task")
    assert [r.source_id for r in task_records] == ["3954", "146820"]
    assert task_records[0].url == "https://www.openml.org/t/3954"
    assert "quality" in task_records[0].payload["task"]  # the task record is complete
    assert [r.url for r in requests(out, "parse_dataset")] == [
        API + "data/40691",
        API + "data/1489",
    ]
    (evaluations,) = requests(out, "parse_evaluations")
    assert evaluations.url == API + "evaluation/list/run/770001,770002,770003"
    assert set(evaluations.cb_kwargs["tasks"]) == {"3954", "146820"}
    assert "quality" not in evaluations.cb_kwargs["tasks"]["3954"]  # trimmed for run payloads
    assert_serializable(spider, evaluations)
    # the next run page with the same tasks goes straight to the evaluations
    again = run_page(spider)
    assert requests(again, "parse_task_list") == []
    assert [r.url for r in requests(again, "parse_evaluations")] == [evaluations.url]


def test_evaluations_become_run_records_that_normalize() -> None:
    spider = make_spider()
    (tasks,) = requests(run_page(spider), "parse_task_list")
    (evaluations,) = requests(
        call(spider, tasks, respond(tasks, "task_list_page.json")), "parse_evaluations"
    )
    out = call(spider, evaluations, respond(evaluations, "evaluation_list_page.json"))
    runs = records(out, "run")
    assert [r.source_id for r in runs] == ["770001", "770002", "770003"]
    first = runs[0]
    assert first.url == "https://www.openml.org/r/770001"
    assert [e["function"] for e in first.payload["evaluations"]] == [
        "predictive_accuracy",
        "area_under_roc_curve",
        "usercpu_time_millis",
    ]
    assert first.payload["task"]["did"] == 40691
    assert first.payload["fetched"] == [
        API + "run/list/flow/8801,8803/limit/3/offset/0",
        API + "task/list/task_id/3954,146820",
        API + "evaluation/list/run/770001,770002,770003",
    ]
    record = normalize(first, Minter())
    assert isinstance(record.primary, MLModelEvaluation)
    assert record.primary.evaluationDataset == ["https://www.openml.org/d/40691"]
    assert stats(spider)["source/openml/records/run"] == 3


def test_runs_without_evaluations_are_still_records() -> None:
    spider = make_spider()
    request = spider._evaluation_request([{"run_id": 5, "flow_id": 6, "task_id": 7}], {}, [])
    out = call(spider, request, respond(request, "error_evaluation_no_results.json", status=412))
    (run,) = records(out)
    assert run.payload["evaluations"] == []


def test_too_many_evaluations_split_the_batch() -> None:
    spider = make_spider()
    runs = [{"run_id": i, "flow_id": 1, "task_id": 2} for i in (1, 2, 3)]
    request = spider._evaluation_request(runs, {}, [])
    out = call(spider, request, respond(request, "error_too_many.json", status=412))
    assert [r.url for r in requests(out)] == [
        API + "evaluation/list/run/1",
        API + "evaluation/list/run/2,3",
    ]


def test_an_unreadable_evaluation_of_one_run_falls_back_to_the_run_document() -> None:
    spider = make_spider()
    request = spider._evaluation_request(
        [{"run_id": 990017, "flow_id": 412, "task_id": 2077}], {}, []
    )
    out = call(
        spider, request, respond(request, body=b'{"evaluations":{"evaluation":[{"a":"b"c"}]}}')
    )
    (detail,) = requests(out)
    assert detail.url == API + "run/990017"
    out = call(spider, detail, respond(detail, "run_detail.json"))
    (run,) = records(out, "run")
    assert run.payload["run"]["run_id"] == "990017"
    assert [r.url for r in requests(out)] == [API + "data/531", API + "flow/412"]
    assert isinstance(normalize(run, Minter()).primary, MLModelEvaluation)


def test_max_runs_caps_runs_and_paging() -> None:
    spider = make_spider(max_runs="2")
    out = run_page(spider)
    (tasks,) = requests(out, "parse_task_list")
    assert [r["run_id"] for r in tasks.cb_kwargs["runs"]] == [770001, 770002]
    assert requests(out, "parse_run_list") == []


def test_runs_selected_by_task_fetch_their_flows() -> None:
    spider = make_spider(task_ids="3954")
    out = run_page(spider, where="task/3954")
    assert [r.url for r in requests(out, "parse_flow")] == [API + "flow/8801", API + "flow/8803"]


def test_datasets_are_fetched_once_and_xml_is_converted() -> None:
    spider = make_spider()
    (first,) = spider._dataset_request(61)
    assert list(spider._dataset_request(61)) == []
    xml = (
        b'<oml:data_set_description xmlns:oml="http://openml.org/openml"><oml:id>61</oml:id>'
        b"<oml:name>iris</oml:name><oml:tag>a</oml:tag></oml:data_set_description>"
    )
    out = call(spider, first, respond(first, body=xml, headers={"Content-Type": "text/xml"}))
    (record,) = records(out, "dataset")
    assert record.payload == {"data_set_description": {"id": "61", "name": "iris", "tag": "a"}}
    assert stats(spider)["source/openml/xml_fallback"] == 1


def test_failed_requests_are_counted() -> None:
    spider = make_spider()
    failure = Failure(TimeoutError("Getting http://replay.test/x?api_key=s took too long"))
    failure.request = Request(API + "flow/1")  # type: ignore[attr-defined]
    spider.on_error(failure)
    assert stats(spider)["source/openml/errors/download/TimeoutError"] == 1


# -- API key ----------------------------------------------------------------------------------


def test_strip_api_key_keeps_other_parameters() -> None:
    assert strip_api_key(API + "flow/1?api_key=s3cret&x=1") == API + "flow/1?x=1"
    assert strip_api_key(API + "flow/1") == API + "flow/1"


def test_api_key_middleware_adds_the_key_only_while_downloading() -> None:
    crawler = get_crawler(OpenMLSpider, {"OPENML_ENDPOINT": ENDPOINT, "OPENML_APIKEY": "s3cret"})
    middleware = OpenMLApiKeyMiddleware.from_crawler(crawler)
    ours, other = Request(API + "flow/1"), Request("https://elsewhere.test/flow/1")
    middleware.process_request(ours)
    middleware.process_request(other)
    assert ours.url == API + "flow/1?api_key=s3cret"
    assert other.url == "https://elsewhere.test/flow/1"
    response = middleware.process_response(ours, TextResponse(ours.url, body=b"{}", request=ours))
    assert ours.url == response.url == API + "flow/1"
    middleware.process_request(ours)
    middleware.process_exception(ours, TimeoutError())
    assert ours.url == API + "flow/1"


def test_no_key_no_middleware() -> None:
    with pytest.raises(NotConfigured):
        OpenMLApiKeyMiddleware.from_crawler(get_crawler(OpenMLSpider, {"OPENML_APIKEY": ""}))


def test_redaction_filter_hides_the_key() -> None:
    redactor = RedactSecretFilter("s3cret")
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "GET %s", ("u?api_key=s3cret",), None
    )
    try:
        raise TimeoutError("Getting u?api_key=s3cret took longer than 60 seconds")
    except TimeoutError:
        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    assert record.getMessage() == "GET u?api_key=***"
    assert record.exc_text is not None and "s3cret" not in record.exc_text


def test_update_settings_merges_the_middleware() -> None:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    OpenMLSpider.update_settings(settings)
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["mlentory_crawl.spiders.openml_support.OpenMLApiKeyMiddleware"] == 950
    assert "mlentory_crawl.middlewares.BackoffRetryMiddleware" in middlewares


# -- replay crawl -----------------------------------------------------------------------------

FAIR4ML_NS = Namespace("https://w3id.org/fair4ml#")
SCHEMA_NS = Namespace("http://schema.org/")
OML = "https://www.openml.org/"


@pytest.mark.slow
def test_replay_crawl_writes_valid_json_and_turtle(tmp_path: Path) -> None:
    with ReplayServer(sample_root("openml")) as server:
        env = crawl_env(
            tmp_path,
            "e2e-openml",
            "DEBUG",
            OPENML_ENDPOINT=server.url,
            OPENML_APIKEY="replay-s3cret-key",
        )
        proc = run_crawl(
            "openml",
            env,
            *("-a", "page_size=2", "-a", "run_page_size=2"),
            # only this spider's module is loaded, so a sibling spider being edited cannot break it
            *("-s", "SPIDER_MODULES=mlentory_crawl.spiders.openml"),
        )
    lines = jsonl(tmp_path / "normalized" / "openml" / "e2e-openml")
    parsed = [FAIR4MLRecord.model_validate(line) for line in lines]
    assert sorted(r.primaryTopic for r in parsed) == sorted(
        [
            *(OML + f"f/{i}" for i in (101, 102, 103)),
            *(OML + f"r/{i}" for i in (5001, 5002, 5003)),
            *(OML + i for i in ("t/31", "t/59", "d/31", "d/61")),
        ]
    )
    assert not (tmp_path / "quarantine" / "openml").exists()

    graph = turtle_graph(tmp_path / "rdf" / "openml" / "e2e-openml")
    pipeline, run = URIRef(OML + "f/101"), URIRef(OML + "r/5001")
    credit = URIRef(OML + "d/31")
    assert (pipeline, RDF.type, FAIR4ML_NS.MLModel) in graph
    assert (pipeline, SCHEMA_NS.isBasedOn, URIRef(OML + "f/103")) in graph
    assert (pipeline, FAIR4ML_NS.hasEvaluation, run) in graph
    assert (pipeline, FAIR4ML_NS.evaluatedOn, credit) in graph
    assert (pipeline, FAIR4ML_NS.mlTask, None) in graph
    assert (run, RDF.type, FAIR4ML_NS.MLModelEvaluation) in graph
    assert (run, FAIR4ML_NS.evaluatedMLModel, pipeline) in graph
    assert (run, FAIR4ML_NS.evaluationDataset, credit) in graph
    assert (run, FAIR4ML_NS.evaluationMetrics, Literal("predictive_accuracy")) in graph
    assert (credit, RDF.type, SCHEMA_NS.Dataset) in graph
    assert (credit, SCHEMA_NS.name, Literal("credit-g")) in graph
    assert (URIRef(OML + "d/61"), SCHEMA_NS.name, Literal("iris")) in graph  # the XML answer

    # the key went to the server, but into no file and no log line
    assert any("api_key=replay-s3cret-key" in r.query_string for r in server.requests)
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert "replay-s3cret-key" not in written
    assert "replay-s3cret-key" not in proc.stderr + proc.stdout
    paths = [r.path for r in server.requests]
    assert paths.count("/api/v1/json/data/31") == 1  # datasets once each
    assert paths.count("/api/v1/json/task/list/task_id/31") == 1
    assert not any("download" in p for p in paths)  # never a data file
    for stat in (
        "'source/openml/records/flow': 3",
        "'source/openml/records/run': 3",
        "'source/openml/errors/api_181': 1",
        "'source/openml/salvaged': 1",
        "'source/openml/xml_fallback': 1",
    ):
        assert stat in proc.stderr
