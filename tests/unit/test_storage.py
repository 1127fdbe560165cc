"""Rotated part files: rotation, kill tolerance, repair on reopen."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph

from mlentory_crawl.storage import (
    PartWriter,
    ReadStats,
    iter_jsonl,
    iter_turtle_chunks_text,
    part_files,
    safe_name,
)

TTL = '<https://ex.org/a> <http://schema.org/name> "a" .'


def test_rotation_by_count(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path / "job", "jsonl", part_records=3)
    for i in range(7):
        writer.write_line(json.dumps({"i": i}))
    writer.close()
    parts = part_files(tmp_path, "jsonl")
    assert [p.name for p in parts] == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    assert [o["i"] for o in iter_jsonl(parts)] == list(range(7))


def test_partial_last_line_is_tolerated_and_repaired(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    writer = PartWriter(folder, "jsonl", part_records=100)
    writer.write_line('{"i": 0}')
    writer.write_line('{"i": 1}')
    # Simulate a kill in the middle of a write.
    assert writer._fh is not None
    writer._fh.write('{"i": 2, "trunc')
    writer._fh.flush()
    stats = ReadStats()
    assert [o["i"] for o in iter_jsonl(part_files(tmp_path, "jsonl"), stats)] == [0, 1]
    assert stats.partial_lines == 1
    # A new process reopening the job repairs the part and continues in a new one.
    again = PartWriter(folder, "jsonl", part_records=100)
    again.write_line('{"i": 2}')
    again.close()
    stats = ReadStats()
    assert [o["i"] for o in iter_jsonl(part_files(tmp_path, "jsonl"), stats)] == [0, 1, 2]
    assert stats.partial_lines == 0
    assert (folder / "part-00000.jsonl").read_text().endswith("\n")


def test_turtle_parts_are_renamed_when_complete(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    writer = PartWriter(folder, "ttl", part_records=2)
    for i in range(3):
        writer.write_turtle(f"https://ex.org/r{i}", TTL.replace("/a>", f"/a{i}>"))
    assert (folder / "part-00000.ttl").exists()
    assert (folder / "part-00001.ttl.partial").exists()
    writer.close()
    assert not list(folder.glob("*.partial"))
    for path in part_files(tmp_path, "ttl"):
        Graph().parse(path, format="turtle")  # each part is a valid Turtle document


def test_killed_turtle_part_is_repaired(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    writer = PartWriter(folder, "ttl", part_records=10)
    writer.write_turtle("https://ex.org/r0", TTL)
    assert writer._fh is not None
    writer._fh.write("# @record https://ex.org/r1\n<https://ex.org/b> <http://sch")
    writer._fh.flush()
    text = (folder / "part-00000.ttl.partial").read_text()
    assert [iri for iri, _ in iter_turtle_chunks_text(text)] == ["https://ex.org/r0"]
    PartWriter(folder, "ttl", part_records=10).close()
    repaired = folder / "part-00000.ttl"
    assert repaired.exists()
    assert len(Graph().parse(repaired, format="turtle")) == 1


def test_safe_name_never_escapes_the_folder() -> None:
    assert "/" not in safe_name("../../etc/passwd")
    assert safe_name("..") == "unnamed"
    assert safe_name("20260101T000000Z-ab12") == "20260101T000000Z-ab12"
