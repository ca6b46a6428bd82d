# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# TORCH picks the PyTorch build: the CPU build by default; users with a GPU can run e.g.
#   make test TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
JOBS   ?= 2
BIN     = $(VENV)/bin

.PHONY: setup demo test bench clean

$(BIN)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/cnnkit demo

test: setup
	$(BIN)/python -m pytest -n $(JOBS)

bench: setup
	$(BIN)/python bench/conv_overhead.py
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/data_loader.py
	$(BIN)/python bench/blocks.py
	$(BIN)/python bench/viewer_latency.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
