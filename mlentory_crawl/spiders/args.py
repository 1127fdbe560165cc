"""Spider arguments: the validated argument model every source spider builds on, and parsers.

Spider arguments arrive as strings (``scrapy crawl x -a limit=10`` or Scrapyd's
``schedule.json``); each spider declares a Pydantic model (a subclass of :class:`SpiderArgs`)
and gets the validated, typed values in ``self.args``. A bad value fails at spider
construction with one readable message (:class:`SpiderArgumentError`), before any request.
The parsers here are shared by the per-source argument models (``<source>_args.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


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


def strip_comment(item: str) -> str:
    """An ids-file line without its ``#`` comment, stripped."""
    return item.split("#", 1)[0].strip()


def _id_items(value: Any, bare_path: bool) -> list[str]:
    """The raw items of an ids argument: a list, ``@file`` lines, a file's lines or ``a,b,c``."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    path = Path(text[1:]).expanduser() if text.startswith("@") else Path(text)
    if text.startswith("@") or (bare_path and "," not in text and path.is_file()):
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read ids file {str(path)!r}: {exc.strerror}") from None
    return text.split(",")


def parse_id_list(
    value: Any,
    valid: Callable[[str], bool],
    what: str,
    *,
    clean: Callable[[str], str] = strip_comment,
    bare_path: bool = True,
    empty: str = "no id given",
) -> tuple[str, ...] | None:
    """Parse an ids argument: ``a,b,c``, ``@file`` or an existing file path (one id per line).

    Each item goes through ``clean`` (by default: ``#`` comments cut, blank items skipped);
    duplicates are dropped (order kept).

    Args:
        value: the argument (a string, or already a list/tuple).
        valid: tells whether one cleaned id is acceptable.
        what: the id kind, for error messages.
        clean: turns one raw item into an id (``""`` skips it).
        bare_path: also read a value naming an existing file without the ``@`` prefix.
        empty: the error message when no id is left.

    Raises:
        ValueError: unreadable file, no id at all, or an invalid id.
    """
    if value is None:
        return None
    ids: dict[str, None] = {}
    for raw in _id_items(value, bare_path):
        item = clean(raw)
        if not item:
            continue
        if not valid(item):
            raise ValueError(f"not a {what}: {item[:100]!r}")
        ids[item] = None
    if not ids:
        raise ValueError(empty)
    return tuple(ids)
