# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv/ when it is missing. PYTHON=/path/to/python3.12 overrides the search.

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.nre-installed
NP      ?= 2

# A Python >= 3.12: PATH first, then pyenv's versions (present here but not selected).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 python3 \
            $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python 2>/dev/null); do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
            && { command -v $$p; break; }; done)

.PHONY: venv demo test lint test-serial test-mpi clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python >= 3.12 found; set PYTHON=/path/to/python3.12" >&2; exit 1; }
	@echo "make: using $(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[pip,test]"
	@touch $@

demo: venv
	@start=$$(date +%s); \
	$(BIN)/nre mesh --grade pacss-3 --out results/demo-mesh && \
	$(BIN)/nre study run studies/default.toml && \
	$(BIN)/nre report studies/results/default && \
	echo "demo: done in $$(( $$(date +%s) - start )) s; report: studies/results/default/report/index.html"

lint: venv
	$(BIN)/ruff check .

# `make test` empties this mesh cache, then the serial run fills it and the 2-rank run reads it
# (tests/conftest.py, fixture session_cache): the meshes are built once per `make test`. Run alone,
# test-serial / test-mpi use a temporary cache of their own.
TEST_MESHES := $(CURDIR)/.cache/test-meshes
TEST_MESH_CACHE ?=

test-serial: venv
	NRE_TEST_MESH_CACHE=$(TEST_MESH_CACHE) $(BIN)/python -m pytest -q

test-mpi: venv
	NRE_TEST_MESH_CACHE=$(TEST_MESH_CACHE) timeout 3000 $(BIN)/mpirun -n $(NP) $(BIN)/python -m pytest -q -m mpi -p no:cacheprovider

test: lint
	rm -rf $(TEST_MESHES)
	$(MAKE) --no-print-directory test-serial test-mpi TEST_MESH_CACHE=$(TEST_MESHES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
