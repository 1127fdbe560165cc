"""The ``tags`` of a Hub model dispatched by prefix (fair4ml.md §13.3).

``dataset:``/``base_model:``/``license:``/``arxiv:``/``doi:`` tags dispatch by prefix; codes
listed in the card's ``language`` and Hub-generated ISO 639-1 tags are languages (a bare code
the author wrote under ``tags``, like ``yi`` for Yi models, stays a keyword); Hub task ids are
tasks; hosting flags (``region:*``, ``deploy:*``, ``endpoints_compatible``…) are dropped;
everything else is a keyword. Pure function, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlentory_crawl.normalizers.common import ISO_639_1, is_language_code, str_list, unique
from mlentory_crawl.normalizers.hf_eval import KNOWN_TASKS, LEGACY_TASKS

#: Typed ``base_model:<relation>:<id>`` relations (fair4ml.md §13.3).
RELATIONS = ("finetune", "adapter", "quantized", "merge")
HOSTING_FLAGS = frozenset(
    {
        "endpoints_compatible", "autotrain_compatible", "text-generation-inference",
        "model-index", "has_space", "inference_endpoints",
    }
)  # fmt: skip
SKIPPED_PREFIXES = ("region:", "deploy:")


@dataclass
class Tags:
    """The ``tags`` list dispatched by prefix (fair4ml.md §13.3)."""

    datasets: list[str] = field(default_factory=list)
    base_models: list[tuple[str | None, str]] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    arxiv: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


def dispatch_tags(hub_tags: list[str], card_data: dict[str, Any]) -> Tags:
    """Dispatch the Hub's ``tags`` plus the card's ``tags`` and ``language``/``languages``.

    Args:
        hub_tags: the payload's ``tags`` (already coerced to texts).
        card_data: ``cardData`` merged with the card's front matter.
    """
    all_tags = unique(hub_tags + str_list(card_data.get("tags")))
    card_langs = str_list(card_data.get("language")) + str_list(card_data.get("languages"))
    declared = {lang.lower() for lang in card_langs}
    author_tags = {tag.lower() for tag in str_list(card_data.get("tags"))}
    tags = Tags()
    for lang in card_langs:  # "multilingual" is a property of the model, not a language
        (tags.keywords if lang.lower() == "multilingual" else tags.languages).append(lang)
    for tag in all_tags:
        low = tag.lower()
        prefix, _, rest = low.partition(":")
        rest = tag[len(prefix) + 1 :]
        if prefix in ("dataset", "license", "arxiv", "doi") and rest:
            {"dataset": tags.datasets, "license": tags.licenses, "arxiv": tags.arxiv,
             "doi": tags.dois}[prefix].append(rest)  # fmt: skip
        elif prefix == "base_model" and rest:
            relation, _, base = rest.partition(":")
            typed = base and relation.lower() in RELATIONS
            tags.base_models.append((relation.lower(), base) if typed else (None, rest))
        elif low.startswith(SKIPPED_PREFIXES) or low in HOSTING_FLAGS:
            continue
        elif is_language_code(tag) and (
            low in declared or (low in ISO_639_1 and low not in author_tags)
        ):  # a bare ISO code the author wrote as a tag ("yi" for Yi models) stays a keyword
            tags.languages.append(tag)
        elif low in KNOWN_TASKS or low in LEGACY_TASKS:
            tags.tasks.append(low)
        else:
            tags.keywords.append(tag)
    return tags
