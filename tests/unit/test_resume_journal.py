"""The resume journal, the journaling scheduler and the de-duplicating part writers."""

from __future__ import annotations

import asyncio
import inspect
import json
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.core.scraper import Slot
from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.test import get_crawler

from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.pipelines.base import jsonld_record_key, quarantine_key, raw_record_key
from mlentory_crawl.pipelines.raw_store import RawStorePipeline
from mlentory_crawl.resume import (
    JOURNAL_FILE,
    RESUME_ID_META,
    JournalError,
    JournalScheduler,
    RequestJournal,
    StopKind,
)
from mlentory_crawl.storage import (
    WRITING_MARKER,
    KeyIndex,
    PartWriter,
    iter_jsonl,
    iter_turtle_chunks_text,
    key_digest,
    part_files,
)

TTL = '<https://ex.org/{n}> <http://schema.org/name> "{n}" .'


# -- journal -----------------------------------------------------------------------------------


def test_journal_filters_by_fingerprint_and_forgets_done_requests(tmp_path: Path) -> None:
    journal = RequestJournal(tmp_path / JOURNAL_FILE)
    assert journal.open() is StopKind.NEW
    first = journal.add(b"fp-a", lambda rid: f"a{rid}".encode())
    assert first == 1
    assert journal.add(b"fp-a", lambda rid: b"again") is None  # seen before
    unfiltered = [journal.add(None, lambda rid: f"u{rid}".encode()) for _ in range(2)]
    assert unfiltered == [2, 3]  # dont_filter requests are never filtered
    assert journal.add(b"fp-x", lambda rid: None) == 4  # unserializable: seen, not pending
    assert journal.add(b"fp-x", lambda rid: b"x") is None
    assert [rid for rid, _ in journal.pending()] == [1, 2, 3]
    journal.checkpoint([1, 3], pickle.dumps({"n": 1}))
    assert list(journal.pending()) == [(2, b"u2")]
    assert pickle.loads(journal.state() or b"") == {"n": 1}
    journal.mark_running()
    journal.close()

    again = RequestJournal(tmp_path / JOURNAL_FILE)
    assert again.open() is StopKind.UNCLEAN  # running, never closed cleanly
    assert again.add(None, lambda rid: b"new") == 5  # ids are never reused
    again.checkpoint([2, 5], None, clean=True)
    again.close()
    third = RequestJournal(tmp_path / JOURNAL_FILE)
    assert third.open() is StopKind.CLEAN
    assert third.pending_count() == 0 and third.state() is not None
    assert third.add(b"fp-a", lambda rid: b"a") is None  # the seen set survives
    third.close()


def test_journal_refuses_a_newer_schema(tmp_path: Path) -> None:
    journal = RequestJournal(tmp_path / JOURNAL_FILE)
    journal.open()
    journal.db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    journal.close()
    with pytest.raises(JournalError, match="version 99"):
        RequestJournal(tmp_path / JOURNAL_FILE).open()


# -- scheduler ---------------------------------------------------------------------------------


class ResumeSpider(Spider):
    name = "resume-test"

    def parse_page(self, response: Any) -> None:
        """A callback (requests are serialized by method name)."""


def make_scheduler(jobdir: Path | None, **settings: Any) -> tuple[JournalScheduler, Crawler]:
    """A scheduler opened on ``jobdir`` with a stand-in engine (nothing in flight)."""
    values = {
        "JOBDIR": str(jobdir) if jobdir else None,
        # the default, downloader-aware queue needs a real downloader
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
        **settings,
    }
    crawler = get_crawler(ResumeSpider, {k: v for k, v in values.items() if v is not None})
    crawler.spider = ResumeSpider.from_crawler(crawler)
    crawler.spider.state = {}  # type: ignore[attr-defined]
    crawler.engine = SimpleNamespace(  # type: ignore[assignment]
        downloader=SimpleNamespace(active=set()), scraper=SimpleNamespace(slot=Slot())
    )
    scheduler = JournalScheduler.from_crawler(crawler)
    scheduler._start_ticker = lambda: None  # type: ignore[method-assign]  # no reactor here
    scheduler.open(crawler.spider)
    return scheduler, crawler


