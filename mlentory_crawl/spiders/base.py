"""A small base for source spiders: validated arguments, a job id, and RawRecord building.

Spider arguments arrive as strings (``scrapy crawl x -a limit=10`` or Scrapyd's
``schedule.json``); each spider declares a Pydantic model (a subclass of :class:`SpiderArgs`)
and gets the validated, typed values in ``self.args``. A bad value fails at spider
construction with one readable message (:class:`SpiderArgumentError`), before any request.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scrapy import Spider
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.utils.misc import load_object

from mlentory_crawl.items.raw import Attachment, RawRecord

logger = logging.getLogger(__name__)

STATE_JOB_ID_KEY = "job_id"
"""Key of the job id in ``spider.state`` (persisted by Scrapy in ``JOBDIR/spider.state``)."""


JOB_ID_FILE = "job_id"
"""File in ``JOBDIR`` that keeps the job id (survives a SIGKILL, unlike ``spider.state``)."""


def _read_small(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()[:200]
    except (FileNotFoundError, NotADirectoryError):
        return ""


class SpiderArgumentError(ValueError):
    """A spider argument has a value the spider cannot use (raised at spider construction)."""


class SpiderArgs(BaseModel):
    """Base of every spider's argument model.

    Unknown arguments are rejected (a typo such as ``-a limt=5`` must not silently crawl
    everything). Scrapyd adds ``_job`` (its job id) and sometimes ``_version`` to the
    arguments; both are accepted here.

    Attributes:
        job: the Scrapyd job id (``-a _job=...``), used as the crawl job id.
        egg_version: the Scrapyd project version (``-a _version=...``), informational.
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        populate_by_name=True,
        frozen=True,
    )

    job: str | None = Field(default=None, alias="_job", min_length=1, max_length=200)
    egg_version: str | None = Field(default=None, alias="_version", max_length=200)


def format_validation_error(spider_name: str, exc: ValidationError) -> str:
    """Turn a Pydantic error into one line per bad argument, naming the argument.

    Args:
        spider_name: used as the message prefix.
        exc: the validation error of the argument model.

    Returns:
        A message such as ``huggingface: invalid argument 'limit': ... (got '0')``.
    """
    lines = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(part) for part in err.get("loc", ())) or "<arguments>"
        got = err.get("input")
        if err.get("type") == "extra_forbidden":
            lines.append(f"unknown argument {name!r}")
        elif isinstance(got, dict):
            lines.append(f"invalid arguments: {err.get('msg')}")
        else:
            lines.append(f"invalid argument {name!r}: {err.get('msg')} (got {got!r})")
    return f"{spider_name}: " + "; ".join(lines)


