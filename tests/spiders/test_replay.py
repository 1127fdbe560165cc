"""Replay server: matching rules, times, default 404, templates, the CLI and the HF sample."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlentory_crawl.replay import ManifestError, ReplayServer, sample_root


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def write_root(tmp_path: Path, routes: Any, name: str = "routes.json") -> Path:
    (tmp_path / name).write_text(json.dumps(routes), encoding="utf-8")
    return tmp_path


def test_query_matching_subset_exact_absent_and_repeated_keys(tmp_path: Path) -> None:
    root = write_root(
        tmp_path,
        [
            {"path": "/api/models", "query": {"cursor": "abc"}, "body": "page 2"},
            {"path": "/api/models", "query": {"expand[]": ["b", "a"]}, "body": "expanded"},
            {"path": "/api/models", "query": {"cursor": None}, "body": "page 1"},
            {"path": "/exact", "query": {"x": "1"}, "query_match": "exact", "body": "exact"},
            {"path": "/any", "query": {"x": "*"}, "body": "has x"},
        ],
    )
    with ReplayServer(root) as srv:
        assert fetch(f"{srv.url}/api/models?limit=5")[2] == b"page 1"
        assert fetch(f"{srv.url}/api/models?limit=5&cursor=abc")[2] == b"page 2"
        assert fetch(f"{srv.url}/api/models?expand%5B%5D=a&expand%5B%5D=b&cursor=z")[2] == (
            b"expanded"
        )
        assert fetch(f"{srv.url}/api/models?expand[]=a&cursor=z")[0] == 404  # not all values
        assert fetch(f"{srv.url}/exact?x=1")[2] == b"exact"
        assert fetch(f"{srv.url}/exact?x=1&y=2")[0] == 404
        assert fetch(f"{srv.url}/any?x=")[2] == b"has x"
        assert fetch(f"{srv.url}/any")[0] == 404
        seen = [r.query for r in srv.requests]
    assert seen[2] == {"expand[]": ["a", "b"], "cursor": ["z"]}


def test_times_then_fall_through_for_429_then_success(tmp_path: Path) -> None:
    root = write_root(
        tmp_path,
        [
            {
                "path": "/p",
                "status": 429,
                "times": 1,
                "headers": {"Retry-After": "1", "RateLimit": '"api";r=0;t=1'},
            },
            {"path": "/p", "body": {"ok": True}},
        ],
    )
    with ReplayServer(root) as srv:
        status, headers, _ = fetch(f"{srv.url}/p")
        assert status == 429 and headers["Retry-After"] == "1"
        assert headers["RateLimit"] == '"api";r=0;t=1'
        status, headers, body = fetch(f"{srv.url}/p")
        assert (status, json.loads(body)) == (200, {"ok": True})
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert srv.count(path="/p") == 2 and srv.count(status=429) == 1
        srv.reset()
        assert fetch(f"{srv.url}/p")[0] == 429 and len(srv.requests) == 1


def test_unmatched_is_a_hub_style_404(tmp_path: Path) -> None:
    with ReplayServer(write_root(tmp_path, [])) as srv:
        status, headers, body = fetch(f"{srv.url}/nope/raw/main/README.md")
        assert (status, body) == (404, b"Entry not found")
        assert headers["X-Error-Code"] == "EntryNotFound"
        assert srv.requests[0].route == "<unmatched>"


def test_base_and_query_templates(tmp_path: Path) -> None:
    (tmp_path / "page.json").write_text('[{"next": "{base}/api/x"}]', encoding="utf-8")
    root = write_root(
        tmp_path,
        [
            {
                "path": "/list",
                "body_file": "page.json",
                "headers": {"Link": '<{base}/list?cursor=2>; rel="next"'},
            },
            {"path": "/old", "status": 307, "headers": {"Location": "/new{query}"}},
            {"path": "/raw", "body": "{base}", "template": False},
        ],
    )
    with ReplayServer(root) as srv:
        _, headers, body = fetch(f"{srv.url}/list")
        assert headers["Link"] == f'<{srv.url}/list?cursor=2>; rel="next"'
        assert json.loads(body) == [{"next": f"{srv.url}/api/x"}]
        assert fetch(f"{srv.url}/old?expand=a")[1]["Location"] == "/new?expand=a"
        assert fetch(f"{srv.url}/old")[1]["Location"] == "/new"
        assert fetch(f"{srv.url}/raw")[2] == b"{base}"


def test_methods_static_dirs_and_includes(tmp_path: Path) -> None:
    (tmp_path / "files" / "sub").mkdir(parents=True)
    (tmp_path / "files" / "sub" / "a.md").write_text("# hi", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    write_root(tmp_path, [{"path": "/base", "body": "from base"}], "routes.json")
    root = write_root(
        tmp_path,
        {"include": ["routes.json"], "routes": [
            {"path_prefix": "/static/", "dir": "files"},
            {"method": "POST", "path": "/post", "status": 201, "body": "made"},
        ]},
        "routes-extra.json",
    )  # fmt: skip
    with ReplayServer(root, scenario="extra") as srv:
        status, headers, body = fetch(f"{srv.url}/static/sub/a.md")
        assert (status, body) == (200, b"# hi")
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert fetch(f"{srv.url}/static/../secret.txt")[0] == 404
        assert fetch(f"{srv.url}/static/%2E%2E/secret.txt")[0] == 404
        assert fetch(f"{srv.url}/base")[2] == b"from base"
        assert fetch(f"{srv.url}/post", method="POST")[0] == 201
        assert fetch(f"{srv.url}/post")[0] == 404
        status, _, body = fetch(f"{srv.url}/base", method="HEAD")
        assert (status, body) == (200, b"")


def test_manifest_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="unknown keys"):
        ReplayServer(write_root(tmp_path, [{"path": "/x", "bodyfile": "a"}]))
    with pytest.raises(ManifestError, match="not found"):
        ReplayServer(write_root(tmp_path, [{"path": "/x", "body_file": "missing.json"}]))
    with pytest.raises(ManifestError, match="path"):
        ReplayServer(write_root(tmp_path, [{"body": "x"}]))
    with pytest.raises(ManifestError, match="cannot read"):
        ReplayServer(tmp_path, scenario="nope")


def test_delay_slows_every_answer(tmp_path: Path) -> None:
    with ReplayServer(write_root(tmp_path, [{"path": "/x", "body": "x"}]), delay=0.3) as srv:
        began = time.monotonic()
        fetch(f"{srv.url}/x")
        assert time.monotonic() - began >= 0.3


def test_huggingface_sample_serves_the_hub_layout() -> None:
    with ReplayServer(sample_root("huggingface")) as srv:
        status, headers, body = fetch(f"{srv.url}/api/models?limit=500&expand=author")
        assert status == 200 and len(json.loads(body)) == 5
        assert headers["Link"].startswith(f"<{srv.url}/api/models?")
        status, headers, _ = fetch(f"{srv.url}/api/models/fjord-sentiment?expand=tags")
        assert status == 307
        assert headers["Location"] == "/api/models/fjordlab/fjord-sentiment-xlm?expand=tags"
        assert fetch(f"{srv.url}/api/models/nordlicht-ai/nordlicht-internal-13b")[0] == 401
        status, headers, _ = fetch(f"{srv.url}/api/models/quokka-research/does-not-exist")
        assert status == 404 and headers["X-Error-Code"] == "RepoNotFound"
        status, _, body = fetch(f"{srv.url}/quokka-research/quokka-tiny-ocr/raw/main/README.md")
        assert (status, body) == (404, b"Entry not found")
        card = fetch(f"{srv.url}/nordlicht-ai/nordlicht-gemma-2b-sv/raw/main/README.md")[2]
        assert "språkmodell" in card.decode("utf-8")
    with ReplayServer(sample_root("huggingface"), scenario="429") as srv:
        assert fetch(f"{srv.url}/api/models?limit=500")[0] == 429
        assert fetch(f"{srv.url}/api/models?limit=500")[0] == 200


def test_command_line_prints_the_base_url(tmp_path: Path) -> None:
    root = write_root(tmp_path, [{"path": "/x", "body": "cli"}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlentory_crawl.replay", "--root", str(root), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert fetch(f"{url}/x")[2] == b"cli"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
