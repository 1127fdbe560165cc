"""Neo4j: typed config, the graph model, FAIR4ML record → rows, and the Cypher that upserts them.

The graph model is documented in ``docs/graph.md``. In short: every node is ``:Resource
{iri}`` (one uniqueness constraint) plus its class label(s) and the role labels of the
relationships that reach it (``license`` → ``:License``, ``mlTask`` → ``:Task``, ...);
relationship types come from the property names of :data:`~mlentory_crawl.items.vocab.TERMS`;
each relationship lists the records that state it (``r.records``), so re-upserting a record
removes exactly the relationships it no longer states. Labels and types are fixed identifiers
from these tables (never data) and every value is a query parameter.

Records become rows in :mod:`mlentory_crawl.sinks.graph_rows`; the client that runs the
statements is :mod:`mlentory_crawl.sinks.neo4j_client`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from scrapy.settings import BaseSettings

from mlentory_crawl.config import ConfigError, FilesConfig
from mlentory_crawl.items.vocab import TERMS
from mlentory_crawl.sinks.retry import number_setting, redact_url

# --------------------------------------------------------------------------- config

_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


@dataclass(frozen=True)
class Neo4jConfig:
    """Neo4j settings, read once and validated (``NEO4J_*``).

    Attributes:
        uri: ``bolt://`` or ``neo4j://`` address (``NEO4J_URI``).
        user: user name; ignored when ``password`` is empty (auth off).
        password: never logged, never in ``repr``.
        database: target database (``NEO4J_DATABASE``).
        batch_size: records per transaction (``NEO4J_BATCH_SIZE``).
        flush_interval: seconds between timed flushes (``NEO4J_FLUSH_INTERVAL``).
        connect_timeout: how long to wait for the server at start (``NEO4J_CONNECT_TIMEOUT``).
        retry_seconds: retry budget of one batch before it counts as unsent
            (``NEO4J_RETRY_SECONDS``).
        base_iri: project base IRI (languages are minted under it).
    """

    uri: str = field(repr=False)  # may hold user:password@
    user: str
    password: str = field(repr=False)
    database: str
    batch_size: int
    flush_interval: float
    connect_timeout: float
    retry_seconds: float
    base_iri: str

    @property
    def auth(self) -> tuple[str, str] | None:
        """Basic auth, or ``None`` when no password is configured."""
        return (self.user, self.password) if self.password else None

    @property
    def safe_uri(self) -> str:
        """The URI for messages (credentials removed)."""
        return redact_url(self.uri)

    @classmethod
    def enabled(cls, settings: BaseSettings) -> bool:
        """True when ``NEO4J_URI`` is set."""
        return bool(str(settings.get("NEO4J_URI") or "").strip())

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Neo4jConfig:
        """Read and validate the Neo4j settings.

        Raises:
            ConfigError: ``NEO4J_URI`` is missing or not a Bolt/Neo4j URI, or a number is
                out of range.
        """
        uri = str(settings.get("NEO4J_URI") or "").strip()
        if not uri:
            raise ConfigError("NEO4J_URI is not set (e.g. bolt://127.0.0.1:7687)")
        scheme = urlsplit(uri).scheme
        if scheme not in _SCHEMES or not urlsplit(uri).hostname:
            raise ConfigError(
                f"NEO4J_URI must look like bolt://host:7687 (schemes: {', '.join(_SCHEMES)}), "
                f"got {redact_url(uri)!r}"
            )
        return cls(
            uri=uri,
            user=str(settings.get("NEO4J_USER") or "neo4j"),
            password=str(settings.get("NEO4J_PASSWORD") or ""),
            database=str(settings.get("NEO4J_DATABASE") or "neo4j"),
            batch_size=int(number_setting(settings, "NEO4J_BATCH_SIZE", 500, 1, 100_000)),
            flush_interval=number_setting(settings, "NEO4J_FLUSH_INTERVAL", 5, 0.01, 86_400),
            connect_timeout=number_setting(settings, "NEO4J_CONNECT_TIMEOUT", 30, 0, 3_600),
            retry_seconds=number_setting(settings, "NEO4J_RETRY_SECONDS", 60, 0, 86_400),
            base_iri=FilesConfig.from_settings(settings).base_iri,
        )


# --------------------------------------------------------------------------- graph model

#: Labels of each FAIR4ML class (besides ``:Resource``).
CLASS_LABELS: dict[str, tuple[str, ...]] = {
    "MLModel": ("MLModel",),
    "MLModelEvaluation": ("Evaluation",),
    "PropertyValue": ("PropertyValue",),
    "Dataset": ("Dataset",),
    "ScholarlyArticle": ("ScholarlyArticle",),
    "Person": ("Person", "Agent"),
    "Organization": ("Organization", "Agent"),
    "CreativeWork": ("CreativeWork",),
    "DefinedTerm": ("DefinedTerm",),
    "DataDownload": ("DataDownload",),
    "SoftwareSourceCode": ("SoftwareSourceCode",),
    "Grant": ("Grant",),
}
#: Labels a node gets from the relationship that reaches it (how a DefinedTerm becomes a
#: Task or a Keyword, a CreativeWork a License; also types targets absent from the record).
ROLE_LABELS: dict[str, str] = {
    "license": "License",
    "mlTask": "Task",
    "keywords": "Keyword",
    "about": "Topic",
    "inLanguage": "Language",
    "fineTunedFrom": "MLModel",
    "baseModelFinetune": "MLModel",
    "baseModelAdapter": "MLModel",
    "baseModelQuantized": "MLModel",
    "baseModelMerge": "MLModel",
    "newVersion": "MLModel",
    "evaluatedMLModel": "MLModel",
    "trainedOn": "Dataset",
    "testedOn": "Dataset",
    "validatedOn": "Dataset",
    "evaluatedOn": "Dataset",
    "evaluationDataset": "Dataset",
    "hasEvaluation": "Evaluation",
    "evaluationResults": "Metric",
    "hyperParameter": "HyperParameter",
    "referencePublication": "ScholarlyArticle",
    "author": "Agent",
    "sharedBy": "Agent",
    "contributor": "Agent",
    "maintainer": "Agent",
    "copyrightHolder": "Agent",
    "affiliation": "Organization",
    "distribution": "DataDownload",
    "funding": "Grant",
}
#: IRI-valued properties that are web links, kept as node properties (not relationships).
LINK_PROPERTIES = frozenset(
    [
        "url",
        "sameAs",
        "closeMatch",
        "image",
        "contentUrl",
        "codeRepository",
        "discussionUrl",
        "archivedAt",
        "issueTracker",
        "readme",
        "buildInstructions",
        "inDefinedTermSet",
        "conformsTo",
    ]
)
#: The typed lineage extension: one ``BASED_ON {relation}`` type for all four lists.
BASED_ON = {
    "baseModelFinetune": "finetune",
    "baseModelAdapter": "adapter",
    "baseModelQuantized": "quantized",
    "baseModelMerge": "merge",
}
_TYPE_OVERRIDES = {"citation": "CITES", "mlTask": "TASK", "keywords": "KEYWORD"}
_TYPE_OVERRIDES |= {"evaluationResults": "HAS_RESULT", "inLanguage": "IN_LANGUAGE"}
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def rel_type(prop: str) -> str:
    """The relationship type of an IRI-valued property (``trainedOn`` → ``TRAINED_ON``)."""
    if prop in BASED_ON:
        return "BASED_ON"
    return _TYPE_OVERRIDES.get(prop) or _CAMEL.sub("_", prop).upper()


#: Property name → relationship type, for every relationship-valued term of the vocabulary.
EDGE_PROPERTIES: dict[str, str] = {
    name: rel_type(name)
    for name, (_curie, kind) in TERMS.items()
    if kind == "id" and name not in LINK_PROPERTIES
} | {"inLanguage": "IN_LANGUAGE"}

for _name in (*CLASS_LABELS.values(), ROLE_LABELS.values(), EDGE_PROPERTIES.values()):
    for _ident in _name:
        assert _IDENT.match(_ident), _ident  # labels/types are inlined into Cypher


def language_iri(base_iri: str, code: str) -> str:
    """``<base>language/<code>``: a Language node per ``inLanguage`` code, as given."""
    return f"{base_iri}language/{quote(code.strip(), safe='-._~')}"


#: Date-valued properties: sent as ISO-8601 text (packing Python datetimes is slow in the
#: driver) and stored as native ``DateTime`` by the statements (``datetime(...)``).
DATE_PROPERTIES = tuple(
    sorted({n for n, (_c, k) in TERMS.items() if k == "date"} | {"retrievedAt"})
)


# --------------------------------------------------------------------------- Cypher

#: Only the two uniqueness constraints: every lookup goes by IRI (full-text and facets are
#: Elasticsearch's job), and range indexes on free text would refuse values over ~8 kB.
SCHEMA_STATEMENTS = (
    "CREATE CONSTRAINT resource_iri IF NOT EXISTS FOR (n:Resource) REQUIRE n.iri IS UNIQUE",
    "CREATE CONSTRAINT record_iri IF NOT EXISTS FOR (n:Record) REQUIRE n.iri IS UNIQUE",
)

#: The incoming records already stored, and whether the stored harvest is newer (then the
#: incoming one is skipped). Records not stored yet state no relationship to clean up.
FIND_STORED = """
UNWIND $records AS rec
MATCH (x:Record {iri: rec.iri})
RETURN rec.iri AS iri, x.retrievedAt > datetime(rec.retrievedAt) AS stale
"""

# Shared tail: drop this record from r.records, delete r when no record states it any more,
# then delete target nodes left without any relationship unless a record owns them.
_DROP_TAIL = """
SET r.records = [x IN r.records WHERE x <> rec]
WITH r, t WHERE size(r.records) = 0
DELETE r
WITH collect(DISTINCT t) AS targets
UNWIND targets AS t
WITH t WHERE t.record IS NULL AND NOT (t)--()
DELETE t
"""

#: Relationships stated by a record from nodes that are no longer subjects of the record.
CLEAN_GONE_SUBJECTS = (
    """
