"""Licence identifiers → SPDX IRIs (or named, non-SPDX licence nodes).

The table covers the licence ids the Hugging Face Hub offers, the ids bioimage.io validates
against and the free-text forms seen in OpenML and older records (``CC BY 4.0``, ``BSD-2``).
Matching is case-insensitive and ignores spaces/underscores versus hyphens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlentory_crawl.identity import slug

SPDX_BASE = "https://spdx.org/licenses/"

_SPDX_IDS = """
0BSD AFL-3.0 AGPL-3.0 AGPL-3.0-only AGPL-3.0-or-later Apache-1.1 Apache-2.0 Artistic-2.0
BSD-2-Clause BSD-3-Clause BSD-3-Clause-Clear BSD-4-Clause BSL-1.0 C-UDA-1.0 CC-BY-1.0 CC-BY-2.0
CC-BY-2.5 CC-BY-3.0 CC-BY-4.0 CC-BY-NC-1.0 CC-BY-NC-2.0 CC-BY-NC-2.5 CC-BY-NC-3.0 CC-BY-NC-4.0
CC-BY-NC-ND-1.0 CC-BY-NC-ND-2.0 CC-BY-NC-ND-2.5 CC-BY-NC-ND-3.0 CC-BY-NC-ND-4.0 CC-BY-NC-SA-1.0
CC-BY-NC-SA-2.0 CC-BY-NC-SA-2.5 CC-BY-NC-SA-3.0 CC-BY-NC-SA-4.0 CC-BY-ND-1.0 CC-BY-ND-2.0
CC-BY-ND-2.5 CC-BY-ND-3.0 CC-BY-ND-4.0 CC-BY-SA-1.0 CC-BY-SA-2.0 CC-BY-SA-2.5 CC-BY-SA-3.0
CC-BY-SA-4.0 CC0-1.0 CDLA-Permissive-1.0 CDLA-Permissive-2.0 CDLA-Sharing-1.0 ECL-2.0 EPL-1.0
EPL-2.0 EUPL-1.1 EUPL-1.2 GFDL-1.3 GPL-2.0 GPL-2.0-only GPL-2.0-or-later GPL-3.0 GPL-3.0-only
GPL-3.0-or-later ISC LGPL-2.1 LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0 LGPL-3.0-only
LGPL-3.0-or-later LGPLLR LPPL-1.3c MIT MIT-0 MPL-2.0 MS-PL NCSA ODbL-1.0 ODC-By-1.0 OFL-1.1
OSL-3.0 OpenMDW-1.0 PDDL-1.0 PostgreSQL Unlicense WTFPL Zlib etalab-2.0
"""
SPDX: dict[str, str] = {key.lower(): key for key in _SPDX_IDS.split()}

ALIASES: dict[str, str] = {
    "c-uda": "C-UDA-1.0",
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "lgpl-lr": "LGPLLR",
    "apache": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache-license-2.0": "Apache-2.0",
    "bsd-2": "BSD-2-Clause",
    "bsd-3": "BSD-3-Clause",
    "bsd-2-clause-simplified": "BSD-2-Clause",
    "bsd-3-clause-new-or-revised": "BSD-3-Clause",
    "cc-by": "CC-BY-4.0",
    "cc0": "CC0-1.0",
    "public": "CC0-1.0",
    "public-domain-cc0": "CC0-1.0",
    "gplv3": "GPL-3.0",
    "gplv2": "GPL-2.0",
    "mit-license": "MIT",
    # Free-text forms seen in bioimage.io rdf.yaml files (sources.md §4.3).
    "bsd2": "BSD-2-Clause",
    "bsd3": "BSD-3-Clause",
    "gpl-2": "GPL-2.0",
    "gpl-3": "GPL-3.0",
    "lgpl-3": "LGPL-3.0",
    "gpl-2.0+": "GPL-2.0-or-later",
    "gpl-3.0+": "GPL-3.0-or-later",
}

# Licence families and well-known non-SPDX licences: named nodes, with a URL where known.
NAMED: dict[str, tuple[str, str | None]] = {
    "bsd": ("BSD (family)", None),
    "cc": ("Creative Commons (family)", None),
    "gpl": ("GNU GPL (family)", None),
    "lgpl": ("GNU LGPL (family)", None),
    "gfdl": ("GNU FDL (family)", None),
    "openrail": ("OpenRAIL", "https://huggingface.co/blog/open_rail"),
    "openrail++": ("OpenRAIL++-M", None),
    "bigscience-openrail-m": (
        "BigScience OpenRAIL-M",
        "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
    ),
    "creativeml-openrail-m": (
        "CreativeML OpenRAIL-M",
        "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
    ),
    "bigscience-bloom-rail-1.0": (
        "BigScience BLOOM RAIL 1.0",
        "https://huggingface.co/spaces/bigscience/license",
    ),
    "bigcode-openrail-m": (
        "BigCode OpenRAIL-M",
        "https://huggingface.co/spaces/bigcode/bigcode-model-license-agreement",
    ),
    "h-research": ("H Research License", None),
    "intel-research": ("Intel Research Use License", None),
    "apple-ascl": ("Apple Sample Code License", None),
    "apple-amlr": ("Apple Machine Learning Research Model License", None),
    "openmdw-1.1": ("OpenMDW 1.1", None),
    "deepfloyd-if-license": (
        "DeepFloyd IF License",
        "https://huggingface.co/spaces/DeepFloyd/deepfloyd-if-license",
    ),
    "fair-noncommercial-research-license": (
        "FAIR Noncommercial Research License",
        "https://huggingface.co/facebook/fair-noncommercial-research-license",
    ),
    "llama2": ("Llama 2 Community License", "https://ai.meta.com/llama/license/"),
    "llama3": ("Llama 3 Community License", "https://llama.meta.com/llama3/license/"),
    "llama3.1": (
        "Llama 3.1 Community License",
        "https://llama.meta.com/llama3_1/license/",
    ),
    "llama3.2": (
        "Llama 3.2 Community License",
        "https://www.llama.com/llama3_2/license/",
    ),
    "llama3.3": (
        "Llama 3.3 Community License",
        "https://www.llama.com/llama3_3/license/",
    ),
    "llama4": ("Llama 4 Community License", "https://www.llama.com/llama4/license/"),
    "grok2-community": ("Grok 2 Community License", None),
    "gemma": ("Gemma Terms of Use", "https://ai.google.dev/gemma/terms"),
}

UNKNOWN = frozenset({"unknown", "none", "", "other-unknown", "not specified", "n/a"})


@dataclass(frozen=True)
class LicenseRef:
    """A resolved licence: its IRI, display name, SPDX id (if any) and URL (if any)."""

    iri: str
    name: str
    spdx: str | None = None
    url: str | None = None


def _key(text: str) -> str:
    key = re.sub(r"[()]", "", text.strip().lower())
    key = re.sub(r"[\s_]+", "-", key)
    key = key.replace("creative-commons-", "cc-").replace("attribution", "by")
    return key


def spdx_id(text: str) -> str | None:
    """The canonical SPDX id for a licence string, or ``None`` when it is not SPDX."""
    key = _key(text)
    if key in SPDX:
        return SPDX[key]
    if key in ALIASES:
        return ALIASES[key]
    stripped = re.sub(r"-license$", "", key)
    return SPDX.get(stripped) or ALIASES.get(stripped)


def resolve_license(
    text: str,
    *,
    source: str,
    base: str,
    name: str | None = None,
    link: str | None = None,
) -> LicenseRef | None:
    """Resolve a licence string from ``source`` into a :class:`LicenseRef`.

    Args:
        text: the licence as the source states it (``apache-2.0``, ``CC BY 4.0``, ``other``).
        source: the source name, used for minted non-SPDX licence IRIs.
        base: the project base IRI.
        name: a licence name given beside ``other`` (HF ``license_name``).
        link: a licence URL given beside ``other`` (HF ``license_link``), already absolute.

    Returns:
        ``None`` for ``unknown``-like values (no triple is written); otherwise the licence.
    """
    raw = text.strip()
    key = _key(raw)
    if key in UNKNOWN:
        return None
    spdx = spdx_id(raw)
    if spdx:
        return LicenseRef(SPDX_BASE + spdx, spdx, spdx, SPDX_BASE + spdx + ".html")
    base = base if base.endswith("/") else base + "/"
    if key == "other":
        if not name and not link:
            return None
        code = name or link or "other"
        return LicenseRef(f"{base}license/{source}/{slug(code)}", name or code, None, link)
    if key in NAMED:
        label, url = NAMED[key]
        return LicenseRef(f"{base}license/{source}/{slug(key)}", label, None, link or url)
    if raw.startswith(("http://", "https://")):
        return LicenseRef(f"{base}license/{source}/{slug(raw)}", name or raw, None, raw)
    return LicenseRef(f"{base}license/{source}/{slug(raw)}", name or raw, None, link)
