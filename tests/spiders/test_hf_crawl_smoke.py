"""End-to-end: ``scrapy crawl huggingface`` in a subprocess against the packaged replay sample.

Item pipelines and project extensions are switched off (``-s ITEM_PIPELINES={}``,
``-s EXTENSIONS={}``) so this checks the spider, the middlewares and the replay server only;
Scrapy's own extensions (JOBDIR state, stats) stay on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlentory_crawl.replay import ReplayServer, sample_root

pytestmark = pytest.mark.slow

MODELS = 13
_STAT_LINE = re.compile(r"^\s*[{ ]?'(?P<key>[^']+)':\s*(?P<value>[-\d.]+|'[^']*'),?\}?\s*$")


def crawl(tmp_path: Path, endpoint: str, *args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the crawl; return the feed items and the numeric/string stats from the log."""
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": "mlentory_crawl.settings",
        "HF_ENDPOINT": endpoint,
        "DATA_DIR": str(tmp_path / "data"),
        "HF_TOKEN": "hf_smoke_token_never_logged",
    }
    env.pop("JOB_ID", None)
    log = tmp_path / "crawl.log"
    cmd = [
        sys.executable, "-m", "scrapy", "crawl", "huggingface",
        "-O", "items.jsonl",
        "-s", "ITEM_PIPELINES={}", "-s", "EXTENSIONS={}",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO",
        "-s", f"LOG_FILE={log}",
        *args,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    assert proc.returncode == 0, proc.stderr[-3000:] + text[-3000:]
    assert "hf_smoke_token_never_logged" not in text + proc.stderr
    stats: dict[str, Any] = {}
    dump = text.split("Dumping Scrapy stats:", 1)[1] if "Dumping Scrapy stats:" in text else ""
    for line in dump.splitlines():
        match = _STAT_LINE.match(line)
        if match:
            value = match.group("value")
            stats[match.group("key")] = value.strip("'") if value.startswith("'") else float(value)
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    return items, stats


def test_full_walk_with_cards_and_jobdir(tmp_path: Path) -> None:
    with ReplayServer(sample_root("huggingface")) as srv:
        items, stats = crawl(tmp_path, srv.url, "-s", f"JOBDIR={tmp_path / 'job'}")
        card_requests = [r for r in srv.requests if r.path.endswith("/raw/main/README.md")]
        list_requests = [r for r in srv.requests if r.path == "/api/models"]
        auth = {r.headers.get("Authorization") for r in srv.requests}
    assert len(items) == MODELS == len({i["source_id"] for i in items})
    assert len(card_requests) == MODELS and len(list_requests) == 3  # the request budget
    assert auth == {"Bearer hf_smoke_token_never_logged"}  # same origin as HF_ENDPOINT
    statuses = sorted(i["attachments"]["card"]["status"] for i in items)
    assert statuses == [200] * (MODELS - 1) + [404]
    assert all(i["url"] == f"https://huggingface.co/{i['source_id']}" for i in items)
    assert all(i["api_url"].startswith(srv.url) for i in items)
    assert len({i["job_id"] for i in items}) == 1
    assert stats["finish_reason"] == "finished"
    assert stats.get("scheduler/unserializable", 0) == 0
    assert stats["scheduler/enqueued/disk"] > 0
    assert stats["source/huggingface/pages"] == 3
    assert stats["source/huggingface/models"] == MODELS
    assert stats["source/huggingface/link_rewrites"] == 1
    assert stats["source/huggingface/cards/404"] == 1


def test_rate_limited_first_page_is_retried(tmp_path: Path) -> None:
    with ReplayServer(sample_root("huggingface"), scenario="429") as srv:
        items, stats = crawl(tmp_path, srv.url, "-a", "cards=false")
        first = [r.status for r in srv.requests if r.path == "/api/models"][:2]
    assert first == [429, 200]
    assert len(items) == MODELS
    assert stats["http/ratelimit/waits"] == 1 and stats["http/retry/429"] == 1
    assert stats["http/ratelimit/wait_seconds"] == pytest.approx(2.0)  # t=1 → 1 + 1 s
    assert stats["finish_reason"] == "finished"


def test_server_errors_back_off_then_continue(tmp_path: Path) -> None:
    with ReplayServer(sample_root("huggingface"), scenario="503") as srv:
        items, stats = crawl(tmp_path, srv.url, "-a", "cards=no", "-s", "RETRY_BACKOFF_BASE=0.2")
        statuses = [r.status for r in srv.requests if r.path == "/api/models"]
    assert statuses == [200, 503, 503, 200, 200]
    assert len(items) == MODELS and stats["http/retry/503"] == 2
    assert stats["http/backoff/wait_seconds"] == pytest.approx(0.6, abs=0.2)  # 0.2 + 0.4, ±25 %


def test_ids_and_limit(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "lumen-labs/lumen-7b\nfjord-sentiment\nnordlicht-ai/nordlicht-internal-13b\n"
        "quokka-research/does-not-exist\n",
        encoding="utf-8",
    )
    with ReplayServer(sample_root("huggingface")) as srv:
        items, stats = crawl(tmp_path, srv.url, "-a", f"ids=@{ids}")
    assert sorted(i["source_id"] for i in items) == [
        "fjordlab/fjord-sentiment-xlm", "lumen-labs/lumen-7b",
    ]  # fmt: skip
    assert stats["source/huggingface/models/unauthorized"] == 1
    assert stats["source/huggingface/models/not_found"] == 1
    assert stats["source/huggingface/models/renamed"] == 1

    with ReplayServer(sample_root("huggingface")) as srv:
        items, stats = crawl(tmp_path, srv.url, "-a", "limit=7")
        list_requests = [r for r in srv.requests if r.path == "/api/models"]
    assert len(items) == 7 and len(list_requests) == 2
    assert stats["finish_reason"] == "limit"