def request(crawler: Crawler, n: int, **kwargs: Any) -> Request:
    spider = crawler.spider
    assert isinstance(spider, ResumeSpider)
    return Request(f"https://ex.org/page/{n}", callback=spider.parse_page, **kwargs)


def test_scheduler_filters_journals_and_marks_done(tmp_path: Path) -> None:
    scheduler, crawler = make_scheduler(tmp_path / "job")
    assert scheduler.journal is not None and scheduler.stop_kind is StopKind.NEW
    assert scheduler.enqueue_request(request(crawler, 1))
    assert not scheduler.enqueue_request(request(crawler, 1))  # duplicate
    assert scheduler.enqueue_request(request(crawler, 1, dont_filter=True))
    assert crawler.stats.get_value("dupefilter/filtered") == 1
    assert scheduler.journal.pending_count() == 2
    first = scheduler.next_request()
    assert first is not None and isinstance(first.meta[RESUME_ID_META], int)
    downloader, scraper = crawler.engine.downloader, crawler.engine.scraper  # type: ignore[union-attr]
    downloader.active.add(first)
    scheduler._try_checkpoint()
    assert scheduler.journal.pending_count() == 2  # still downloading
    downloader.active.clear()
    scraper.slot.active.add(first)  # its callback is running
    second = scheduler.next_request()
    assert second is not None  # handled at once (e.g. a retry was enqueued instead)
    scheduler._try_checkpoint()
    assert scheduler.journal.pending_count() == 2  # no checkpoint while a callback runs
    assert scheduler._checkpoint_wanted
    scraper.slot.active.clear()
    crawler.spider.state["pages"] = 1  # type: ignore[union-attr]
    assert scheduler.next_request() is None  # takes the wanted checkpoint first
    assert scheduler.journal.pending_count() == 0
    assert pickle.loads(scheduler.journal.state() or b"") == {"pages": 1}
    assert crawler.stats.get_value("resume/checkpoints") == 1
    assert not (tmp_path / "job" / "requests.seen").exists()  # the journal replaces it


