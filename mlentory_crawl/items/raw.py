"""The raw item every spider yields: exactly what the source said, plus where and when."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Attachment:
    """A secondary document fetched for a record (e.g. the model card).

    ``status`` is the HTTP status (404 for a missing card is data, not an error);
    ``text`` is ``None`` when nothing usable came back.
    """

    url: str
    status: int
    text: str | None = None
    content_type: str | None = None


@dataclass
class RawRecord:
    """One record as harvested, before any interpretation.

    Attributes:
        source: source name (``huggingface``, ``openml``, ...), selects the normalizer.
        source_id: the id at the source (``owner/name``, a run id, ...).
        url: the canonical human page of the record.
        api_url: the URL the payload came from.
        retrieved_at: ISO-8601 UTC timestamp of the fetch.
        payload: the parsed, untouched response body (or this record's part of a list page).
        kind: which kind of source object this is (``model``, ``run``, ``flow``, ``dataset``, ...).
        attachments: secondary documents by role (``card``, ``rdf``, ...).
        job_id: the crawl job that produced it.
    """

    source: str
    source_id: str
    url: str
    api_url: str
    retrieved_at: str
    payload: Any
    kind: str = "model"
    attachments: dict[str, Attachment] = field(default_factory=dict)
    job_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the line written by the raw store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RawRecord:
        """Rebuild a record from :meth:`to_dict` output (for replays and tests)."""
        attachments = {k: Attachment(**v) for k, v in (data.get("attachments") or {}).items()}
        return cls(**{**data, "attachments": attachments})

    def payload_sha256(self) -> str:
        """SHA-256 of the canonical JSON of payload + attachment texts (change detection)."""
        canon = json.dumps(
            [self.payload, {k: a.text for k, a in sorted(self.attachments.items())}],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass
class NormalizedItem:
    """What flows after the normalize pipeline: the FAIR4ML record and the raw it came from."""

    record: Any  # FAIR4MLRecord; typed loosely so Scrapy's item adapters stay simple
    raw: RawRecord | None = None
