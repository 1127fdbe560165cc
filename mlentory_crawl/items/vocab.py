"""Namespaces and the term table shared by JSON-LD, RDF, Neo4j and Elasticsearch.

Every property name used by the FAIR4ML Pydantic models appears here exactly once, with its
full IRI (as a CURIE) and the kind of value it holds. The JSON-LD context, the Turtle
serialiser and the stores are all generated from this table, so a term can never mean one
thing in a file and another in the graph.
"""

from __future__ import annotations

from typing import Literal

FAIR4ML = "https://w3id.org/fair4ml#"
SCHEMA = "http://schema.org/"
CODEMETA = "https://w3id.org/codemeta/"
DCT = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
FAIR4ML_VERSION_IRI = "https://w3id.org/fair4ml/0.1.0"
DEFAULT_BASE_IRI = "https://example.org/mlentory-crawl/"

Kind = Literal["id", "str", "date", "int", "float", "num", "bool"]

PREFIXES: dict[str, str] = {
    "fair4ml": FAIR4ML,
    "schema": SCHEMA,
    "codemeta": CODEMETA,
    "dct": DCT,
    "prov": PROV,
    "skos": SKOS,
    "xsd": XSD,
}

# Classes: compact name -> CURIE.
CLASSES: dict[str, str] = {
    "MLModel": "fair4ml:MLModel",
    "MLModelEvaluation": "fair4ml:MLModelEvaluation",
    "Dataset": "schema:Dataset",
    "ScholarlyArticle": "schema:ScholarlyArticle",
    "Person": "schema:Person",
    "Organization": "schema:Organization",
    "CreativeWork": "schema:CreativeWork",
    "DefinedTerm": "schema:DefinedTerm",
    "PropertyValue": "schema:PropertyValue",
    "DataDownload": "schema:DataDownload",
    "SoftwareSourceCode": "schema:SoftwareSourceCode",
    "Grant": "schema:Grant",
}

_FAIR4ML_IDS = (
    "fineTunedFrom trainedOn testedOn validatedOn evaluatedOn hasEvaluation mlTask sharedBy "
    "evaluatedMLModel evaluationDataset evaluationResults evaluationSoftware"
)
_FAIR4ML_TEXT = (
    "modelCategory intendedUse usageInstructions codeSampleSnippet modelRisksBiasLimitations "
    "ethicalSocial legal hasCO2eEmissions evaluationMetrics"
)
_SCHEMA_IDS = (
    "url sameAs license author contributor maintainer copyrightHolder keywords citation "
    "codeRepository discussionUrl archivedAt distribution funding isBasedOn about affiliation "
    "inDefinedTermSet contentUrl image subjectOf hasPart"
)
_SCHEMA_TEXT = (
    "name alternateName description identifier version inLanguage conditionsOfAccess "
    "softwareRequirements memoryRequirements processorRequirements storageRequirements "
    "operatingSystem releaseNotes termCode propertyID unitText encodingFormat sha256 abstract "
    "programmingLanguage funder"
)
_SCHEMA_DATES = "dateCreated dateModified datePublished"
_CODEMETA_IDS = "readme issueTracker buildInstructions referencePublication"
# Project extension terms (never invented inside fair4ml:); written under <base>vocab#.
_EXT_IDS = (
    "baseModelFinetune baseModelAdapter baseModelQuantized baseModelMerge newVersion hyperParameter"
)
_EXT_INT = "downloads downloadsAllTime likes parameterCount"

TERMS: dict[str, tuple[str, Kind]] = {}
for _names, _prefix, _kind in (
    (_FAIR4ML_IDS, "fair4ml", "id"),
    (_FAIR4ML_TEXT, "fair4ml", "str"),
    (_SCHEMA_IDS, "schema", "id"),
    (_SCHEMA_TEXT, "schema", "str"),
    (_SCHEMA_DATES, "schema", "date"),
    (_CODEMETA_IDS, "codemeta", "id"),
    (_EXT_IDS, "mlx", "id"),
    (_EXT_INT, "mlx", "int"),
):
    for _name in _names.split():
        TERMS[_name] = (f"{_prefix}:{_name}", _kind)  # type: ignore[assignment]
TERMS.update(
    {
        "extrinsicEvaluation": ("fair4ml:extrinsicEvaluation", "bool"),
        "isAccessibleForFree": ("schema:isAccessibleForFree", "bool"),
        "value": ("schema:value", "num"),
        "minValue": ("schema:minValue", "num"),
        "maxValue": ("schema:maxValue", "num"),
        "contentSize": ("schema:contentSize", "int"),
        "developmentStatus": ("codemeta:developmentStatus", "str"),
        "conformsTo": ("dct:conformsTo", "id"),
        "closeMatch": ("skos:closeMatch", "id"),
        "gated": ("mlx:gated", "str"),
        "defaultTarget": ("mlx:defaultTarget", "str"),
    }
)


def ext_namespace(base: str) -> str:
    """The project extension namespace for a base IRI (``<base>vocab#``)."""
    return base.rstrip("/") + "/vocab#"


def expand(curie: str, base: str = DEFAULT_BASE_IRI) -> str:
    """Expand a CURIE from :data:`TERMS`/:data:`CLASSES` into a full IRI."""
    prefix, local = curie.split(":", 1)
    if prefix == "mlx":
        return ext_namespace(base) + local
    return PREFIXES[prefix] + local


def jsonld_context(base: str = DEFAULT_BASE_IRI) -> dict[str, object]:
    """Build the project's own JSON-LD context (never fetched remotely).

    Every term is aliased to its IRI; IRI-valued terms carry ``"@type": "@id"`` and dates
    ``xsd:dateTime``, so a JSON-LD processor produces IRIs and typed literals, not strings.
    """
    ctx: dict[str, object] = {"@version": 1.1, **PREFIXES, "mlx": ext_namespace(base)}
    for name, curie in CLASSES.items():
        ctx[name] = curie
    datatypes = {
        "id": "@id",
        "date": "xsd:dateTime",
        "int": "xsd:integer",
        "bool": "xsd:boolean",
    }
    for name, (curie, kind) in TERMS.items():
        if kind in datatypes:
            ctx[name] = {"@id": curie, "@type": datatypes[kind]}
        else:
            ctx[name] = curie
    prov_terms = {
        "wasDerivedFrom": {"@id": "prov:wasDerivedFrom", "@type": "@id"},
        "wasGeneratedBy": {"@id": "prov:wasGeneratedBy", "@type": "@id"},
        "generatedAtTime": {"@id": "prov:generatedAtTime", "@type": "xsd:dateTime"},
        "primaryTopic": {"@id": "mlx:primaryTopic", "@type": "@id"},
    }
    ctx.update(prov_terms)
    return ctx
