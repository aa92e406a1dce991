# orderflow: install, local stack, checks and tests.
#
#   make run        the system: local stack, the five services, a demo (Ctrl-C stops)
#   make test       everything CI runs: install, stack up, lint, typecheck, pytest
#   make fuzz       fuzzed commands and gateway requests, longer (FUZZ_EXAMPLES=200)
#   make stack-up   start Kafka, FerretDB and the SMTP catcher under .cache/devstack
#
# The stack's folder and ports come from ORDERFLOW_DEVSTACK_* (see docs/devstack.md).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# `make test` runs its steps in the order listed, also under `make -j`.
.NOTPARALLEL:

UV_VERSION := 0.9.7
TOOLS := .cache/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PYTHON := $(VENV)/bin/python

# uv uses the Python already on the machine (3.11) and never downloads one.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= 3.11

.PHONY: install stack-up stack-down stack-status clean-stack lint typecheck pytest test run docs bench bench-timers chaos fuzz deploy-tools promtool chromium

# uv is bootstrapped into a private venv so the machine's pip/Python stay untouched.
# The stamp names the version, so changing UV_VERSION reinstalls it.
$(TOOLS)/.uv-$(UV_VERSION):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

install: $(TOOLS)/.uv-$(UV_VERSION)
	$(UV) sync --frozen

# The tools that check deploy/: helm (built once from the Go module proxy, cached under
# .cache/tools; about 12 minutes on a busy 2-core machine with an empty Go cache) and
# promtool (Debian's `prometheus` package; installed here when missing and we are root).
HELM_VERSION := v3.21.4
HELM := $(TOOLS)/bin/helm

$(TOOLS)/.helm-$(HELM_VERSION):
	mkdir -p $(TOOLS)/bin
	@command -v go >/dev/null || { echo "go is needed to build helm (https://go.dev/dl)"; exit 1; }
	@start=$$(date +%s); \
	GOBIN=$(abspath $(TOOLS))/bin go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
	echo "helm $(HELM_VERSION) built in $$(( $$(date +%s) - start ))s"
	touch $@

promtool:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus </dev/null; \
	  else echo "promtool missing: apt-get install prometheus (as root)"; exit 1; fi; }

deploy-tools: $(TOOLS)/.helm-$(HELM_VERSION) promtool

# The browser tests (tests/browser) drive Debian's chromium with Playwright; Playwright
# never downloads a browser here (no `playwright install`).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium </dev/null; \
	  else echo "chromium missing: apt-get install chromium (as root)"; exit 1; fi; }

stack-up: install
	$(PYTHON) -m devstack up

stack-down: install
	$(PYTHON) -m devstack down

stack-status: install
	$(PYTHON) -m devstack status

# Stops the stack and wipes topics, databases, mail and logs; the builds stay.
clean-stack: install
	$(PYTHON) -m devstack clean

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest

test: install deploy-tools chromium stack-up lint typecheck pytest

# The system: the local stack, all five services as processes, the demo; Ctrl-C stops.
run: install
	$(VENV)/bin/orderflow run

# Every benchmark at the issue's sizes (figures printed, not timed tests; an hour or more,
# mostly the 1M-order and 1M-deadline preloads); writes docs/benchmarks.md. One section:
# `.venv/bin/python -m bench.run --only ordering --quick` (see --help).
bench: install stack-up
	$(PYTHON) -m bench.run --write docs/benchmarks.md --invoked-as "make bench"

# Fault test, full version (35 faults; 30-40 minutes on a busy 2-core machine): kills
# every service and stops Kafka and the store, three rounds, then faults two at once, a
# paused replica, the SMTP server down/refusing/slow and the gateway killed mid-request,
# while orders stream; fails on a lost order or a doubled effect (docs/chaos.md).
# Runs on its own stack (.cache/chaos/<run>); CI runs the short one in `make test`.
chaos: install
	$(PYTHON) -m tests.chaos full

# Fuzzed input, the long run (issue 20): random examples, FUZZ_EXAMPLES batches per test
# (commands and gateway requests); `make test` runs the same tests derandomized and short.
# A failure prints its example: keep it as a test in tests/fuzz/test_fuzz_regressions.py.
# With them, the stateful domain fuzzers (tests/unit/*/test_*_stateful.py): FUZZ_EXAMPLES
# random command sequences of up to 50 steps per machine.
FUZZ_EXAMPLES ?= 200
FUZZ_STATEFUL := $(wildcard tests/unit/*/test_*_stateful.py)
fuzz: install stack-up
	ORDERFLOW_FUZZ_PROFILE=fuzz ORDERFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(VENV)/bin/pytest tests/fuzz $(FUZZ_STATEFUL) -p no:cacheprovider --hypothesis-show-statistics

# The timer service's benchmark (figures printed, not a timed test; about 20 minutes).
bench-timers: install stack-up
	$(PYTHON) bench/timers_bench.py

# Soak (issue 20): 30 minutes of mixed whole lifecycles (post-paid, managed, account) at
# half the capacity it measures first; fails if a service's memory, open files or threads,
# or the store's bytes per order, grow beyond their bounds (bench/soak.py says which).
# A shorter one: `make soak SOAK_ARGS="--minutes 5"`.
SOAK_ARGS ?=
.PHONY: soak
soak: install stack-up
	$(PYTHON) -m bench.soak $(SOAK_ARGS)

# Regenerates what is generated from the code (AsyncAPI documents, flow diagrams).
docs: install
	$(PYTHON) -m servicekit.asyncapi
	$(PYTHON) -m servicekit.schemas
	$(PYTHON) -m ordering.domain.diagrams
	$(PYTHON) -m payments.domain.diagrams
	$(PYTHON) -m invoicing.domain.diagrams
	$(PYTHON) -m notifier.docs
	$(PYTHON) -m gateway.docs
	$(PYTHON) -m servicekit.authority
	$(PYTHON) -m servicekit.readme
