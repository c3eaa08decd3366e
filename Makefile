# valuekit — every target does its own set-up; run any of them on a fresh machine.
#   make reproduce   run every paper notebook at its default parameters, write reports/
#   make test        notebooks and package in sync, nbdev_test (also on a second CPU configuration), pytest (papers through papermill)
#   make llama       build and install llama.cpp's server (portable x86-64 build, ~5 min once; cached by its flags)
#   make serve       serve the default model with llama.cpp until Ctrl-C; then: valuekit run SLUG --model openai:default
#   make lab         JupyterLab on the notebooks, with the kit's environment
#   make docs        the documentation site (needs Quarto); make docs-check works without it
#   make readme      regenerate README.md from nbs/index.ipynb
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# The CPU build that lies on this workplace's disk; with CUDA: make reproduce TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
OUT ?= reports

ifneq ($(wildcard ../shared/data),)
export VALUEKIT_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: help readme install model llama serve test test-sync test-nbdev test-variant test-py test-server reproduce report lab docs docs-check bench browser binder-check clean

help:
	@sed -n 's/^#   //p' Makefile

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Reinstall only when the declared requirements change.
$(VENV)/.installed: settings.ini setup.py | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	$(BIN)/jupyter labextension list 2>&1 | grep -q jupyterlab_widgets || (echo "ipywidgets' JupyterLab extension is missing"; exit 1)
	touch $@

install: $(VENV)/.installed

model: install
	$(BIN)/valuekit prepare

browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
	|| { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	       apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	     else echo "Chromium is needed for the docs and JupyterLab checks: install it (Debian: sudo apt-get install chromium)"; exit 1; fi; }

test-sync: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q tests/test_sync.py

test-nbdev: install
	HF_HUB_OFFLINE=1 $(BIN)/nbdev_test --n_workers 2

# The same library tests on a second CPU configuration: AVX2 kernels instead of the machine's best, one thread instead
# of all. float32 results move with the kernels and the thread count; a test that depends on them fails here.
CPU_VARIANT := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
test-variant: install model
	@$(CPU_VARIANT) $(PY) -c "import torch; print('second CPU configuration: torch kernels', torch.backends.cpu.get_cpu_capability(), '| threads', torch.get_num_threads())"
	$(CPU_VARIANT) HF_HUB_OFFLINE=1 $(BIN)/nbdev_test --n_workers 1
	$(CPU_VARIANT) HF_HUB_OFFLINE=1 $(BIN)/pytest -q tests/test_models.py

test-py: install model browser
	HF_HUB_OFFLINE=1 $(BIN)/pytest tests --ignore=tests/test_sync.py --ignore=tests/test_openai_server.py

test: test-sync test-nbdev test-variant test-py