UNWIND $records AS row
MATCH (x:Record {iri: row.iri})
UNWIND [s IN coalesce(x.subjects, []) WHERE NOT s IN row.subjects] AS gone
MATCH (:Resource {iri: gone})-[r]->(t)
WITH r, t, row.iri AS rec WHERE rec IN r.records
"""
    + _DROP_TAIL
)

#: Relationships a record stated before and does not state any more.
CLEAN_SUBJECTS = (
    """
UNWIND $rows AS row
MATCH (:Record {iri: row.record})
MATCH (:Resource {iri: row.subject})-[r]->(t)
WITH r, t, row.record AS rec, row.keys AS keys WHERE rec IN r.records
  AND NOT (type(r) + '|' + coalesce(r.relation, '') + '|' + t.iri) IN keys
"""
    + _DROP_TAIL
)

UPSERT_RECORDS = """
UNWIND $records AS row
MERGE (x:Record {iri: row.iri})
WITH x, row, row.props AS props
SET x = props {.*, retrievedAt: datetime(props.retrievedAt)}
WITH x, row
MATCH (p:Resource {iri: row.primary})
MERGE (x)-[:PRIMARY_TOPIC]->(p)
"""


def _labels(labels: tuple[str, ...]) -> str:
    return "".join(f":`{label}`" for label in labels)


def _with_dates(keep: str) -> str:
    """``props`` with its date texts turned into ``DateTime``s (absent ones kept as
    ``keep`` gives them) — computed per row, so no extra property writes."""
    fields = ", ".join(
        f"`{p}`: coalesce(datetime(props.`{p}`), {keep.format(p=p)})" for p in DATE_PROPERTIES
    )
    return f"props {{.*, {fields}}}"


def primary_query(labels: tuple[str, ...]) -> str:
    """Upsert primary nodes: their record owns them, so properties are replaced."""
    set_labels = f"\nSET n{_labels(labels)}" if labels else ""
    return (
        "UNWIND $rows AS row\nMERGE (n:Resource {iri: row.iri})\nWITH n, row.props AS props"
        + "\nSET n = "
        + _with_dates("null")
        + set_labels
    )


def node_query(labels: tuple[str, ...]) -> str:
    """Upsert referenced nodes: created once, labels added, properties only enriched.

    A node owned by a record (``n.record`` set: it is that record's primary topic) keeps the
    properties its own record gave it; other nodes take the non-null values of the most
    recently harvested record that mentions them (by ``retrievedAt``, not by load order, so
    replaying files in any order gives the same graph).
    """
    set_labels = f"\nSET n{_labels(labels)}" if labels else ""
    return (
        "UNWIND $rows AS row\nMERGE (n:Resource {iri: row.iri})"
        + set_labels
        + "\nWITH n, row.props AS props WHERE n.record IS NULL"
        + " AND coalesce(n.retrievedAt <= datetime(props.retrievedAt), true)"
        + "\nSET n += "
        + _with_dates("n.`{p}`")
    )


def edge_query(rtype: str, has_relation: bool) -> str:
    """Merge relationships of one type; each lists the records stating it in ``r.records``."""
    relation = " {relation: row.relation}" if has_relation else ""
    return (
        "UNWIND $rows AS row\n"
        "MATCH (s:Resource {iri: row.s})\n"
        "UNWIND row.ts AS target\n"
        "MATCH (t:Resource {iri: target})\n"
        f"MERGE (s)-[r:`{rtype}`{relation}]->(t)\n"
        "ON CREATE SET r.records = [row.record]\n"
        "WITH r, row WHERE NOT row.record IN r.records\n"
        "SET r.records = r.records + row.record"
    )
