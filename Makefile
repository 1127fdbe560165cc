# Everyday targets. `make demo` and `make test` are the two README set-up commands.
PYTHON ?= python3
SOURCE ?= huggingface

.PHONY: install install-dev demo test unit lint format services-up services-down services-status crawl load schema bench clean

install:            ## install the package (runtime only)
	$(PYTHON) -m pip install -q -e .

install-dev:        ## install the package with test and lint tools
	$(PYTHON) -m pip install -q -e ".[dev]"

demo:               ## install, then harvest the shipped sample data offline into ./data
	$(PYTHON) -m pip install -q -e .
	bash scripts/demo.sh $(SOURCE)

test:               ## install everything, start the services, lint, run every test, stop the services
	bash scripts/test.sh

unit:               ## fast tests only (no services, no subprocess crawls)
	$(PYTHON) -m pytest -q tests/unit tests/spiders -m "not services and not slow"

lint:               ## ruff + mypy
	ruff check mlentory_crawl tests benchmarks
	ruff format --check mlentory_crawl
	mypy

format:
	ruff format mlentory_crawl tests benchmarks
	ruff check --fix mlentory_crawl tests benchmarks

services-up:        ## real Neo4j, Elasticsearch and Redis on 127.0.0.1 (no Docker)
	bash scripts/services.sh up all

services-down:
	bash scripts/services.sh down all

services-status:
	bash scripts/services.sh status

crawl:              ## live harvest: make crawl SOURCE=huggingface ARGS="-a limit=100"
	scrapy crawl $(SOURCE) $(ARGS)

load:               ## (re)load data/normalized into the configured stores
	scrapy load $(ARGS)

schema:             ## print the FAIR4ML record JSON Schema
	$(PYTHON) -m mlentory_crawl.items.schema

bench:              ## benchmarks (print measured figures)
	$(PYTHON) benchmarks/bench_files.py
	$(PYTHON) benchmarks/bench_stores.py

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
