"""Small, source-independent helpers for normalizers: tolerant type coercion and text helpers.

Sources send missing, ``null`` and wrongly typed values (``tags`` as a string, ``downloads``
as ``"12"``, ``language: 5``). Every helper here returns a usable value or ``None``/``[]``;
none of them raises on bad input. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from mlentory_crawl.identity import paper_iri

#: The absolute-IRI rule of :mod:`mlentory_crawl.items.fair4ml` (kept in sync with it).
IRI_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_IRI_UNSAFE = re.compile(r"[\s<>\"{}|\\^`]")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$")
MAX_IRI_LENGTH = 2000
MAX_TEXT = 20_000
# Repetitions are bounded so that no pattern can backtrack quadratically on hostile text.
MD_LINK = re.compile(r"!?\[([^\[\]\n]{0,500})\]\(([^()\s]{0,2000})(?:\s+\"[^\"\n]{0,500}\")?\)")
_URL = re.compile(r"https?://[^\s<>\"'`)\]}|]+", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^<>]{0,500}>")
_ARXIV_REFS = (
    re.compile(
        r"arxiv\.org/(?:abs|pdf|html)/([\w.\-/]{0,60}?\d)(?:v\d+)?(?:\.pdf)?"
        r"(?=[\s)\]}>\"'#?,;]|\.(?:\s|$)|$)",
        re.I,
    ),
    re.compile(r"\barxiv\s*[:.]?\s*(\d{4}\.\d{4,5})(?:v\d+)?\b", re.I),
    re.compile(r"\beprint\s*=\s*[{\"]\s*(\d{4}\.\d{4,5})(?:v\d+)?\s*[}\"]", re.I),
)
_DOI_REF = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>{}\[\]|`]+)")

#: ISO 639-1 two-letter language codes (the form the Hub uses for language tags).
_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def as_list(value: Any) -> list[Any]:
    """A list view of ``value``: ``None`` → ``[]``, a list/tuple/set → list, a scalar → ``[it]``."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return [value]


