"""OpenML datasets → ``schema:Dataset`` (the nodes OpenML runs are evaluated on).

``GET /json/data/{id}`` (``{"data_set_description": {...}}``) or a data-list row
(``{"did": 2, "name": ..., "version": 1, "quality": [...]}``) → ``https://www.openml.org/d/{id}``
with name, version, description, format, creators, contributors, upload date, language,
licence, tags, citation / paper, original data URL and the default target attribute
(project extension ``defaultTarget``). The data file itself is never fetched; its URL is not
mapped either (``schema:Dataset`` has no ``distribution`` in our profile).
"""

from __future__ import annotations

from typing import Any

from mlentory_crawl.identity import Minter, paper_iri
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import Dataset, FAIR4MLRecord, ScholarlyArticle
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import (
    as_str,
    parse_datetime,
    safe_iri,
    str_list,
    unique,
)
from mlentory_crawl.normalizers.openml_common import (
    MAX_NAME,
    add_license,
    add_people,
    add_tags,
    entity_id,
    entity_iri,
    language_codes,
    site_of,
    text,
    unwrap,
)

SPIDER = "openml"


def normalize_dataset(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """A dataset description (or list row) → record whose primary is the ``Dataset``."""
    data = unwrap(raw.payload, "data_set_description", "dataset")
    number = entity_id(data.get("id")) or entity_id(data.get("did"))
    if number is None:
        raise NormalizationError(
            f"dataset has no positive integer id: {str(data.get('id', data.get('did')))[:80]!r}"
        )
    builder = RecordBuilder(raw, minter)
    iri = entity_iri(site_of(raw.url), "d", number)
    name = text(data.get("name"), MAX_NAME)
    if name is None:
        builder.note("field/name/missing")
    status = as_str(data.get("status"))
    if status and status != "active":
        builder.note(f"dataset/status/{'deactivated' if status == 'deactivated' else 'other'}")
    citation, papers = _citations(builder, data)
    dataset = Dataset(
        id=iri,
        url=iri,
        identifier=[str(number)],
        name=name or f"OpenML dataset {number}",
        version=as_str(data.get("version")),
        description=text(data.get("description")),
        encodingFormat=str_list(data.get("format")),
        author=add_people(builder, data.get("creator")),
        contributor=add_people(builder, data.get("contributor")),
        dateCreated=parse_datetime(data.get("upload_date")),
        inLanguage=language_codes(builder, data.get("language")),
        license=add_license(builder, data.get("licence") or data.get("license")),
        keywords=add_tags(builder, [*str_list(data.get("tag")), *str_list(data.get("tags"))]),
        citation=citation,
        referencePublication=papers,
        isBasedOn=unique([safe_iri(data.get("original_data_url"))]),
        defaultTarget=_targets(data.get("default_target_attribute")),
    )
    return builder.build(dataset, spider=SPIDER)


def _targets(value: Any) -> list[str]:
    """``class`` or ``a,b`` (several targets) → ``["class"]`` / ``["a", "b"]``."""
    out: list[str] = []
    for item in str_list(value):
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return unique(out)


def _citations(builder: RecordBuilder, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``citation`` and ``paper_url``: papers by arXiv/DOI IRI, other URLs as they are."""
    citation: list[str] = []
    papers: list[str] = []
    paper = as_str(data.get("paper_url"))
    if paper:
        iri = paper_iri(paper) or safe_iri(paper)
        if iri:
            builder.add(ScholarlyArticle(id=iri, url=safe_iri(paper)))
            papers.append(iri)
            citation.append(iri)
    text_citation = as_str(data.get("citation"))
    if text_citation:
        iri = paper_iri(text_citation)
        if iri:
            builder.add(ScholarlyArticle(id=iri))
            citation.append(iri)
        elif (url := safe_iri(text_citation)) is not None and " " not in text_citation:
            citation.append(url)
        else:
            builder.note("field/citation/text_not_mapped")
    return unique(citation), unique(papers)
