"""Export the JSON Schema of a FAIR4ML record and the JSON-LD context.

Usage: ``python -m mlentory_crawl.items.schema [--context] [--base IRI]``
"""

from __future__ import annotations

import argparse
import json
import sys

from mlentory_crawl.items.fair4ml import record_json_schema
from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI, jsonld_context


def main(argv: list[str] | None = None) -> int:
    """Print the record JSON Schema (or, with ``--context``, the JSON-LD context)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--context", action="store_true", help="print the JSON-LD context")
    parser.add_argument("--base", default=DEFAULT_BASE_IRI, help="project base IRI")
    args = parser.parse_args(argv)
    doc = {"@context": jsonld_context(args.base)} if args.context else record_json_schema()
    json.dump(doc, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
