"""Replay server for recorded source responses (tests, demos, interruption drills).

``ReplayServer(root)`` serves a directory of recorded responses in the exact URL layout of
the recorded source (``huggingface.co``, ``openml.org``, static dumps, ...); see
:mod:`mlentory_crawl.replay.manifest` for the manifest format and ``python -m
mlentory_crawl.replay --help`` for the command line. Sample data ships under
``mlentory_crawl/replay/sample/<source>/``.
"""

from __future__ import annotations

from pathlib import Path

from mlentory_crawl.replay.manifest import ManifestError, Route
from mlentory_crawl.replay.server import LoggedRequest, ReplayServer

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
"""Where the packaged sample replay directories live (``SAMPLE_DIR / "huggingface"``)."""


def sample_root(source: str) -> Path:
    """The packaged sample replay directory of *source* (e.g. ``huggingface``).

    Raises:
        FileNotFoundError: there is no sample for that source.
    """
    root = SAMPLE_DIR / source
    if not (root / "routes.json").is_file():
        raise FileNotFoundError(f"no replay sample for {source!r} under {SAMPLE_DIR}")
    return root


__all__ = ["SAMPLE_DIR", "LoggedRequest", "ManifestError", "ReplayServer", "Route", "sample_root"]
