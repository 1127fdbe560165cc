"""The Hugging Face normalizer over every real Hub response and model card in ``../shared``.

Inputs (read in place, never copied into the project):

* every ``huggingface/api/models/**.json`` (full model documents and ``__expand-*`` partial
  payloads; ``*.307.txt`` redirect bodies are skipped), with the card from
  ``huggingface/model_cards/<org>__<name>/README.md`` attached when one exists for that id;
* every card under ``huggingface/model_cards/`` and the Hub cards among the anchor fixtures
  (``*card*.txt``, ``readme_example_*.txt``), each wrapped in a minimal payload
  ``{"id": <derived id>, "cardData": <parsed front matter>}`` plus the card attachment.

Nothing may raise; at least 90 % of the records must validate (JSON-LD round trip, Turtle
round trip, profile-required fields). The validation share and per-property coverage of the
primary ``MLModel`` are printed (``pytest -s``) and written to
``tests/realdata/_reports/hf_coverage.txt`` (git-ignored).

``MLENTORY_SHARED_DIR`` points at the shared folder (default ``<repo>/../shared``).
"""

from __future__ import annotations

import json
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from realdata_support import field_coverage, note_counts, record_problems

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord, MLModel
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.normalizers.hf_card import parse_card
from mlentory_crawl.normalizers.huggingface import normalize

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MLENTORY_SHARED_DIR", REPO.parent / "shared"))
FIXTURES = SHARED / "fixtures"
HF_DIR = FIXTURES / "huggingface"
REPORT = Path(__file__).resolve().parent / "_reports" / "hf_coverage.txt"
RETRIEVED = "2025-03-21T12:00:00Z"
MIN_VALID_SHARE = 0.90


@dataclass
class Outcome:
    """What happened to one input."""

    label: str
    group: str
    record: FAIR4MLRecord | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.record is not None and not self.problems


def _card_attachment(repo_id: str, path: Path) -> dict[str, Attachment]:
    text = path.read_text(encoding="utf-8", errors="replace")
    url = f"https://huggingface.co/{repo_id}/raw/main/README.md"
    return {"card": Attachment(url=url, status=200, text=text)}


def _raw(
    repo_id: str, payload: object, api_url: str, attachments: dict[str, Attachment]
) -> RawRecord:
    return RawRecord(
        source="huggingface",
        source_id=repo_id,
        url=f"https://huggingface.co/{repo_id}",
        api_url=api_url,
        retrieved_at=RETRIEVED,
        payload=payload,
        attachments=attachments,
        job_id="realdata",
    )


def _card_dir_id(directory: Path) -> str:
    """``org__name[__2020]`` → ``org/name``."""
    parts = directory.name.split("__")
    if len(parts) > 2 and re.fullmatch(r"\d{4}", parts[-1]):
        parts = parts[:-1]
    return "/".join(parts[:2])


def _api_inputs() -> list[tuple[str, str, RawRecord]]:
    cards = HF_DIR / "model_cards"
    out = []
    for path in sorted((HF_DIR / "api" / "models").rglob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        repo_id = str(payload.get("id", path.stem)) if isinstance(payload, dict) else path.stem
        query = ""
        if "__expand-" in path.name:
            query = "?expand[]=" + path.stem.split("__expand-", 1)[1].removeprefix("brackets-")
        card = cards / repo_id.replace("/", "__") / "README.md"
        attachments = _card_attachment(repo_id, card) if card.is_file() else {}
        api_url = f"https://huggingface.co/api/models/{repo_id}{query}"
        label = str(path.relative_to(HF_DIR))
        out.append((label, "api", _raw(repo_id, payload, api_url, attachments)))
    return out


def _card_files() -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for path in sorted((HF_DIR / "model_cards").rglob("*.md")):
        if path.name == "README.md":
            found.append((_card_dir_id(path.parent), path))
        else:  # synthetic edge-case cards of the huggingface_hub test-suite
            found.append((f"hf-hub-test-cards/{path.stem}", path))
    anchor = FIXTURES / "anchor"
    for pattern in ("*card*.txt", "readme_example_*.txt"):
        for path in sorted(anchor.rglob(pattern)):
            found.append((f"anchor/{path.stem}", path))
    return found


def _card_inputs() -> list[tuple[str, str, RawRecord]]:
    out = []
    for repo_id, path in _card_files():
        attachments = _card_attachment(repo_id, path)
        card_text = attachments["card"].text or ""
        payload: dict[str, object] = {"id": repo_id}
        front = parse_card(card_text).metadata_raw
        if front is not None:
            payload["cardData"] = front
        api_url = f"https://huggingface.co/api/models/{repo_id}"
        label = str(path.relative_to(FIXTURES))
        out.append((label, "card", _raw(repo_id, payload, api_url, attachments)))
    return out


def _check(record: FAIR4MLRecord) -> list[str]:
    """Problems that make a record count as not validating."""
    primary = record.primary
    problems = [] if isinstance(primary, MLModel) else [f"primary is {primary.type_name}"]
    return problems + record_problems(record)


def _run() -> list[Outcome]:
    minter = Minter()
    outcomes = []
    for label, group, raw in _api_inputs() + _card_inputs():
        outcome = Outcome(label=label, group=group)
        try:
            outcome.record = normalize(raw, minter)
            outcome.problems = _check(outcome.record)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            outcome.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        outcomes.append(outcome)
    return outcomes


def _report(outcomes: list[Outcome]) -> str:
    total = len(outcomes)
    valid = sum(o.valid for o in outcomes)
    lines = [
        "Hugging Face normalizer: real-data coverage",
        f"shared dir: {SHARED}",
        f"inputs: {total} ({sum(o.group == 'api' for o in outcomes)} API payloads, "
        f"{sum(o.group == 'card' for o in outcomes)} card-only)",
        f"validated: {valid}/{total} = {valid / total:.1%}",
        "",
    ]
    for outcome in outcomes:
        if not outcome.valid:
            lines.append(f"NOT VALID {outcome.label}: {outcome.error or outcome.problems}")
    for group in ("all", "api", "card"):
        chosen = [
            o.record.primary for o in outcomes if o.record is not None and group in ("all", o.group)
        ]
        lines += ["", f"MLModel field coverage ({group}: {len(chosen)} records)"]
        lines.append(f"{'field':<28} {'present':>9} {'share':>7}")
        for name, present in field_coverage(MLModel, chosen):
            share = present / len(chosen) if chosen else 0.0
            lines.append(f"{name:<28} {f'{present}/{len(chosen)}':>9} {share:>7.0%}")
    notes = note_counts(o.record for o in outcomes)
    lines += ["", "data-quality notes (records)"]
    lines += [f"{count:>5}  fair4ml/{note}" for note, count in sorted(notes.items())]
    nodes = sum(len(o.record.graph) for o in outcomes if o.record)
    lines.append(f"\nnodes in all records: {nodes}")
    return "\n".join(lines) + "\n"


def test_every_real_hub_input_normalizes_and_most_validate() -> None:
    if not HF_DIR.is_dir():
        pytest.skip(f"{SHARED} not found: real-data suite skipped (set MLENTORY_SHARED_DIR)")
    outcomes = _run()
    assert outcomes, "no Hugging Face fixtures found"
    report = _report(outcomes)
    print("\n" + report)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")
    errors = [f"{o.label}: {o.error}" for o in outcomes if o.error]
    assert not errors, "normalizer raised on real data:\n" + "\n".join(errors)
    share = sum(o.valid for o in outcomes) / len(outcomes)
    assert share >= MIN_VALID_SHARE, f"only {share:.1%} of real records validate"