def test_unclean_stop_restores_pending_requests_and_state(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    first, crawler = make_scheduler(jobdir)
    for n in range(4):
        first.enqueue_request(request(crawler, n, priority=n))
    done = first.next_request()  # highest priority: page 3
    assert done is not None
    crawler.spider.state["seen_pages"] = [3]  # type: ignore[union-attr]
    first._try_checkpoint()
    popped = first.next_request()  # page 2: in flight when the process dies
    crawler.engine.downloader.active.add(popped)  # type: ignore[union-attr]
    first._try_checkpoint()
    crawler.spider.state["seen_pages"] = [3, 2]  # type: ignore[union-attr]  # not checkpointed
    # SIGKILL: nothing is closed.

    second, crawler2 = make_scheduler(jobdir)
    assert second.stop_kind is StopKind.UNCLEAN
    restored = []
    while (req := second.next_request()) is not None:
        restored.append(req)
    assert [r.url for r in restored] == [f"https://ex.org/page/{n}" for n in (2, 1, 0)]
    assert restored[0].callback == crawler2.spider.parse_page  # type: ignore[union-attr]
    assert restored[0].meta[RESUME_ID_META] == popped.meta[RESUME_ID_META]  # type: ignore[union-attr]
    assert crawler2.stats.get_value("resume/requests_restored") == 3
    assert crawler2.stats.get_value("resume/unclean_resumes") == 1
    second._restore_state(crawler2.spider)  # type: ignore[arg-type]
    assert crawler2.spider.state == {"seen_pages": [3]}  # type: ignore[union-attr]
    assert not second.enqueue_request(request(crawler2, 3))  # still seen
    second.close("finished")
    third, _ = make_scheduler(jobdir)
    assert third.stop_kind is StopKind.CLEAN
    assert third.journal is not None and third.journal.pending_count() == 0


def test_clean_stop_keeps_scrapys_queue(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    first, crawler = make_scheduler(jobdir)
    first.enqueue_request(request(crawler, 1))
    first.enqueue_request(request(crawler, 2))
    first.close("shutdown")
    second, crawler = make_scheduler(jobdir)
    assert second.stop_kind is StopKind.CLEAN
    assert crawler.stats.get_value("resume/requests_restored") is None
    assert len(second) == 2  # from Scrapy's disk queue


@pytest.mark.parametrize(
    ("settings", "prepare"),
    [
        ({}, None),
        ({"RESUME_JOURNAL_ENABLED": False}, None),
        ({"DUPEFILTER_CLASS": "tests_custom.DupeFilter"}, None),
        ({}, "legacy"),
    ],
    ids=["no-jobdir", "disabled", "custom-dupefilter", "jobdir-without-journal"],
)
def test_journal_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any], prepare: str | None
) -> None:
    monkeypatch.setitem(
        sys.modules, "tests_custom", SimpleNamespace(DupeFilter=type("D", (RFPDupeFilter,), {}))
    )
    jobdir = None if not settings and prepare is None else tmp_path / "job"
    if prepare == "legacy":
        jobdir = tmp_path / "job"
        jobdir.mkdir()
        (jobdir / "requests.seen").write_bytes(b"\x00\x02ab")
    scheduler, crawler = make_scheduler(jobdir, **settings)
    assert scheduler.journal is None
    assert scheduler.enqueue_request(request(crawler, 1))
    assert not scheduler.enqueue_request(request(crawler, 1))
    if jobdir is not None:
        assert not (jobdir / JOURNAL_FILE).exists()


def test_engine_internals_the_scheduler_reads_exist() -> None:
    """``resume_inflight.in_flight`` reads these; a Scrapy upgrade renaming them fails here."""
    from scrapy.core.downloader import Downloader

    assert "self.active" in inspect.getsource(Downloader.__init__)
    assert "self.active.add(request)" in inspect.getsource(Downloader.fetch)
    slot = Slot()
    assert isinstance(slot.active, set) and hasattr(slot, "queue") and slot.is_idle()


# -- de-duplicating writers --------------------------------------------------------------------


def test_key_index() -> None:
    index = KeyIndex(key_digest(k) for k in ("a", "b", "a"))
    assert len(index) == 2
    assert key_digest("a") in index and key_digest("c") not in index
    index.add(key_digest("c"))
    assert key_digest("c") in index and "c" not in index


def _key(obj: dict[str, Any]) -> str | None:
    return str(obj.get("id")) if "id" in obj else None


def test_writer_skips_what_a_killed_process_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    killed = PartWriter(folder, "jsonl", part_records=2, dedupe=True, key_of=_key)
    for n in range(3):
        killed.write_line(json.dumps({"id": n}))
    assert killed._fh is not None
    killed._fh.write('{"id": 3, "tru')  # killed mid-write
    killed._fh.flush()
    assert (folder / WRITING_MARKER).exists()

    skipped: list[int] = []
    resumed = PartWriter(
        folder, "jsonl", 2, dedupe=True, key_of=_key, on_duplicate=lambda: skipped.append(1)
    )
    assert resumed.recovered
    written = [resumed.write_line(json.dumps({"id": n})) for n in (1, 3, 4, 3)]
    assert written == [False, True, True, False]
    assert resumed.duplicates_skipped == 2 == len(skipped)
    resumed.close()
    assert not (folder / WRITING_MARKER).exists()
    assert sorted(o["id"] for o in iter_jsonl(part_files(folder, "jsonl"))) == [0, 1, 2, 3, 4]

    # After a clean close nothing is repeated, so nothing is loaded or skipped ...
    later = PartWriter(folder, "jsonl", 2, dedupe=True, key_of=_key)
    assert not later.recovered and later.write_line(json.dumps({"id": 0}))
    later.close()
    # ... unless the source repeats work on resume (it re-reads dumps).
    rereads = PartWriter(folder, "jsonl", 2, dedupe=True, dedupe_existing=True, key_of=_key)
    assert not rereads.recovered
    assert not rereads.write_line(json.dumps({"id": 3}))
    assert rereads.write_line(json.dumps({"id": 5}))
    rereads.close()
    assert rereads.duplicates_skipped == 1


