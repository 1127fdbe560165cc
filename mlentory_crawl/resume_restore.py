"""What the resume journal stores of a job, and how a job is put back after an unclean stop.

Used by :class:`mlentory_crawl.resume.JournalScheduler` (see :mod:`mlentory_crawl.resume`):

* the stored forms: a request is pickled as ``request.to_dict()`` (as Scrapy's disk queue
  does) with its journal id in ``request.meta["mlentory_resume_id"]``; ``spider.state`` is
  pickled as is;
* putting them back: requests with :func:`load_request`, ``spider.state`` with
  :func:`put_state`;
* :func:`has_scrapy_job_state`: whether a ``JOBDIR`` was started without the journal;
* :func:`stores_to_reload`: the stores, and the ``scrapy load`` command, that may miss
  records a killed run held in memory.

The pickles are the project's own files in ``JOBDIR``, trusted like Scrapy's pickled disk
queue and ``spider.state`` next to them.
"""

from __future__ import annotations

import pickle
import shlex
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.settings import BaseSettings
from scrapy.utils.request import request_from_dict

from mlentory_crawl.config import ConfigError, FilesConfig

RESUME_ID_META = "mlentory_resume_id"
"""``Request.meta`` key holding the request's journal id."""
SERIALIZATION_ERRORS = (ValueError, TypeError, AttributeError, pickle.PicklingError)
"""What :func:`dump_request` and :func:`dump_state` raise for what cannot be stored."""


def dump_request(request: Request, request_id: int, spider: Spider | None) -> bytes:
    """Tag ``request`` with its journal id and return its stored form.

    Raises:
        ValueError, TypeError, AttributeError, pickle.PicklingError: the request cannot be
            stored (e.g. its callback is not a spider method); it keeps its journal id.
    """
    request.meta[RESUME_ID_META] = request_id
    return pickle.dumps(request.to_dict(spider=spider), protocol=4)


def load_request(blob: bytes, request_id: int, spider: Spider) -> Request:
    """The request a stored form describes, tagged with its journal id.

    Raises:
        Exception: whatever unpickling or :func:`~scrapy.utils.request.request_from_dict`
            raise for a bad row (e.g. a callback the spider no longer has).
    """
    request = request_from_dict(pickle.loads(blob), spider=spider)  # noqa: S301 - see above
    request.meta[RESUME_ID_META] = request_id
    return request


def dump_state(state: Any) -> bytes:
    """The stored form of ``spider.state``.

    Raises:
        ValueError, TypeError, AttributeError, pickle.PicklingError: it cannot be pickled.
    """
    return pickle.dumps(state, protocol=4)


def load_state(blob: bytes | None) -> Any:
    """``spider.state`` from its stored form (``None`` for no stored state).

    Raises:
        pickle.UnpicklingError, EOFError: the stored form is damaged.
    """
    return pickle.loads(blob) if blob is not None else None  # noqa: S301 - see above


def put_state(spider: Spider, state: Any) -> None:
    """Make ``state`` the spider's ``spider.state`` (updating the dict in place if it is one)."""
    current = getattr(spider, "state", None)
    if isinstance(current, dict) and isinstance(state, dict):
        current.clear()
        current.update(state)
    else:
        spider.state = state  # type: ignore[attr-defined]


def has_scrapy_job_state(jobdir: Path) -> bool:
    """Whether ``jobdir`` holds state of a run made without the journal."""
    seen = jobdir / "requests.seen"
    queue = jobdir / "requests.queue"
    return (
        (seen.is_file() and seen.stat().st_size > 0)
        or (jobdir / "spider.state").is_file()
        or (queue.is_dir() and any(queue.iterdir()))
    )


def stores_to_reload(settings: BaseSettings, spider: Spider) -> tuple[list[str], str]:
    """The configured stores, and the ``scrapy load`` command that delivers this job to them.

    Returns:
        ``(store names, command)``; ``([], "")`` when no store is configured.
    """
    stores = [
        name
        for name, setting in (("Neo4j", "NEO4J_URI"), ("Elasticsearch", "ELASTICSEARCH_URL"))
        if settings.get(setting)
    ]
    if not stores:
        return [], ""
    try:
        data_dir = FilesConfig.from_settings(settings).data_dir.resolve()
    except ConfigError:
        data_dir = Path(str(settings.get("DATA_DIR") or "./data"))
    source = str(getattr(spider, "source", "") or spider.name)
    job = str(getattr(spider, "job_id", "") or "<job id>")
    command = shlex.join(
        ["scrapy", "load", "--source", source, "--job", job, "--data-dir", str(data_dir)]
    )
    return stores, command
