"""bioimage.io (AI4Life BioImage Model Zoo) → FAIR4ML.

Input (built by ``spiders/bioimageio.py``): ``raw.payload`` is the collection-index entry of
one resource, untouched — a Hypha artifact-manager list item (``id``, ``type``, ``versions``,
often ``manifest``, ``created_at``/``last_modified`` as epoch seconds, ``download_count``) or
an ``index.json`` item (``id``, ``type``, ``versions[{version, created_at, comment, sha256,
source}]``); legacy ``collection.json`` entries (Zenodo concept DOI ids + ``nickname``) are
read too. ``raw.attachments["rdf"]`` is the resource description ``rdf.yaml`` as text, parsed
here with ``yaml.safe_load`` (formats 0.2 to 0.5; unknown fields are ignored).

* ``type: model`` → ``fair4ml:MLModel``; ``type: dataset`` → ``schema:Dataset``; any other
  type (application, notebook, collection) → :class:`NormalizationError` ("skipped: …"),
  which the normalize pipeline counts and quarantines.
* An ``rdf.yaml`` that is missing (404), not YAML or not a mapping falls back to the index
  entry's ``manifest`` (the same description as JSON) when there is one, with a note;
  otherwise the record is rejected with the reason.
* The primary IRI is ``https://bioimage.io/#/artifacts/<nickname>`` (fair4ml.md §12); legacy
  Zenodo-style ids map to the nickname when the description names it, and the concept DOI
  is kept as ``identifier`` + ``sameAs https://doi.org/<doi>``.

Mapping table: ``docs/sources/bioimageio.md``. Pure function, no Scrapy, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import Dataset, FAIR4MLRecord, MLModel
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.bioimageio_agents import (
    SOURCE,
    agent,
    agents,
    citations,
    known_orcids,
    license_iri,
    release_note,
    scrub,
)
from mlentory_crawl.normalizers.bioimageio_parts import (
    clean_key,
    concept_doi,
    file_iri,
    keywords_and_tasks,
    linked,
    tag_list,
    weights,
    zenodo_parts,
    zoo_iri,
    zoo_key,
)
from mlentory_crawl.normalizers.bioimageio_tensors import usage_text
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_int,
    as_list,
    as_str,
    as_text,
    dict_list,
    epoch_datetime,
    parse_datetime,
    safe_iri,
    unique,
)

#: Larger descriptions are refused (real ones are 3-10 KB; pure-Python YAML parses ~40 KB/s
#: here, so the cap bounds a hostile file to seconds). Parsing uses the pure-Python
#: ``yaml.safe_load`` on purpose: libyaml's ``CSafeLoader`` is ~5x faster but segfaults on
#: deeply nested hostile input; nesting far beyond any real description is refused up front
#: (the pure-Python parser would end in a RecursionError, but only after seconds of work).
MAX_RDF_CHARS = 200_000
_TOO_DEEP = re.compile(r"(?:[\[{]\s*){64}|^[ \t-]{400}", re.MULTILINE)
SUPPORTED = ("model", "dataset")


def normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """Turn one bioimage.io index entry + its ``rdf.yaml`` into a FAIR4ML record.

    Raises:
        NormalizationError: the resource is not a model or dataset, it has no usable id, or
            neither the ``rdf.yaml`` nor the index entry holds a description.
    """
    payload = as_dict(raw.payload)
    if not isinstance(raw.payload, dict | None):
        raise NormalizationError(f"index entry is a {type(raw.payload).__name__}, not an object")
    builder = RecordBuilder(raw, minter)
    rdf, base = load_description(raw, payload, builder)
    kind = resource_type(rdf, payload, builder)
    key, identifiers = resolve_key(payload, rdf)
    iri = zoo_iri(key)
    fmt = re.match(r"^\d{1,3}\.\d{1,3}", as_str(rdf.get("format_version")) or "")
    builder.note(f"bioimageio/format/{fmt.group() if fmt else 'unknown'}")
    resource = Resource(rdf, payload, builder, iri, base, known_orcids(rdf))
    props = common_props(resource)
    props["identifier"] = identifiers + props.pop("identifier", [])
    if kind == "dataset":
        source = safe_iri(rdf.get("source"))
        props["sameAs"] = unique([*props["sameAs"], source])
        props["about"] = props.pop("tasks")
        primary: MLModel | Dataset = Dataset(**props)
    else:
        props["mlTask"] = props.pop("tasks")
        extra = model_props(resource)
        props["contributor"] = unique([*props["contributor"], *extra.pop("contributor")])
        props.update(extra)
        primary = MLModel(**props)
    if not primary.name:
        builder.note("field/name/missing")
    return builder.build(primary, spider=SOURCE)


def load_description(
    raw: RawRecord, payload: dict[str, Any], builder: RecordBuilder
) -> tuple[dict[str, Any], str | None]:
    """The description mapping and the URL relative file references resolve against."""
    attachment = raw.attachments.get("rdf")
    base = attachment.url if attachment and attachment.url.startswith("http") else None
    problem: str
    if attachment is None:
        problem = "no rdf.yaml was fetched"
    elif attachment.text is None:
        problem = f"rdf.yaml unavailable (HTTP {attachment.status})"
        builder.note("rdf/unavailable")
    elif len(attachment.text) > MAX_RDF_CHARS:
        problem = f"rdf.yaml too large ({len(attachment.text)} characters)"
        builder.note("rdf/too_large")
    elif _TOO_DEEP.search(attachment.text):
        problem = "rdf.yaml is nested too deeply"
        builder.note("rdf/too_deep")
    else:
        if attachment.url:
            builder.fetched.append(attachment.url)
        try:
            data = yaml.safe_load(attachment.text)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problem = f"rdf.yaml is not valid YAML ({first[:200]})"
            builder.note("rdf/invalid_yaml")
        else:
            if isinstance(data, dict):
                return data, base
            problem = f"rdf.yaml holds a {type(data).__name__}, not a mapping"
            builder.note("rdf/not_a_mapping")
    fallback = fallback_description(payload)
    if fallback is not None:
        builder.note("rdf/index_fallback")
        return fallback, base
    raise NormalizationError(f"{problem}, and the index entry carries no description")


def fallback_description(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The description held by the index entry itself, if any.

    Hypha list items carry the description as ``manifest``; legacy ``collection.json``
    entries are short descriptions themselves (``name``, ``authors``, ``tags``, …).
    """
    manifest = as_dict(payload.get("manifest"))
    if manifest:
        return manifest
    if as_str(payload.get("name")):
        return payload
    return None


