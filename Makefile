# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# TORCH picks the PyTorch build: the CPU build by default; users with a GPU can run e.g.
#   make test TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
JOBS   ?= 2
BIN     = $(VENV)/bin

.PHONY: setup demo test bench fuzz clean

$(BIN)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps minatar==1.0.15
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
	$(BIN)/python bench/viewer_load.py
	$(BIN)/python bench/rl_dqn.py
	$(BIN)/python bench/model_overhead.py
	$(BIN)/python bench/tasks.py

# Longer fuzzing than the test run's few seconds: the hypothesis fuzzers with fresh
# randomness and FUZZ_EXAMPLES examples each, then (where atheris is installed:
# `pip install atheris`) coverage-guided runs of FUZZ_SECONDS each; crashes go to out/fuzz/.
FUZZ_EXAMPLES ?= 5000
FUZZ_SECONDS  ?= 300
fuzz: setup
	CNNKIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -p no:cacheprovider -x \
		tests/test_fuzz_spec.py tests/test_fuzz_serve.py
	@if $(BIN)/python -c "import atheris" 2>/dev/null; then \
		for target in spec viewer; do \
			$(BIN)/python tests/hostile/fuzz_atheris.py $$target \
				-max_total_time=$(FUZZ_SECONDS) -artifact_prefix=out/fuzz/ || exit 1; \
		done; \
	else echo "atheris is not installed: coverage-guided fuzzing skipped (pip install atheris)"; fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