def utc_now_iso() -> str:
    """The current UTC time as ISO-8601 with a ``Z`` suffix (millisecond precision)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    """A fresh job id: UTC timestamp plus a short random suffix (``20260101T120000Z-3f9a1c``)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def parse_datetime_arg(value: Any) -> datetime | None:
    """Parse an ISO date or datetime argument into an aware UTC datetime.

    ``2025-01-31`` means midnight UTC; a naive datetime is taken as UTC; a ``Z`` suffix is
    accepted.

    Raises:
        ValueError: the value is not an ISO-8601 date or datetime.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                "expected an ISO-8601 date or datetime, e.g. 2025-01-31 or 2025-01-31T12:00:00Z"
            ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def merge_component_setting(
    settings: BaseSettings, name: str, component: str, order: int | None
) -> None:
    """Add *component* to a component-priority dict setting, merging, at ``spider`` priority.

    For ``update_settings``: a component already listed (even mapped to ``None`` to disable
    it) is left alone. Use this instead of ``set_in_component_priority_dict``/``setdefault_…``:
    those keep the setting's current priority (``project``), and ``scrapy crawl`` in Scrapy
    2.19 re-applies the process settings onto the crawler's at equal priority, silently
    dropping the addition.

    Args:
        settings: the crawler settings passed to ``update_settings``.
        name: e.g. ``DOWNLOADER_MIDDLEWARES``.
        component: import path of the component.
        order: its order value.
    """
    current = settings.getdict(name)
    wanted = load_object(component)
    if any((load_object(k) if isinstance(k, str) else k) is wanted for k in current):
        return
    priority = max(SETTINGS_PRIORITIES["spider"], settings.getpriority(name) or 0)
    settings.set(name, {**current, component: order}, priority=priority)


def parse_id_list(value: Any, valid: Callable[[str], bool], what: str) -> tuple[str, ...] | None:
    """Parse an ids argument: ``a,b,c``, ``@file`` or an existing file path (one id per line).

    Blank lines and ``#`` comments are skipped, duplicates dropped (order kept).

    Args:
        value: the argument (a string, or already a list/tuple).
        valid: tells whether one id is acceptable.
        what: the id kind, for error messages.

    Raises:
        ValueError: unreadable file, no id at all, or an invalid id.
    """
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        path = Path(text[1:]).expanduser() if text.startswith("@") else Path(text)
        if text.startswith("@") or ("," not in text and path.is_file()):
            try:
                items = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ValueError(f"cannot read ids file {str(path)!r}: {exc.strerror}") from None
        else:
            items = text.split(",")
    ids: dict[str, None] = {}
    for raw in items:
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        if not valid(item):
            raise ValueError(f"not a {what}: {item!r}")
        ids[item] = None
    if not ids:
        raise ValueError("no id given")
    return tuple(ids)


_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LINK_VALUE = re.compile(
    r"\s*<(?P<url>[^>]*)>(?P<params>(?:\s*;\s*[^;,\"]*(?:" + _QUOTED + r")?)*)"
)
_LINK_PARAM = re.compile(
    r";\s*(?P<key>[^=;,\s]+)\s*(?:=\s*(?:\"(?P<q>(?:[^\"\\]|\\.)*)\"|(?P<t>[^;,\s]*)))?"
)


def parse_link_header(values: Iterable[str | bytes]) -> dict[str, str]:
    """Parse RFC 8288 ``Link`` header values into ``{rel: url}`` (first link per rel wins).

    Handles several links per header, several headers, quoted/unquoted and multi-valued
    ``rel`` (``rel="next last"``) and commas inside ``<…>``. URLs are returned as written
    (resolve relative ones against the response URL).
    """
    links: dict[str, str] = {}
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        pos = 0
        while pos < len(text):
            match = _LINK_VALUE.match(text, pos)
            if not match:
                nxt = text.find("<", pos + 1)
                if nxt < 0:
                    break
                pos = nxt
                continue
            for param in _LINK_PARAM.finditer(match.group("params")):
                if param.group("key").lower() == "rel":
                    rel = param.group("q") if param.group("q") is not None else param.group("t")
                    for name in (rel or "").lower().split():
                        links.setdefault(name, match.group("url").strip())
            pos = match.end()
            comma = text.find(",", pos)
            if comma < 0:
                break
            pos = comma + 1
    return links


def on_endpoint(url: str, endpoint: str) -> str:
    """Move an absolute URL onto *endpoint*'s origin (and path prefix), keeping path and query.

    Sources return absolute links to their public host; when the crawl runs against a
    replay server or mirror (``<SOURCE>_ENDPOINT``), following them verbatim would leave it.
    A URL already on the endpoint's origin is returned unchanged.
    """
    parts, base = urlsplit(url), urlsplit(endpoint)
    if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
        return url
    prefix = base.path.rstrip("/")
    path = parts.path if parts.path.startswith(prefix + "/") else prefix + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


class BaseSourceSpider(Spider):
    """Base of the source spiders.

    Subclasses set ``name``, ``source`` and ``args_model``; the validated arguments are in
    ``self.args``. Raw argument strings are *not* copied onto the spider as attributes (as
    plain :class:`scrapy.Spider` does), so nothing unvalidated can change behaviour.

    The job id (``self.job_id``) is, in order of preference: the id already stored by this
    ``JOBDIR`` (``self.state``, or ``JOBDIR/job_id``), so a resumed job keeps its id;
    Scrapyd's ``_job`` argument; the ``JOB_ID`` or ``SCRAPY_JOB`` environment variable; or a
    fresh ``<UTC timestamp>-<random>``. With ``JOBDIR`` the chosen id is stored in both.
    """

    source: ClassVar[str] = ""
    args_model: ClassVar[type[SpiderArgs]] = SpiderArgs

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name)
        try:
            self.args: SpiderArgs = self.args_model.model_validate(kwargs)
        except ValidationError as exc:
            raise SpiderArgumentError(format_validation_error(self.name, exc)) from None
        self._job_id: str | None = None

    @property
    def job_id(self) -> str:
        """The crawl job id, stable across ``JOBDIR`` resumes (see the class docstring).

        With ``JOBDIR`` the id is also written to ``JOBDIR/job_id`` the first time it is
        needed (a few bytes, once), so a resume after a SIGKILL, when Scrapy could not save
        ``spider.state``, keeps it too.
        """
        if self._job_id is not None:
            return self._job_id
        state = getattr(self, "state", None)
        state = state if isinstance(state, dict) else None
        id_file = self._job_id_file()
        stored = _read_small(id_file) if id_file is not None else ""
        job_id = str(
            (state or {}).get(STATE_JOB_ID_KEY)
            or stored
            or self.args.job
            or os.environ.get("JOB_ID", "").strip()
            or os.environ.get("SCRAPY_JOB", "").strip()
            or new_job_id()
        )
        if id_file is not None and stored != job_id:
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(job_id + "\n", encoding="utf-8")
        if state is not None:
            state[STATE_JOB_ID_KEY] = job_id
        self._job_id = job_id
        return job_id

    def _job_id_file(self) -> Path | None:
        crawler = getattr(self, "crawler", None)
        jobdir = crawler.settings.get("JOBDIR") if crawler is not None else None
        return Path(str(jobdir)) / JOB_ID_FILE if jobdir else None

    def make_record(
        self,
        *,
        source_id: str,
        url: str,
        api_url: str,
        payload: Any,
        kind: str = "model",
        attachments: dict[str, Attachment] | None = None,
        retrieved_at: str | None = None,
    ) -> RawRecord:
        """Build a :class:`RawRecord` for this spider's source and job.

        Args:
            source_id: the id at the source.
            url: the canonical public page of the record (never a mirror/replay URL).
            api_url: the URL the payload was actually fetched from.
            payload: the untouched parsed body (or this record's part of a list page).
            kind: the kind of source object.
            attachments: secondary documents by role.
            retrieved_at: ISO UTC time of the fetch; defaults to now.
        """
        return RawRecord(
            source=self.source,
            source_id=source_id,
            url=url,
            api_url=api_url,
            retrieved_at=retrieved_at or utc_now_iso(),
            payload=payload,
            kind=kind,
            attachments=dict(attachments or {}),
            job_id=self.job_id,
        )