def resource_type(rdf: dict[str, Any], payload: dict[str, Any], builder: RecordBuilder) -> str:
    """``model`` or ``dataset``; anything else is rejected as a skipped type."""
    described = as_str(rdf.get("type"))
    indexed = as_str(payload.get("type"))
    kind = (described or indexed or ("model" if rdf.get("weights") else "")).lower()
    if described and indexed and described.lower() != indexed.lower():
        builder.note("type/index_mismatch")
    if not kind:
        raise NormalizationError("the description states no resource type")
    if kind not in SUPPORTED:
        raise NormalizationError(f"skipped: resource type {kind[:40]!r} is not a model or dataset")
    return kind


def resolve_key(payload: dict[str, Any], rdf: dict[str, Any]) -> tuple[str, list[str]]:
    """The zoo key (nickname) of the resource and every identifier it is known by."""
    config = as_dict(rdf.get("config"))
    zoo = as_dict(config.get("bioimageio"))
    index_id = as_text(payload.get("id"))  # ids are never numbers or lists
    rdf_id = as_text(rdf.get("id"))
    nicknames = [as_str(payload.get("nickname")), as_str(zoo.get("nickname"))]
    concept = concept_doi(rdf, payload)
    candidates: list[str | None] = []
    if index_id and not zenodo_parts(index_id)[0]:
        candidates.append(zoo_key(index_id))
    candidates += nicknames
    if rdf_id and not zenodo_parts(rdf_id)[0]:
        candidates.append(rdf_id)
    candidates.append(concept)
    key = next((k for k in (clean_key(c) for c in candidates) if k), None)
    if key is None:
        shown = index_id or rdf_id
        raise NormalizationError(f"no usable resource id (got {str(shown)[:80]!r})")
    version_doi = as_str(zoo.get("doi")) or zenodo_parts(rdf_id)[1] or zenodo_parts(index_id)[1]
    identifiers = [index_id, key, *nicknames, rdf_id, concept, version_doi]
    emoji = as_str(rdf.get("id_emoji")) or as_str(zoo.get("nickname_icon"))
    identifiers.append(emoji if emoji and len(emoji) <= 8 else None)
    return key, [text[:200] for text in unique(identifiers)]


