#!/usr/bin/env bash
# The README's test command (`make test`) and what CI runs: install everything, start every
# service the tests need, lint, run the whole suite, and stop what was started.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
echo "== installing system packages (Chromium, Redis, ...)"
bash scripts/install-system.sh
echo "== installing the project with its test tools"
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "Running pip as the 'root' user" || true
"$PYTHON" -c "import mlentory_crawl, scrapy, neo4j, elasticsearch, rdflib, scrapy_playwright, scrapyd"

echo "== starting services"
trap 'echo "== stopping services"; bash scripts/services.sh down all || true' EXIT
bash scripts/services.sh up all

# Test-only addresses: the integration fixtures hand them to the crawls they start, so a
# file-only test never writes to a store by accident (NEO4J_URI etc. stay unset).
unset NEO4J_URI ELASTICSEARCH_URL
export MLENTORY_TEST_NEO4J_URI="bolt://127.0.0.1:${NEO4J_BOLT_PORT:-7687}"
export MLENTORY_TEST_ELASTICSEARCH_URL="http://127.0.0.1:${ES_PORT:-9200}"
export MLENTORY_TEST_REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6379}/0"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export MLENTORY_REQUIRE_SERVICES=1

echo "== lint"
ruff check mlentory_crawl tests benchmarks
mypy

echo "== tests"
"$PYTHON" -m pytest -q -p no:cacheprovider "$@"
