"""People and references in bioimage.io descriptions: authors, maintainers, citations, licence.

Persons are keyed by ORCID when a valid one is given (check digit verified), else minted by
name under the source (``minter.agent``), else by GitHub login; the GitHub profile is kept as
``sameAs``. Within one description a name that appears once with an ORCID resolves to that
ORCID everywhere in the description (never across records).

Privacy: e-mail addresses never enter a record. ``email`` fields are not read, and every free
text taken from a description goes through :func:`scrub`. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from mlentory_crawl.identity import orcid_iri, paper_iri
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import CreativeWork, Organization, Person, ScholarlyArticle
from mlentory_crawl.normalizers.builders import license_node
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    dict_list,
    safe_iri,
    unique,
)

SOURCE = "bioimageio"
MAX_AGENTS = 100
MAX_CITES = 50

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_EMPTY_NOTE = re.compile(r"^\W*(?:(?:published|uploaded|created|submitted)\s+by)?\W*$", re.I)


def scrub(text: Any) -> str | None:
    """Text without e-mail addresses (``None`` when nothing but an address was there)."""
    value = as_str(text)
    if value is None:
        return None
    cleaned = _EMAIL.sub("", value) if "@" in value else value
    cleaned = re.sub(r"\(\s*\)|<\s*>|\[\s*\]", "", cleaned)
    cleaned = re.sub(r"\s{2,}", " ", cleaned).strip(" ,;:")
    return cleaned or None


def release_note(text: Any) -> str | None:
    """A version comment without e-mails; ``Published by <address>`` alone gives ``None``."""
    value = scrub(text)
    return None if value is None or _EMPTY_NOTE.match(value) else value


def valid_orcid(text: str) -> str | None:
    """``https://orcid.org/<ID>`` when ``text`` holds an ORCID with a valid check digit."""
    iri = orcid_iri(text)
    if iri is None:
        return None
    digits = iri.rsplit("/", 1)[1].replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    result = (12 - total % 11) % 11
    return iri if digits[-1] == ("X" if result == 10 else str(result)) else None


def _affiliations(value: Any, builder: RecordBuilder) -> list[str]:
    iris: list[str] = []
    for item in as_list(value)[:10]:
        spec = item if isinstance(item, dict) else {"name": item}
        name = scrub(spec.get("name"))
        if not name:
            continue
        iri = builder.minter.node(f"agent/{SOURCE}/org", name.lower())
        builder.add(Organization(id=iri, name=name, url=safe_iri(spec.get("url"))))
        iris.append(iri)
    return iris


def person_name(value: Any) -> str | None:
    """A display name: e-mails scrubbed, a ``;@handle`` suffix (seen in spec examples) cut."""
    name = scrub(value)
    if name and ";" in name:
        name = name.split(";", 1)[0].strip() or name
    return name[:200] if name else None


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def known_orcids(rdf: dict[str, Any]) -> dict[str, str]:
    """Name → ORCID IRI for every person of one description who states a valid ORCID.

    Within one description the same name is the same person, so a maintainer listed with a
    GitHub login only joins the author who gave an ORCID (never across records).
    """
    entries: list[Any] = []
    for key in ("authors", "maintainers", "packaged_by"):
        entries += as_list(rdf.get(key))[:MAX_AGENTS]
    for spec in as_dict(rdf.get("weights")).values():
        if isinstance(spec, dict):
            entries += as_list(spec.get("authors"))[:MAX_AGENTS]
    known: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict):
            name, orcid = person_name(entry.get("name")), as_str(entry.get("orcid"))
            iri = valid_orcid(orcid) if orcid else None
            if name and iri:
                known.setdefault(_name_key(name), iri)
    return known


def agent(
    entry: Any, builder: RecordBuilder, role: str, known: dict[str, str] | None = None
) -> str | None:
    """One author/maintainer/uploader as a Person node; returns its IRI.

    ORCID (valid check digit) → ``https://orcid.org/<ID>``; else the ORCID another entry of
    the same description gives for this name (``known``); else a name →
    ``minter.agent("bioimageio", name)``; else a GitHub login → ``https://github.com/<login>``.
    The GitHub profile is kept as ``sameAs``. E-mails are never read.
    """
    if not isinstance(entry, dict | str):
        return None
    spec = entry if isinstance(entry, dict) else {"name": entry}
    name = person_name(spec.get("name"))
    github = as_str(spec.get("github_user")) or as_str(spec.get("github"))
    github_url = f"https://github.com/{github}" if github and _GITHUB_LOGIN.match(github) else None
    iri = None
    orcid = as_str(spec.get("orcid"))
    if orcid:
        iri = valid_orcid(orcid)
        if iri is None:
            builder.note(f"field/{role}/orcid_invalid")
    if iri is None and name:
        iri = (known or {}).get(_name_key(name)) or builder.minter.agent(SOURCE, name)
    if iri is None:
        iri = github_url
    if iri is None:
        if as_str(spec.get("email")):
            builder.note(f"field/{role}/email_only_dropped")
        return None
    same = [github_url] if github_url and github_url != iri else []
    builder.add(
        Person(
            id=iri,
            name=name,
            affiliation=_affiliations(spec.get("affiliation"), builder),
            sameAs=same,
        )
    )
    return iri


def agents(
    value: Any, builder: RecordBuilder, role: str, known: dict[str, str] | None = None
) -> list[str]:
    """Person IRIs for a list of author-like entries (a single entry is accepted too)."""
    items = value if isinstance(value, list) else as_list(value)
    return unique(agent(item, builder, role, known) for item in items[:MAX_AGENTS])


# -- citations and licence ------------------------------------------------------------------


def citations(value: Any, builder: RecordBuilder) -> list[str]:
    """``cite[]{text, doi, url}`` → ScholarlyArticle (DOI/arXiv) or CreativeWork (URL) IRIs.

    The citation text becomes the name only when it reads like a reference (four words or
    more); short role labels such as ``architecture`` would mislabel a shared paper node.
    """
    iris: list[str] = []
    for cite in dict_list(value)[:MAX_CITES]:
        text = scrub(cite.get("text"))
        name = text if text and len(text.split()) >= 4 else None
        doi, url = as_str(cite.get("doi")), as_str(cite.get("url"))
        iri = paper_iri(doi) if doi else None
        if iri is None and url and re.search(r"arxiv\.org/|(?:^|/)10\.\d{4,9}/", url, re.I):
            iri = paper_iri(url)
        if iri:
            builder.add(ScholarlyArticle(id=iri, name=name))
        elif url and (iri := safe_iri(url)):
            builder.add(CreativeWork(id=iri, name=name))
        else:
            builder.note("field/citation/unresolvable")
            continue
        iris.append(iri)
    return unique(iris)


def license_iri(value: Any, builder: RecordBuilder) -> list[str]:
    """The licence as an SPDX (or named non-SPDX) CreativeWork node."""
    text = as_str(value)
    if text is None:
        spec = as_dict(value)
        text = as_str(spec.get("id")) or as_str(spec.get("name"))
    if text is None:
        builder.note("field/license/missing")
        return []
    return license_node(builder, text[:200], SOURCE)
