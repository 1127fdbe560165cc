"""Helpers shared by the OpenML normalizers: ids, IRIs, one-or-many fields, shared nodes.

OpenML's single-entity JSON is its XML converted mechanically (every scalar a string, a
repeated element collapsed to a scalar when it occurs once, an empty element as ``[]``);
list endpoints use hand-written templates (unquoted ints, ``tags`` instead of ``tag``). The
helpers here accept both shapes. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from mlentory_crawl.identity import path_segment
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import DefinedTerm, Person
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.builders import license_node
from mlentory_crawl.normalizers.common import (
    ISO_639_1,
    as_dict,
    as_str,
    str_list,
)

SOURCE = "openml"
SITE = "https://www.openml.org"
TEST_SITE = "https://test.openml.org"
#: Upper bounds that keep a hostile payload from blowing up one record.
MAX_TAGS = 200
MAX_AGENTS = 100
MAX_NAME = 500
_ID_RE = re.compile(r"^\s*\d{1,12}\s*$")

#: Natural-language names OpenML uses (``English``, ``english``) → BCP 47 codes.
LANGUAGES = {
    "english": "en",
    "dutch": "nl",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "russian": "ru",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "arabic": "ar",
    "polish": "pl",
    "swedish": "sv",
    "greek": "el",
    "turkish": "tr",
    "czech": "cs",
    "finnish": "fi",
    "danish": "da",
    "norwegian": "no",
    "hungarian": "hu",
    "hindi": "hi",
}
#: Values of a flow's ``language`` that are programming languages, not natural ones.
PROGRAMMING_LANGUAGES = {
    "java": "Java",
    "python": "Python",
    "r": "R",
    "c": "C",
    "c++": "C++",
    "matlab": "MATLAB",
    "julia": "Julia",
    "scala": "Scala",
    "javascript": "JavaScript",
}


def entity_id(value: Any) -> int | None:
    """A positive OpenML id from ``1`` or ``"1"``; anything else (``"1; x"``, ``-3``) → ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and _ID_RE.match(value):
        number = int(value)
        return number if number > 0 else None
    return None


def site_of(raw_url: str) -> str:
    """The OpenML site a record belongs to: the test server's ids are not production ids."""
    return TEST_SITE if raw_url.startswith(TEST_SITE + "/") else SITE


def entity_iri(site: str, letter: str, number: int) -> str:
    """The page of an OpenML entity: ``<site>/<letter>/<id>`` (letters f, r, d, t, u)."""
    return f"{site}/{letter}/{number}"


def fragment_iri(base: str, name: str) -> str:
    """``<base>#<percent-encoded name>`` for nodes that live inside a page (metrics, params)."""
    return f"{base}#{path_segment(name)}"


def unwrap(payload: Any, *keys: str) -> dict[str, Any]:
    """The entity object of a payload: the first of ``keys`` present, or the payload itself.

    Raises:
        NormalizationError: the payload is OpenML error JSON or not an object at all.
    """
    if not isinstance(payload, dict):
        raise NormalizationError(f"payload is {type(payload).__name__}, not a JSON object")
    error = api_error(payload)
    if error is not None:
        raise NormalizationError(f"payload is OpenML error JSON: code {error[0]}: {error[1]}")
    for key in keys:
        if key in payload:
            inner = payload[key]
            if not isinstance(inner, dict):
                raise NormalizationError(f"{key!r} is {type(inner).__name__}, not an object")
            return inner
    return payload


def api_error(payload: Any) -> tuple[str, str] | None:
    """``(code, message)`` when ``payload`` is OpenML's error JSON (``{"error": {...}}``)."""
    if not isinstance(payload, dict) or set(payload) != {"error"}:
        return None
    error = as_dict(payload.get("error"))
    code = as_str(error.get("code")) or "?"
    message = as_str(error.get("message")) or ""
    return code, message[:300]


def text(value: Any, limit: int | None = None) -> str | None:
    """Stripped text, ``None`` for ``[]``/empty/non-text; longer text cut at ``limit``."""
    value = as_str(value)
    if value is not None and limit is not None and len(value) > limit:
        return None
    return value


def add_tags(builder: RecordBuilder, value: Any) -> list[str]:
    """Keyword ``DefinedTerm``s for OpenML tags; returns their IRIs."""
    iris: list[str] = []
    tags = str_list(value)
    if len(tags) > MAX_TAGS:
        builder.note("field/keywords/truncated")
    for tag in tags[:MAX_TAGS]:
        if len(tag) > 200:
            continue
        iri = builder.minter.keyword(tag)
        builder.add(DefinedTerm(id=iri, name=tag))
        iris.append(iri)
    return iris


def add_people(builder: RecordBuilder, value: Any) -> list[str]:
    """Name-only ``Person`` nodes (OpenML gives creators as free text); returns their IRIs."""
    iris: list[str] = []
    for name in str_list(value)[:MAX_AGENTS]:
        if len(name) > MAX_NAME:
            builder.note("field/author/too_long")
            continue
        iri = builder.minter.agent(SOURCE, name)
        builder.add(Person(id=iri, name=name))
        iris.append(iri)
    return iris


def add_user(builder: RecordBuilder, site: str, user: Any, name: Any = None) -> list[str]:
    """The OpenML user page (``<site>/u/<id>``) as a ``Person``; ``[]`` without a valid id."""
    number = entity_id(user)
    if number is None:
        return []
    iri = entity_iri(site, "u", number)
    builder.add(Person(id=iri, name=text(name, MAX_NAME), url=iri, identifier=[str(number)]))
    return [iri]


def add_license(builder: RecordBuilder, value: Any) -> list[str]:
    """The licence node (SPDX when it resolves, else a named OpenML licence); its IRI."""
    licence = text(value, 300)
    return [] if licence is None else license_node(builder, licence, SOURCE)


def language_codes(builder: RecordBuilder, value: Any) -> list[str]:
    """BCP 47 codes for OpenML's language names (``English`` → ``en``); unknown ones noted."""
    codes: list[str] = []
    for name in str_list(value):
        key = name.strip().lower()
        if key in LANGUAGES:
            codes.append(LANGUAGES[key])
        elif key in ISO_639_1:
            codes.append(key)
        elif key not in PROGRAMMING_LANGUAGES:
            builder.note("field/inLanguage/unmapped")
    return codes


def task_type_term(builder: RecordBuilder, task_type: Any, type_id: Any = None) -> str | None:
    """The ``DefinedTerm`` of an OpenML task type (``Supervised Classification``); its IRI."""
    name = text(task_type, 200)
    if name is None:
        return None
    iri = builder.minter.task(SOURCE, name)
    number = entity_id(type_id)
    builder.add(
        DefinedTerm(id=iri, name=name, termCode=str(number) if number is not None else None)
    )
    return iri
