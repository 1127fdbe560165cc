"""Arguments of the ``huggingface`` spider (see :mod:`.huggingface` for what each one does)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from mlentory_crawl.spiders.args import SpiderArgs, parse_datetime_arg, parse_id_list

_REPO_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,95})?$")


def is_repo_id(value: Any) -> bool:
    """Whether ``value`` looks like a Hub repo id (``owner/name`` or a legacy bare ``name``)."""
    return isinstance(value, str) and bool(_REPO_ID.match(value)) and ".." not in value


def parse_ids(value: Any) -> tuple[str, ...] | None:
    """Parse the ``ids`` argument (see :func:`~mlentory_crawl.spiders.args.parse_id_list`).

    Raises:
        ValueError: unreadable file, no id, or an id that is not ``owner/name``-shaped.
    """
    return parse_id_list(value, is_repo_id, "HuggingFace repo id")


class HuggingFaceArgs(SpiderArgs):
    """Arguments of the ``huggingface`` spider (see :mod:`.huggingface`)."""

    limit: int | None = Field(default=None, ge=1)
    since: datetime | None = None
    author: str | None = Field(default=None, min_length=1, max_length=96)
    search: str | None = Field(default=None, min_length=1, max_length=200)
    ids: tuple[str, ...] | None = None
    cards: bool = True

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> datetime | None:
        return parse_datetime_arg(value)

    @field_validator("ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> tuple[str, ...] | None:
        return parse_ids(value)

    @model_validator(mode="after")
    def _ids_alone(self) -> Self:
        if self.ids is not None:
            clash = [n for n in ("author", "search", "since") if getattr(self, n) is not None]
            if clash:
                raise ValueError(f"ids cannot be combined with {', '.join(clash)}")
        return self