def when(value: Any) -> datetime | None:
    """A UTC datetime from ISO text, a YAML datetime, or epoch seconds/milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_datetime(value)
    if isinstance(value, str) and " " in value.strip() and "T" not in value:
        value = value.strip().replace(" ", "T", 1)
    parsed = parse_datetime(value)
    if parsed is not None and not 1990 <= parsed.year <= 2100:
        return None
    return parsed


@dataclass(frozen=True)
class Resource:
    """One resource being normalised: its description, its index entry, and their context.

    Attributes:
        rdf: the description (``rdf.yaml``, or the index entry's fallback).
        payload: the index entry.
        builder: the record builder.
        iri: the primary node's IRI.
        base: the URL relative file references resolve against.
        known: ORCIDs by normalised person name within the description.
    """

    rdf: dict[str, Any]
    payload: dict[str, Any]
    builder: RecordBuilder
    iri: str
    base: str | None
    known: dict[str, str]


def common_props(resource: Resource) -> dict[str, Any]:
    """Properties shared by models and datasets."""
    rdf, payload, builder = resource.rdf, resource.payload, resource.builder
    iri, base, known = resource.iri, resource.base, resource.known
    config = as_dict(rdf.get("config"))
    versions = dict_list(payload.get("versions"))
    version_times = [when(v.get("created_at")) for v in versions]
    known_times = [t for t in version_times if t]
    concept = concept_doi(rdf, payload)
    modified = [when(payload.get("last_modified")), *known_times]
    keywords, tasks = keywords_and_tasks(tag_list(rdf.get("tags")), builder)
    authors = agents(rdf.get("authors"), builder, "author", known)
    if not authors:
        builder.note("field/author/missing")
    return {
        "id": iri,
        "url": iri,
        "name": scrub(rdf.get("name")),
        "description": scrub(rdf.get("description")),
        "identifier": [],
        "sameAs": [safe_iri(f"https://doi.org/{concept}")] if concept else [],
        "author": authors,
        "maintainer": agents(rdf.get("maintainers"), builder, "maintainer", known),
        "contributor": agents(rdf.get("packaged_by"), builder, "contributor", known),
        "citation": citations(rdf.get("cite"), builder),
        "license": license_iri(rdf.get("license"), builder),
        "keywords": keywords,
        "tasks": tasks,
        "version": as_str(rdf.get("version")) or as_str(rdf.get("version_number")),
        "dateCreated": when(rdf.get("timestamp"))
        or when(as_dict(config.get("bioimageio")).get("created"))
        or when(payload.get("created")),
        "datePublished": min(known_times) if known_times else when(payload.get("created_at")),
        "dateModified": max((t for t in modified if t), default=None),
        "image": unique(file_iri(cover, base) for cover in as_list(rdf.get("covers"))[:20]),
    }


def model_props(resource: Resource) -> dict[str, Any]:
    """Properties only models have: weights, lineage, training data, usage, code, docs."""
    rdf, payload, builder = resource.rdf, resource.payload, resource.builder
    iri, base, known = resource.iri, resource.base, resource.known
    downloads, formats, requirements, categories, contributors = weights(
        rdf.get("weights"), builder, iri, base, known
    )
    if not downloads:
        builder.note("field/distribution/missing")
    versions = dict_list(payload.get("versions"))
    latest_comment = versions[-1].get("comment") if versions else None
    uploader = agent(rdf["uploader"], builder, "uploader", known) if rdf.get("uploader") else None
    documentation = file_iri(rdf.get("documentation"), base)
    return {
        "distribution": downloads,
        "softwareRequirements": requirements,
        "modelCategory": categories,
        "contributor": contributors,
        "fineTunedFrom": linked(rdf.get("parent"), builder, "model"),
        "trainedOn": linked(rdf.get("training_data"), builder, "dataset"),
        "usageInstructions": usage_text(rdf, formats),
        "codeRepository": [r for r in [safe_iri(rdf.get("git_repo"))] if r],
        "readme": [documentation] if documentation else [],
        "sharedBy": [uploader] if uploader else [],
        "releaseNotes": release_note(rdf.get("version_comment")) or release_note(latest_comment),
        "downloadsAllTime": as_int(payload.get("download_count")),
    }