def test_turtle_writer_skips_by_record_iri(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    killed = PartWriter(folder, "ttl", part_records=10, dedupe=True)
    killed.write_turtle("https://ex.org/r/0", TTL.format(n=0))
    resumed = PartWriter(folder, "ttl", part_records=10, dedupe=True)
    assert not resumed.write_turtle("https://ex.org/r/0", TTL.format(n=0))
    assert resumed.write_turtle("https://ex.org/r/1", TTL.format(n=1))
    resumed.close()
    iris = [
        iri
        for part in part_files(folder, "ttl")
        for iri, _ in iter_turtle_chunks_text(part.read_text("utf-8"))
    ]
    assert iris == ["https://ex.org/r/0", "https://ex.org/r/1"]


def test_record_keys() -> None:
    raw = {"source": "hf", "kind": "model", "source_id": "a/b", "payload": {}}
    assert raw_record_key(raw) == "hf\x1fmodel\x1fa/b"
    assert raw_record_key({"source": "hf"}) is None
    assert jsonld_record_key({"@id": "https://ex.org/r/1"}) == "https://ex.org/r/1"
    assert jsonld_record_key({"@graph": []}) is None
    assert quarantine_key({"stage": "normalize", "record": raw}) == "normalize\x1f" + (
        "hf\x1fmodel\x1fa/b"
    )
    assert quarantine_key({"stage": "neo4j", "record": {"@id": "x"}}) == "neo4j\x1fx"
    assert quarantine_key({"record": raw}) is None


def test_store_pipeline_counts_skipped_duplicates(tmp_path: Path) -> None:
    crawler = get_crawler(Spider, {"DATA_DIR": str(tmp_path)})
    crawler.spider = Spider(name="test")
    crawler.spider.job_id = "job-1"  # type: ignore[attr-defined]
    crawler.stats.open_spider()
    record = RawRecord(
        source="hf", source_id="a/b", url="u", api_url="a", retrieved_at="t", payload={}
    )
    killed = RawStorePipeline.from_crawler(crawler)
    killed.writer("hf").write_line(json.dumps(record.to_dict()))  # then SIGKILL
    resumed = RawStorePipeline.from_crawler(crawler)
    asyncio.run(resumed.process_item(record))
    resumed.close_spider()
    assert crawler.stats.get_value("files/raw/duplicates_skipped") == 1
    assert len(list(iter_jsonl(part_files(tmp_path / "raw", "jsonl")))) == 1


def test_unclean_resume_names_the_load_command_for_configured_stores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jobdir = tmp_path / "job"
    first, crawler = make_scheduler(jobdir, NEO4J_URI="bolt://127.0.0.1:1")
    first.enqueue_request(request(crawler, 1))  # then SIGKILL
    caplog.set_level("WARNING", logger="mlentory_crawl.resume")
    second, crawler2 = make_scheduler(jobdir, NEO4J_URI="bolt://127.0.0.1:1", DATA_DIR="/srv/d")
    assert second.stop_kind is StopKind.UNCLEAN
    second._spider_opened(crawler2.spider)  # type: ignore[arg-type]
    messages = [r.getMessage() for r in caplog.records]
    assert any("Neo4j never received" in m for m in messages)
    assert any(
        "scrapy load --source resume-test --job '<job id>' --data-dir /srv/d" in m for m in messages
    )
    assert not any("Elasticsearch" in m for m in messages)  # not configured
