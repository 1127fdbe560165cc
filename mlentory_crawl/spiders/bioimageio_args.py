"""Arguments of the ``bioimageio`` spider (see :mod:`.bioimageio` for what each one does)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from mlentory_crawl.normalizers.bioimageio_parts import WORKSPACE
from mlentory_crawl.spiders.args import (
    SpiderArgs,
    parse_datetime_arg,
    parse_id_list,
    strip_comment,
)

TYPES = ("model", "dataset")
_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,127}$")
_DOI = re.compile(r"^10\.\d{4,9}/[^\s/]{1,100}$")
_ZOO_URL = re.compile(r"^https?://(?:www\.)?bioimage\.io/#/artifacts/")


def clean_id(raw: str) -> str:
    """One requested id as the index knows it: a nickname (or ``ws/alias``) or a lower-case DOI.

    Zoo URLs and the ``bioimage-io/`` workspace prefix are dropped; a ``#`` comment is cut
    (except in a URL, where ``#`` is part of the zoo's address).
    """
    item = raw.strip()
    if not item.startswith(("http://", "https://")):
        item = strip_comment(item)
    item = _ZOO_URL.sub("", item).strip("/")
    if item.startswith(WORKSPACE + "/"):
        item = item[len(WORKSPACE) + 1 :]
    return item.lower() if _DOI.match(item) else item


def _valid_id(item: str) -> bool:
    return bool(_DOI.match(item) or _ID.match(item))


def parse_ids(value: Any) -> tuple[str, ...] | None:
    """Parse ``ids``: comma-separated or ``@file``; each normalised to a nickname or DOI.

    Raises:
        ValueError: unreadable file, no id, or an id that is neither a zoo id nor a DOI.
    """
    return parse_id_list(
        value,
        _valid_id,
        "bioimage.io resource id",
        clean=clean_id,
        bare_path=False,
        empty="no resource id given",
    )


def parse_types(value: Any) -> tuple[str, ...]:
    """``model``, ``dataset`` or both (comma-separated).

    Raises:
        ValueError: any other type, or none.
    """
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    types = tuple(dict.fromkeys(str(t).strip().lower() for t in items if str(t).strip()))
    bad = [t for t in types if t not in TYPES]
    if bad or not types:
        raise ValueError(f"types must be model and/or dataset, got {','.join(bad) or 'nothing'}")
    return types


class BioImageIOArgs(SpiderArgs):
    """Arguments of the ``bioimageio`` spider (see :mod:`.bioimageio`)."""

    limit: int | None = Field(default=None, ge=1)
    types: tuple[str, ...] = ("model",)
    ids: tuple[str, ...] | None = None
    since: datetime | None = None

    @field_validator("types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> tuple[str, ...]:
        return parse_types(value)

    @field_validator("ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> tuple[str, ...] | None:
        return parse_ids(value)

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> datetime | None:
        return parse_datetime_arg(value)

    @model_validator(mode="after")
    def _ids_alone(self) -> Self:
        if self.ids is not None and self.since is not None:
            raise ValueError("ids cannot be combined with since")
        return self
