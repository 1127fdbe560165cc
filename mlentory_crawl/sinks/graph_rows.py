"""FAIR4ML record → Neo4j rows, grouped by shape (pure; no I/O).

A record becomes: the primary node's row (owned: properties replaced), rows for the other
nodes (enriched), one edge row per subject and relationship type listing the targets, the
record's own row, and per-subject keys for withdrawing relationships it no longer states.
:class:`GraphBatch` merges the rows of a batch and yields one statement per shape. The graph
model and the Cypher are in :mod:`mlentory_crawl.sinks.neo4j`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlentory_crawl.items.fair4ml import FAIR4MLRecord, Node
from mlentory_crawl.sinks.neo4j import (
    BASED_ON,
    CLASS_LABELS,
    CLEAN_GONE_SUBJECTS,
    CLEAN_SUBJECTS,
    EDGE_PROPERTIES,
    ROLE_LABELS,
    UPSERT_RECORDS,
    edge_query,
    language_iri,
    node_query,
    primary_query,
)

_SKIP = {"id", "type"}


@dataclass(frozen=True)
class _Plan:
    props: tuple[str, ...]
    edges: tuple[tuple[str, str, str, str | None], ...]  # name, type, relation, role label


_PLANS: dict[type[Node], _Plan] = {}


def _plan(cls: type[Node]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        names = [n for n in cls.model_fields if n not in _SKIP]
        plan = _Plan(
            props=tuple(n for n in names if n not in EDGE_PROPERTIES),
            edges=tuple(
                (n, EDGE_PROPERTIES[n], BASED_ON.get(n, ""), ROLE_LABELS.get(n))
                for n in names
                if n in EDGE_PROPERTIES
            ),
        )
        _PLANS[cls] = plan
    return plan


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    return value


def node_props(node: Node) -> dict[str, Any]:
    """The literal (and web-link) properties of a node; ``None`` and ``[]`` left out."""
    out: dict[str, Any] = {}
    for name in _plan(type(node)).props:
        value = getattr(node, name)
        if value is not None and value != []:
            out[name] = _plain(value)
    return out


@dataclass
class RecordRows:
    """One record as Neo4j rows (see :func:`record_rows`).

    ``edges`` holds ``(type, has_relation, row)`` with ``row = {s, record, ts[, relation]}``:
    one row per subject and type, listing the targets.
    """

    record: FAIR4MLRecord
    iri: str
    retrieved_at: str
    record_row: dict[str, Any]
    primary_labels: tuple[str, ...]
    primary_row: dict[str, Any]
    nodes: dict[str, tuple[set[str], dict[str, Any]]]
    edges: list[tuple[str, bool, dict[str, Any]]]
    subjects: list[dict[str, Any]]
    edge_count: int


def record_rows(record: FAIR4MLRecord, base_iri: str) -> RecordRows:
    """Turn a record into node, edge and cleanup rows (pure; no I/O)."""
    prov = record.provenance
    retrieved = prov.retrievedAt.isoformat()
    stamp = {"source": prov.source, "retrievedAt": retrieved, "jobId": prov.jobId}
    nodes: dict[str, tuple[set[str], dict[str, Any]]] = {}
    for node in record.graph:
        labels = set(CLASS_LABELS.get(node.type_name, ()))
        nodes[node.id] = (labels, node_props(node) | stamp)
    edges: list[tuple[str, bool, dict[str, Any]]] = []
    keys: dict[str, list[str]] = {}
    count = 0
    for node in record.graph:
        for name, rtype, relation, role in _plan(type(node)).edges:
            value = getattr(node, name)
            if not value:
                continue
            targets: list[str] = []
            for target in [value] if isinstance(value, str) else value:
                if name == "inLanguage":
                    code, target = target, language_iri(base_iri, target)
                    nodes.setdefault(target, (set(), {"code": code} | stamp))
                key = f"{rtype}|{relation}|{target}"
                subject_keys = keys.setdefault(node.id, [])
                if key in subject_keys:
                    continue
                subject_keys.append(key)
                targets.append(target)
                labels, _props = nodes.setdefault(target, (set(), dict(stamp)))
                if role:
                    labels.add(role)
            if targets:
                row = {"s": node.id, "record": record.id, "ts": targets}
                if relation:
                    row["relation"] = relation
                edges.append((rtype, bool(relation), row))
                count += len(targets)
    primary_labels, primary_props = nodes.pop(record.primaryTopic, (set(), {}))
    primary_props |= {"iri": record.primaryTopic, "record": record.id, "sourceId": prov.sourceId}
    subjects = sorted(s for s, k in keys.items() if k)
    props = {k: _plain(v) for k, v in prov if v is not None}
    props |= {"iri": record.id, "primaryTopic": record.primaryTopic, "subjects": subjects}
    return RecordRows(
        record=record,
        iri=record.id,
        retrieved_at=retrieved,
        record_row={"iri": record.id, "primary": record.primaryTopic, "props": props},
        primary_labels=tuple(sorted(primary_labels)),
        primary_row={"iri": record.primaryTopic, "props": primary_props},
        nodes=nodes,
        edges=edges,
        subjects=[{"subject": s, "record": record.id, "keys": keys[s]} for s in subjects],
        edge_count=count,
    )


@dataclass
class GraphBatch:
    """Rows of many records grouped by shape: one statement per shape (see :meth:`statements`).

    Records repeated in a batch keep their newest version (by ``retrievedAt``; ties: the
    last); nodes reached from several records become one row (labels united, the newest
    harvest's properties win).
    """

    records: list[RecordRows]
    #: IRIs of the records already in the graph (only they can have relationships to clean
    #: up); ``None``: assume all are.
    stored: set[str] | None = None

    def __post_init__(self) -> None:
        newest: dict[str, RecordRows] = {}
        for rows in self.records:
            held = newest.get(rows.iri)
            if held is None or rows.retrieved_at >= held.retrieved_at:
                newest[rows.iri] = rows
        self.records = list(newest.values())

    def statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(cypher, parameters)`` in execution order, all for one transaction."""
        known = [r for r in self.records if self.stored is None or r.iri in self.stored]
        if known:
            slim = [{"iri": r.iri, "subjects": r.record_row["props"]["subjects"]} for r in known]
            yield CLEAN_GONE_SUBJECTS, {"records": slim}
        subjects = [s for r in known for s in r.subjects]
        if subjects:
            yield CLEAN_SUBJECTS, {"rows": subjects}
        primaries: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        nodes: dict[str, tuple[set[str], dict[str, Any]]] = {}
        edges: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for rows in self.records:
            primaries.setdefault(rows.primary_labels, []).append(rows.primary_row)
            for iri, (labels, props) in rows.nodes.items():
                held = nodes.get(iri)
                if held is None:
                    nodes[iri] = (set(labels), props)
                    continue
                held[0].update(labels)
                if props["retrievedAt"] >= held[1]["retrievedAt"]:  # newest harvest wins
                    nodes[iri] = (held[0], props)
            for rtype, has_relation, row in rows.edges:
                edges.setdefault((rtype, has_relation), []).append(row)
        for shape, prows in sorted(primaries.items()):
            yield primary_query(shape), {"rows": prows}
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for iri, (labels, props) in nodes.items():
            shapes.setdefault(tuple(sorted(labels)), []).append({"iri": iri, "props": props})
        for shape, nrows in sorted(shapes.items()):
            yield node_query(shape), {"rows": nrows}
        yield UPSERT_RECORDS, {"records": [r.record_row for r in self.records]}
        for (rtype, has_relation), erows in sorted(edges.items()):
            yield edge_query(rtype, has_relation), {"rows": erows}

    def row_count(self) -> int:
        """Node + edge + record rows sent for this batch."""
        nodes = {iri for r in self.records for iri in r.nodes}
        return 2 * len(self.records) + len(nodes) + sum(r.edge_count for r in self.records)
