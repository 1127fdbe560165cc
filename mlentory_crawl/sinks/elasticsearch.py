"""Elasticsearch: typed config, the index template (explicit mappings) and the document builder.

One document per model (the record's primary ``MLModel``), ``_id`` = SHA-1 of its IRI. Fields
are generated from :data:`~mlentory_crawl.items.vocab.TERMS` and keep the FAIR4ML property
names (``mlTask``, ``license``, ``inLanguage``, ``softwareRequirements``, ...): literal terms map
by kind (text with a ``.keyword`` sub-field, date, long, double, boolean); relationship terms
become ``{iri, name, code}`` objects with the target's name resolved from the record. A few
views gather several FAIR4ML properties, each of which then appears only there: ``datasets``
(``role`` = trainedOn/testedOn/validatedOn/evaluatedOn), ``baseModels`` (``relation`` =
fineTunedFrom/isBasedOn/finetune/adapter/quantized/merge), ``papers`` (``role`` =
referencePublication/citation) and the nested ``evaluations`` (one entry per metric value).

Only core-server features are used (standard analyzer, keyword, numeric, date, nested), so the
index works on the bare distribution. :func:`bulk_lines` serialises a document once, with
orjson, into the two NDJSON lines of its bulk action. The client is
:mod:`mlentory_crawl.sinks.es_client`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from scrapy.settings import BaseSettings

from mlentory_crawl.config import ConfigError
from mlentory_crawl.identity import sha1_hex
from mlentory_crawl.items.fair4ml import DefinedTerm, FAIR4MLRecord, MLModel, Node
from mlentory_crawl.items.vocab import TERMS
from mlentory_crawl.sinks.neo4j import BASED_ON, LINK_PROPERTIES
from mlentory_crawl.sinks.retry import number_setting, redact_url

_INDEX_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,200}$")
_INTERVAL_RE = re.compile(r"^(-1|[1-9][0-9]{0,6}(ms|s|m|h))$")


@dataclass(frozen=True)
class EsConfig:
    """Elasticsearch settings, read once and validated (``ELASTICSEARCH_*``).

    Attributes:
        hosts: node URLs (``ELASTICSEARCH_URL``, comma-separated for several).
        api_key: API key (never logged).
        user: basic-auth user (with ``password``).
        password: never logged, never in ``repr``.
        alias: the alias every read and write goes through (``ELASTICSEARCH_INDEX``); the
            concrete indices are ``<alias>-<timestamp>``.
        batch_size: documents per bulk request (``ELASTICSEARCH_BATCH_SIZE``).
        max_bulk_bytes: bytes per bulk request (``ELASTICSEARCH_MAX_BULK_BYTES``).
        flush_interval: seconds between timed flushes (``ELASTICSEARCH_FLUSH_INTERVAL``).
        connect_timeout: how long to wait for the cluster at start.
        retry_seconds: retry budget of one batch before it counts as unsent.
        request_timeout: seconds per HTTP request.
        shards: primary shards of a new index.
        replicas: replicas of a new index (0 on a single node).
        refresh_interval: how often new documents become searchable while a crawl writes
            (``ELASTICSEARCH_REFRESH_INTERVAL``, default ``30s``; ``-1``: only at close).
            Fewer refreshes mean fewer small segments to write and merge; a crawl refreshes
            explicitly when it closes either way.
    """

    hosts: tuple[str, ...] = field(repr=False)  # may hold user:password@
    api_key: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    alias: str
    batch_size: int
    max_bulk_bytes: int
    flush_interval: float
    connect_timeout: float
    retry_seconds: float
    request_timeout: float
    shards: int
    replicas: int
    refresh_interval: str = "30s"

    @property
    def safe_url(self) -> str:
        """The node URLs for messages (credentials removed)."""
        return ", ".join(redact_url(h) for h in self.hosts)

    @classmethod
    def enabled(cls, settings: BaseSettings) -> bool:
        """True when ``ELASTICSEARCH_URL`` is set."""
        return bool(str(settings.get("ELASTICSEARCH_URL") or "").strip())

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> EsConfig:
        """Read and validate the Elasticsearch settings.

        Raises:
            ConfigError: a missing or malformed URL, an invalid index/alias name, or a
                number out of range.
        """
        hosts = tuple(h.strip() for h in str(settings.get("ELASTICSEARCH_URL") or "").split(","))
        hosts = tuple(h for h in hosts if h)
        if not hosts:
            raise ConfigError("ELASTICSEARCH_URL is not set (e.g. http://127.0.0.1:9200)")
        for host in hosts:
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"ELASTICSEARCH_URL must be http(s)://host:port, got {redact_url(host)!r}"
                )
        alias = str(settings.get("ELASTICSEARCH_INDEX") or "mlentory-models")
        if not _INDEX_RE.match(alias):
            raise ConfigError(
                "ELASTICSEARCH_INDEX must be a lowercase index name (a-z, 0-9, '.', '_', '-'), "
                f"got {alias!r}"
            )
        user = str(settings.get("ELASTICSEARCH_USER") or "")
        password = str(settings.get("ELASTICSEARCH_PASSWORD") or "")
        if bool(user) != bool(password):
            raise ConfigError("set both ELASTICSEARCH_USER and ELASTICSEARCH_PASSWORD, or neither")
        refresh = str(settings.get("ELASTICSEARCH_REFRESH_INTERVAL") or "30s").strip()
        if not _INTERVAL_RE.match(refresh):
            raise ConfigError(
                f"ELASTICSEARCH_REFRESH_INTERVAL must be a time like 1s, 30s, 500ms or -1, "
                f"got {refresh!r}"
            )
        return cls(
            hosts=hosts,
            api_key=str(settings.get("ELASTICSEARCH_API_KEY") or ""),
            user=user,
            password=password,
            alias=alias,
            batch_size=int(number_setting(settings, "ELASTICSEARCH_BATCH_SIZE", 500, 1, 100_000)),
            max_bulk_bytes=int(
                number_setting(settings, "ELASTICSEARCH_MAX_BULK_BYTES", 20e6, 1e4, 1e9)
            ),
            flush_interval=number_setting(
                settings, "ELASTICSEARCH_FLUSH_INTERVAL", 5, 0.01, 86_400
            ),
            connect_timeout=number_setting(settings, "ELASTICSEARCH_CONNECT_TIMEOUT", 30, 0, 3_600),
            retry_seconds=number_setting(settings, "ELASTICSEARCH_RETRY_SECONDS", 60, 0, 86_400),
            request_timeout=number_setting(settings, "ELASTICSEARCH_REQUEST_TIMEOUT", 60, 1, 3_600),
            shards=int(number_setting(settings, "ELASTICSEARCH_SHARDS", 1, 1, 1024)),
            replicas=int(number_setting(settings, "ELASTICSEARCH_REPLICAS", 0, 0, 16)),
            refresh_interval=refresh,
        )


# --------------------------------------------------------------------------- mappings

KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 8191}  # < Lucene's 32 kB term
TEXT_KEYWORD: dict[str, Any] = {
    "type": "text",
    "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
}
REF: dict[str, Any] = {"properties": {"iri": KEYWORD, "name": TEXT_KEYWORD, "code": KEYWORD}}
#: Prose: full-text only (no keyword sub-field).
LONG_TEXT = frozenset(
    [
        "description",
        "intendedUse",
        "usageInstructions",
        "codeSampleSnippet",
        "modelRisksBiasLimitations",
        "ethicalSocial",
        "legal",
        "releaseNotes",
        "abstract",
        "conditionsOfAccess",
        "hasCO2eEmissions",
    ]
)
#: Codes and identifiers: exact values only.
CODES = frozenset(["version", "gated", "developmentStatus", "identifier", "inLanguage"])
#: Dataset roles folded into ``datasets``; base-model relations folded into ``baseModels``.
DATASET_ROLES = ("trainedOn", "testedOn", "validatedOn", "evaluatedOn")
BASE_RELATIONS = {"fineTunedFrom": "fineTunedFrom", "isBasedOn": "isBasedOn"} | BASED_ON
PAPER_PROPERTIES = ("referencePublication", "citation")
#: Relationship terms shown only through a view (``datasets``, ``baseModels``, ``papers``,
#: nested ``evaluations``), never twice in a document.
_NOT_GENERIC = frozenset({"hasEvaluation", *DATASET_ROLES, *BASE_RELATIONS, *PAPER_PROPERTIES})
_KIND_MAPPING: dict[str, dict[str, Any]] = {
    "date": {"type": "date"},
    "int": {"type": "long"},
    "float": {"type": "double"},
    "num": {"type": "double"},
    "bool": {"type": "boolean"},
}


def _field_mapping(name: str) -> dict[str, Any]:
    kind = TERMS[name][1]
    if kind == "id":
        return KEYWORD if name in LINK_PROPERTIES else REF
    if kind == "str":
        return KEYWORD if name in CODES else {"type": "text"} if name in LONG_TEXT else TEXT_KEYWORD
    return _KIND_MAPPING[kind]


def model_fields() -> list[str]:
    """The FAIR4ML properties of ``MLModel`` that become document fields."""
    return [n for n in MLModel.model_fields if n not in ("id", "type") and n not in _NOT_GENERIC]


_PLAIN, _REF, _DATE = 0, 1, 2
_FIELD_PLAN: list[tuple[str, int]] = []  # (name, how its values are written), computed once


def _field_plan() -> list[tuple[str, int]]:
    if not _FIELD_PLAN:
        for name in model_fields():
            kind = TERMS[name][1]
            is_ref = kind == "id" and name not in LINK_PROPERTIES
            _FIELD_PLAN.append((name, _REF if is_ref else _DATE if kind == "date" else _PLAIN))
    return _FIELD_PLAN


def mappings() -> dict[str, Any]:
    """The explicit mappings of a model document (``dynamic: false``)."""
    props: dict[str, Any] = {
        "iri": KEYWORD,
        "recordIri": KEYWORD,
        "type": KEYWORD,
        "source": KEYWORD,
        "sourceId": KEYWORD,
        "jobId": KEYWORD,
        "retrievedAt": {"type": "date"},
    }
    props |= {name: _field_mapping(name) for name in model_fields()}
    props["datasets"] = {"properties": {**REF["properties"], "role": KEYWORD}}
    props["baseModels"] = {"properties": {**REF["properties"], "relation": KEYWORD}}
    props["papers"] = {"properties": {**REF["properties"], "role": KEYWORD}}
    props["evaluations"] = {
        "type": "nested",
        "properties": {
            "iri": KEYWORD,
            "name": TEXT_KEYWORD,
            "dataset": REF,
            "task": REF,
            "metric": KEYWORD,
            "metricName": TEXT_KEYWORD,
            "value": {"type": "double"},
            "valueText": KEYWORD,
        },
    }
    body = {"dynamic": False, "properties": props}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {"_meta": {"mlentory_mapping": digest}, **body}


def index_template(config: EsConfig) -> dict[str, Any]:
    """Keyword arguments of ``indices.put_index_template`` for ``<alias>-*`` indices."""
    return {
        "name": f"{config.alias}-template",
        "index_patterns": [f"{config.alias}-*"],
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": config.shards,
                "number_of_replicas": config.replicas,
                "refresh_interval": config.refresh_interval,
            },
            "mappings": mappings(),
        },
        "meta": {"managed_by": "mlentory-crawl"},
    }


# --------------------------------------------------------------------------- documents


def doc_id(iri: str) -> str:
    """The ``_id`` of a model: SHA-1 hex of its IRI (stable, short, any IRI length)."""
    return sha1_hex(iri, 40)


@dataclass(frozen=True)
class EsDocument:
    """A document ready for bulk: id, external version (retrieval time in ms) and source."""

    id: str
    version: int
    source: dict[str, Any]


_ACTION = b'{"index":{"_id":"%s","version":%d,"version_type":"external_gte"}}\n'


def bulk_lines(doc: EsDocument) -> bytes:
    """The bulk action and source lines of a document (NDJSON, UTF-8), serialised once.

    ``version_type=external_gte`` with the harvest time as version: an older harvest is
    refused (409), the same one is a no-op. orjson refuses lone surrogates and integers
    beyond 64 bits; those documents fall back to the standard library (escaped, so
    Elasticsearch decides: it indexes the text or refuses the number, which is quarantined).
    """
    try:
        source = orjson.dumps(doc.source)
    except orjson.JSONEncodeError:
        source = json.dumps(doc.source).encode("ascii")
    return _ACTION % (doc.id.encode("ascii"), doc.version) + source + b"\n"


def _code(node: Node | None, iri: str) -> str | None:
    if node is None:
        return None
    if isinstance(node, DefinedTerm) and node.termCode:
        return node.termCode
    if iri.startswith(("https://spdx.org/licenses/", "http://spdx.org/licenses/")):
        return unquote(iri.rsplit("/", 1)[1])
    return node.identifier[0] if node.identifier else None


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def build_document(record: FAIR4MLRecord) -> EsDocument | None:
    """The search document of a record whose primary entity is a model (else ``None``)."""
    primary = record.primary
    if not isinstance(primary, MLModel):
        return None
    nodes = {node.id: node for node in record.graph}
    refs: dict[str, dict[str, Any]] = {}  # one {iri, name, code} per target, shared read-only

    def ref(iri: str) -> dict[str, Any]:
        out = refs.get(iri)
        if out is None:
            out = refs[iri] = {"iri": iri}
            node = nodes.get(iri)
            if node is not None:
                if node.name is not None:
                    out["name"] = node.name
                code = _code(node, iri)
                if code is not None:
                    out["code"] = code
        return out

    prov = record.provenance
    doc: dict[str, Any] = {
        "iri": primary.id,
        "recordIri": record.id,
        "type": primary.type_name,
        "source": prov.source,
        "sourceId": prov.sourceId,
        "jobId": prov.jobId,
        "retrievedAt": prov.retrievedAt.isoformat(),
    }
    values = primary.__dict__  # the validated field values (cheaper than ~60 getattr calls)
    for name, mode in _field_plan():
        value = values[name]
        if value is None or value == []:
            continue
        if mode == _REF:
            doc[name] = [ref(v) for v in ([value] if isinstance(value, str) else value)]
        elif mode == _DATE:
            doc[name] = [_value(v) for v in value] if isinstance(value, list) else _value(value)
        else:
            doc[name] = value
    doc["datasets"] = [ref(i) | {"role": p} for p in DATASET_ROLES for i in values[p]]
    doc["baseModels"] = [
        ref(i) | {"relation": rel} for p, rel in BASE_RELATIONS.items() for i in values[p]
    ]
    doc["papers"] = [ref(i) | {"role": p} for p in PAPER_PROPERTIES for i in values[p]]
    doc["evaluations"] = _evaluations(primary, nodes, ref)
    version = int(prov.retrievedAt.timestamp() * 1000)
    return EsDocument(doc_id(primary.id), version, doc)


def _evaluations(primary: MLModel, nodes: Mapping[str, Node], ref: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for iri in primary.hasEvaluation:
        ev = nodes.get(iri)
        base: dict[str, Any] = {"iri": iri}
        if ev is not None:
            base["name"] = ev.name
            base["dataset"] = [ref(d) for d in getattr(ev, "evaluationDataset", [])]
            base["task"] = [ref(t) for t in getattr(ev, "about", [])]
        results = [nodes.get(r) for r in getattr(ev, "evaluationResults", [])]
        metrics = [r for r in results if r is not None]
        if not metrics:
            out.append({k: v for k, v in base.items() if v not in (None, [])})
        for pv in metrics:
            value = getattr(pv, "value", None)
            entry = base | {
                "metric": getattr(pv, "propertyID", None) or pv.name,
                "metricName": pv.name,
                "value": float(value) if isinstance(value, int | float) else None,
                "valueText": None if value is None else str(value)[:1000],
            }
            out.append({k: v for k, v in entry.items() if v not in (None, [])})
    return out
