"""Build a :class:`FAIR4MLRecord` node by node, merging repeated references to one IRI."""

from __future__ import annotations

from typing import Any, TypeVar

from mlentory_crawl import __version__
from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord, Node, Provenance
from mlentory_crawl.items.raw import RawRecord

N = TypeVar("N", bound=Node)


class RecordBuilder:
    """Collects the nodes of one record; the same IRI added twice is merged, not duplicated."""

    def __init__(self, raw: RawRecord, minter: Minter) -> None:
        self.raw = raw
        self.minter = minter
        self._nodes: dict[str, Node] = {}
        self.notes: list[str] = []
        self.fetched: list[str] = [raw.api_url]

    def add(self, node: N) -> N:
        """Add ``node`` (or merge it into the node already held under its IRI) and return it."""
        held = self._nodes.get(node.id)
        if held is None:
            self._nodes[node.id] = node
            return node
        if type(held) is type(node):
            held.merge(node)
        return held  # type: ignore[return-value]

    def get(self, iri: str) -> Node | None:
        """The node held under ``iri``."""
        return self._nodes.get(iri)

    def note(self, text: str) -> None:
        """Record a data-quality note (becomes stat ``fair4ml/<text>`` and provenance)."""
        if text not in self.notes:
            self.notes.append(text)

    def build(self, primary: Node, spider: str | None = None, **extra: Any) -> FAIR4MLRecord:
        """Assemble the record; ``primary`` comes first in the graph."""
        self.add(primary)
        ordered = [self._nodes[primary.id]] + [
            n for iri, n in self._nodes.items() if iri != primary.id
        ]
        raw = self.raw
        provenance = Provenance(
            source=raw.source,
            sourceId=raw.source_id,
            url=primary.id,
            apiUrl=raw.api_url,
            fetchedUrls=self.fetched,
            retrievedAt=raw.retrieved_at,
            spider=spider or raw.source,
            crawlerVersion=__version__,
            jobId=raw.job_id or "unknown",
            payloadSha256=raw.payload_sha256(),
            notes=self.notes,
            **extra,
        )
        return FAIR4MLRecord(
            id=self.minter.record(raw.source, f"{raw.kind}:{raw.source_id}"),
            primaryTopic=primary.id,
            graph=ordered,
            provenance=provenance,
        )