def as_str(value: Any) -> str | None:
    """Stripped text; numbers become their decimal text; empty, bool, dict or list → ``None``."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return str(value)
    return None


def as_text(value: Any) -> str | None:
    """Stripped text only when ``value`` is a string (no number coercion); else ``None``."""
    return as_str(value) if isinstance(value, str) else None


def str_list(value: Any) -> list[str]:
    """Unique texts from a string, a list of strings/numbers or ``None`` (other items skipped)."""
    out: list[str] = []
    for item in as_list(value):
        text = as_str(item)
        if text is not None and text not in out:
            out.append(text)
    return out


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def dict_list(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list (or of a single dict)."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string (``"12"``, ``"1,234"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        number = parse_number(value)
        if isinstance(number, int):
            return number
        if isinstance(number, float) and number.is_integer():
            return int(number)
    return None


def parse_number(value: Any) -> int | float | None:
    """A finite number from a number or a numeric string (``"91.2%"`` → ``91.2``, ``"1,024"``).

    Strings are accepted only when they are *entirely* a number (an optional trailing ``%`` and
    thousands separators allowed), so ``"85.3 ± 0.2"`` is not silently truncated.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("%").strip()
    if not text or len(text) > 64 or not _NUMBER_RE.match(text):
        return None
    if not any(c.isdigit() for c in text):  # "." or "," alone
        return None
    text = text.replace(",", "")
    try:
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from ISO-8601 text or a date/datetime object.

    Naive values are taken as UTC; a bare date becomes midnight UTC. Anything else → ``None``.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0, 0))
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_datetime(value: Any) -> datetime | None:
    """A UTC datetime from epoch seconds, or milliseconds (values above ``1e11``).

    ``None`` for anything but a finite number, and for times outside 1970..2103.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = value / 1000 if value > 1e11 else value
    return datetime.fromtimestamp(seconds, UTC) if 0 < seconds < 4.2e9 else None


def yaml_nesting_depth(text: str) -> int:
    """An upper bound of the nesting depth of a YAML document, without parsing it.

    Counts flow-collection brackets (``[`` / ``{``) and block indentation levels. libyaml's
    C loader recurses per level and crashes the process on absurd depths, so callers refuse
    documents above a sane bound before handing them to a parser.
    """
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    indents = {len(line) - len(line.lstrip(" -")) for line in text.splitlines() if line.strip()}
    return deepest + len(indents)


def safe_iri(value: Any) -> str | None:
    """An absolute http(s) IRI from text, percent-encoding characters an IRI may not hold.

    Returns ``None`` for relative references, other schemes, empty hosts and over-long text.
    """
    text = as_str(value)
    if text is None or len(text) > MAX_IRI_LENGTH:
        return None
    match = re.match(r"^(https?)://", text, flags=re.IGNORECASE)
    if not match:
        return None
    rest = _IRI_UNSAFE.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text[match.end() :]
    )
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not host or host.startswith(("%", "@", ":")):
        return None
    encoded = f"{match.group(1).lower()}://{rest}"
    return encoded if IRI_RE.match(encoded) else None


def is_language_code(text: str) -> bool:
    """True for BCP 47-like language tags (``en``, ``zh-Hant``, ``eng``); ``False`` for prose."""
    return bool(_LANGUAGE_TAG.match(text))


def truncate(text: str | None, limit: int) -> tuple[str | None, bool]:
    """Cut ``text`` to ``limit`` characters (ending in ``…``); also say whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + "…", True


def unique(values: Iterable[Any]) -> list[Any]:
    """Values in first-seen order without duplicates (``None`` dropped)."""
    out: list[Any] = []
    for value in values:
        if value is not None and value not in out:
            out.append(value)
    return out


# --- Markdown / free-text helpers ---------------------------------------------------------


def plain(markdown: str) -> str:
    """Markdown/HTML reduced to plain text (links keep their text)."""
    text = MD_LINK.sub(lambda m: m.group(1), markdown)
    text = _HTML_TAG.sub("", text)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def first_url(markdown: str) -> str | None:
    """The first http(s) URL in Markdown (a link target or a bare URL)."""
    for match in MD_LINK.finditer(markdown):
        if match.group(2).lower().startswith(("http://", "https://")):
            return match.group(2)
    bare = _URL.search(markdown)
    return bare.group(0).rstrip(".,;:") if bare else None


def paper_refs(text: str) -> list[str]:
    """Paper IRIs (arXiv abs or doi.org) cited anywhere in ``text``, in order of appearance."""
    found: list[tuple[int, str]] = []
    for pattern in _ARXIV_REFS:
        for match in pattern.finditer(text):
            iri = paper_iri("arxiv:" + match.group(1))
            if iri:
                found.append((match.start(), iri))
    for match in _DOI_REF.finditer(text):
        iri = paper_iri(match.group(1).rstrip(".,;:)}"))
        if iri:
            found.append((match.start(), iri))
    out: list[str] = []
    for _, iri in sorted(found):
        if iri not in out:
            out.append(iri)
    return out


# --- model files ------------------------------------------------------------------------------

#: ``schema:encodingFormat`` of model weight files, by file extension.
WEIGHT_FORMATS = {
    ".safetensors": "safetensors", ".bin": "pytorch", ".pt": "pytorch", ".pth": "pytorch",
    ".gguf": "gguf", ".ggml": "ggml", ".onnx": "onnx", ".h5": "hdf5", ".hdf5": "hdf5",
    ".keras": "keras", ".ckpt": "ckpt", ".msgpack": "flax-msgpack", ".tflite": "tflite",
    ".pb": "tensorflow-protobuf", ".mlmodel": "coreml", ".ot": "libtorch", ".nemo": "nemo",
    ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".pdparams": "paddle",
    ".llamafile": "llamafile", ".caffemodel": "caffe", ".engine": "tensorrt",
}  # fmt: skip
_NOT_WEIGHTS = re.compile(
    r"(?:^|/)(?:training_args\.bin|optimizer\.(?:pt|bin)|scheduler\.pt|scaler\.pt|rng_state[^/]*)$"
)


def weight_format(filename: str) -> str | None:
    """The format of a model weight file (``model.safetensors`` → ``safetensors``), else ``None``.

    Training by-products that share weight extensions (``optimizer.pt``,
    ``training_args.bin``, ``rng_state*.pth``) are not weights.
    """
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if _NOT_WEIGHTS.search(filename):
        return None
    return WEIGHT_FORMATS.get(suffix)
