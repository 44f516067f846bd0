# Two commands do everything on a fresh machine: `make serve` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RAG := $(VENV)/bin/rag
STAMP := $(VENV)/.installed
SHARED ?= ../shared
# make serve CORPUS=../shared/corpus  → serve an index of that corpus; without CORPUS, the sample corpus
CORPUS ?=
INDEX ?= $(if $(CORPUS),index/corpus,index/sample)

.PHONY: setup test lint serve bench eval sample clean

setup: $(STAMP)

# Idempotent: the venv is created once and reinstalled only when pyproject.toml or constraints.txt change.
# torch is pinned to the CPU build that lies on this machine's disk (constraints.txt), so nothing pulls CUDA.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest

index/sample-corpus: | setup
	$(RAG) sample index/sample-corpus

serve: setup $(if $(CORPUS),,index/sample-corpus)
	$(RAG) ingest $(if $(CORPUS),$(CORPUS),index/sample-corpus) --index $(INDEX)
	RAG_INDEX_DIR=$(INDEX) $(RAG) serve

bench: setup
	HF_HUB_OFFLINE=1 $(PY) -m eval.bench --corpus $(SHARED)/corpus

eval: setup
	$(RAG) ingest $(SHARED)/corpus --index index/shared
	$(RAG) eval --gold $(SHARED)/gold/dev.jsonl --index index/shared --out out/eval --compare

clean:
	rm -rf index/sample index/sample-corpus index/corpus index/shared out .pytest_cache .mypy_cache .ruff_cache