# llama.cpp's OpenAI-compatible server (llama-cpp-python[server]), built from source. Not for the native CPU
# (-march=native): a machine can advertise instructions (AVX-512, AMX) that a process there may not run, and such a
# build dies with SIGILL on its first request. The build targets x86-64 with AVX2/FMA/F16C (x86-64-v3), which every
# x86 machine of the last ten years runs; measured against the native build in bench/llama_build.md. One place for
# the flags: make test-server and make serve use this build. The wheel is kept under the cache, named by its flags.
LLAMA_CPP_VERSION ?= 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_TAG := $(shell echo '$(LLAMA_CPP_VERSION) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLAMA_WHEELS ?= $(or $(VALUEKIT_CACHE),$(HOME)/.cache/valuekit)/wheels/llama-$(LLAMA_TAG)

$(VENV)/.llama-$(LLAMA_TAG): $(VENV)/.installed
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (portable: $(LLAMA_CMAKE_ARGS)); ~5 min on 2 cores"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PY) -m pip wheel -q --no-cache-dir --no-deps \
	    -w $(LLAMA_WHEELS).tmp "llama-cpp-python==$(LLAMA_CPP_VERSION)" && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); }
	$(PY) -m pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install -q "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	rm -f $(VENV)/.llama-*; touch $@

llama: $(VENV)/.llama-$(LLAMA_TAG)
	@$(PY) -c "import llama_cpp; print('llama.cpp build:', llama_cpp.llama_print_system_info().decode().strip())"

# A real OpenAI-compatible server (llama.cpp's, serving the default GGUF). The fixture fails with the server's exit
# signal and log if it dies on start-up or on its first request.
test-server: llama model
	HF_HUB_OFFLINE=1 $(BIN)/pytest tests/test_openai_server.py

# The fast CPU path for notebooks whose judge writes: llama.cpp's server on the default GGUF, all cores, 127.0.0.1.
serve: llama model
	HF_HUB_OFFLINE=1 $(BIN)/valuekit serve

# JOBS=N runs N papers at once, the cores split between them (2: 27 min cold on 2 cores, against 37 min for 1);
# papers whose results are up to date (same inputs as their last run, every exact claim reproduced) are kept unless RERUN=1.
JOBS ?= 2
reproduce: install model
	$(BIN)/valuekit reproduce --out $(OUT) --jobs $(JOBS)$(if $(RERUN), --rerun)
	$(BIN)/valuekit report --out $(OUT)

report: install
	$(BIN)/valuekit report --out $(OUT)

lab: install
	$(BIN)/jupyter lab nbs $(if $(filter 0,$(shell id -u)),--allow-root)

docs: install
	@command -v quarto >/dev/null || { echo "make docs needs Quarto (https://quarto.org), which is not installed here; make docs-check checks the pages without it"; exit 1; }
	$(BIN)/nbdev_docs

docs-check: install model browser
	HF_HUB_OFFLINE=1 $(BIN)/pytest tests/test_docs.py

# Binder's build plan (repo2docker --no-build writes the Dockerfile without Docker): Python 3.11, the CPU torch
# requirements, and postBuild (installs valuekit, prepares the default model). A real Binder build needs Docker.
binder-check:
	@test -x .venv-binder/bin/repo2docker || { $(PYTHON) -m venv .venv-binder && .venv-binder/bin/pip install -q jupyter-repo2docker; }
	.venv-binder/bin/repo2docker --no-build --no-run --debug . > .venv-binder/plan.txt 2>&1 || { cat .venv-binder/plan.txt; exit 1; }
	@for want in "python=3.11" 'pip install --no-cache-dir -r "binder/requirements.txt"' "RUN ./binder/postBuild"; do \
	  grep -qF "$$want" .venv-binder/plan.txt || { echo "Binder plan lacks: $$want (see .venv-binder/plan.txt)"; exit 1; }; done
	@echo "Binder plan OK: Python 3.11, binder/requirements.txt, binder/postBuild"

bench: install model llama
	HF_HUB_OFFLINE=1 $(PY) bench/lm_throughput.py
	HF_HUB_OFFLINE=1 $(PY) bench/numerics.py
	HF_HUB_OFFLINE=1 $(PY) bench/generate_throughput.py

# README.md is generated from nbs/index.ipynb (nbdev's readme_nb) with nbconvert, so it needs no Quarto.
README_OUT ?= README.md
readme: install
	$(BIN)/jupyter nbconvert --log-level=ERROR --to markdown --stdout nbs/index.ipynb \
	| sed -e 's#](images/#](nbs/images/#g' -e 's#](papers/#](nbs/papers/#g' -e 's#](course/#](nbs/course/#g' | cat -s > $(README_OUT)

clean:
	rm -rf _proc _docs build dist *.egg-info .pytest_cache

# The course (nbs/course/conventions.ipynb, Exercises): the student version of every paper notebook (solutions removed,
# checks kept) and the instructor's autograder, an nbgrader course folder (source/, release/, gradebook.db) in
# $(COURSE_OUT). One notebook end to end (format, student version, solution = full marks and untouched student
# version = zero, both at CI parameters): make course-check NB=nbs/papers/<slug>.ipynb
COURSE_OUT ?= $(OUT)/course
.PHONY: course course-check
course: install
	$(PY) -c "from valuekit.course import build_course; s = build_course('$(COURSE_OUT)'); print(len(s), 'student notebooks in $(COURSE_OUT)/release/, autograder: $(COURSE_OUT)/ (nbgrader autograde <slug>, see README.md there)')"

course-check: install model
	@test -n "$(NB)" || { echo "usage: make course-check NB=nbs/papers/<slug>.ipynb"; exit 1; }
	HF_HUB_OFFLINE=1 $(PY) -c "from valuekit.course import check_notebook; check_notebook('$(NB)')"
