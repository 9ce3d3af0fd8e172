# devops.django — every target sets itself up (virtualenv, Debian packages, Docker
# engine, base image) on a fresh Debian machine as root. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export PYTHONDONTWRITEBYTECODE := 1

COLLECTION := collections/ansible_collections/devops/django

# Area makefiles (mk/*.mk) append their targets here.
QUICK_TARGETS :=
TEST_TARGETS :=
MOLECULE_SCENARIOS :=
# Slower suites that run in the Molecule stream, after the scenarios (balances the streams).
MOLECULE_STREAM_TARGETS :=

-include mk/*.mk

.PHONY: help setup setup-apt setup-venv lint test test-quick test-slow test-molecule-stream local local-down collection-build molecule

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

setup: ## Virtualenv, Debian packages, Docker engine, base image (idempotent)
	@scripts/setup.sh all

setup-venv: ## Only the controller virtualenv
	@scripts/setup.sh venv

setup-apt: ## Only the Debian packages
	@scripts/setup.sh apt

lint: setup-apt setup-venv collection-sanity ## yamllint, ansible-lint (production), ruff, cfn-lint, argument_specs, changelog, ansible-test sanity
	@echo "==> yamllint"; yamllint -s .
	@echo "==> ansible-lint (production profile)"; ansible-lint -q
	@echo "==> ruff"; ruff check . && ruff format --check .
	@echo "==> argument_specs <-> defaults <-> README"; python scripts/check_argument_specs.py
	@echo "==> AWS contract: names, tags, facts (aws_common)"; python scripts/check_aws_contract.py
	@echo "==> collection metadata (readme, dependencies)"; python scripts/check_collection.py
	@echo "==> shellcheck"; shellcheck scripts/*.sh .ci/run $$(ls cloudformation/scripts/*.sh bench/*/*.sh 2>/dev/null)
	@echo "==> setup.sh off Debian"; scripts/test-setup.sh
	@echo "==> changelog fragments"; cd $(COLLECTION) && antsibull-changelog lint
	@if ls cloudformation/*.yaml >/dev/null 2>&1; then echo "==> cfn-lint"; cfn-lint cloudformation/*.yaml; fi

collection-build: setup-venv ## ansible-galaxy collection build into build/
	@python scripts/build_collection.py --output-path build

# Timing (docs/testing.md): every timed target appends "stream target seconds ok|failed" to
# TEST_TIMES; scripts/test_times.py prints the table and fails on a FAILED or OVER row.
# Budgets: BUDGET_<target> ?= seconds, beside the target's registration in mk/*.mk.
TEST_TIMES ?= build/test-times.tsv
# Set on the sub-makes of `make test`: they add rows, `test` starts the file and prints the table.
TEST_TIMES_NESTED ?=
QUICK_TIMED = lint collection-build $(QUICK_TARGETS)
MOLECULE_TIMED = $(MOLECULE_SCENARIOS:%=molecule-%) $(MOLECULE_STREAM_TARGETS)
TIMED_TARGETS = setup $(QUICK_TIMED) $(MOLECULE_TIMED) $(TEST_TARGETS) test-quick test
BUDGET_ARGS = $(foreach t,$(TIMED_TARGETS),--budget '$(t)=$(BUDGET_$(t))')
# Multiplies every budget of a report, for a machine busy with other work (docs/testing.md).
BUDGET_SCALE ?= 1
# Multiplies the per-target budgets (not the wall ones): how much slower this machine is than the
# one the budgets were measured on. auto: scripts/machine_speed.py measures it (a few seconds).
MACHINE_FACTOR ?= auto
machine_factor = $$(if [ '$(MACHINE_FACTOR)' = auto ]; then python scripts/machine_speed.py; else echo '$(MACHINE_FACTOR)'; fi)
# $(call report_times,run): the table of TEST_TIMES against the budgets, scaled; exit 1 on a FAILED or OVER row.
report_times = mf=$(machine_factor) || mf=1; python scripts/test_times.py report --run '$(1)' \
	--scale '$(BUDGET_SCALE)' --machine-factor "$$mf" $(BUDGET_ARGS) '$(TEST_TIMES)'
# Budgets of the targets defined here, in seconds (how they are set: docs/testing.md). setup is
# seconds on a prepared machine; the budget is for a new one (packages, virtualenv, image).
BUDGET_setup ?= 600
BUDGET_lint ?= 600
BUDGET_collection-build ?= 30
BUDGET_test-quick ?= 1300
BUDGET_test ?= 4500

# $(call run_timed,stream,targets): make each target in turn, print its time and add its row;
# go on after a failure (the table stays complete), fail at the end.
run_timed = trc=0; mkdir -p '$(dir $(TEST_TIMES))'; for tt in $(2); do \
	  t0=$$(date +%s); tst=ok; $(MAKE) --no-print-directory "$$tt" || { tst=failed; trc=1; }; \
	  ts=$$(( $$(date +%s) - t0 )); \
	  if [ $$tst = ok ]; then echo "$$tt passed in $${ts}s"; else echo "$$tt FAILED after $${ts}s"; fi; \
	  printf '%s\t%s\t%s\t%s\n' '$(1)' "$$tt" "$$ts" "$$tst" >>'$(TEST_TIMES)'; \
	done; [ $$trc = 0 ]
# times_start: an empty TEST_TIMES (unless nested), the clock and rc=0 for times_end.
times_start = mkdir -p '$(dir $(TEST_TIMES))'; [ -n '$(TEST_TIMES_NESTED)' ] || : >'$(TEST_TIMES)'; \
	begin=$$(date +%s); rc=0
# $(call times_end,run): the run's wall time as a `total` row (empty run: none), then unless
# nested the table; exit 1 when a target failed or went over its budget.
times_end = if [ -n '$(1)' ]; then printf 'total\t%s\t%s\t%s\n' '$(1)' "$$(( $$(date +%s) - begin ))" \
	  "$$([ $$rc = 0 ] && echo ok || echo failed)" >>'$(TEST_TIMES)'; fi; \
	if [ -z '$(TEST_TIMES_NESTED)' ]; then \
	  { $(call report_times,$(or $(1),$@)); } || rc=1; fi; \
	exit $$rc

test-quick: ## Lint + unit tests (minutes), each timed, then the time table
	@$(times_start); $(call run_timed,quick,$(QUICK_TIMED)) || rc=1; $(call times_end,test-quick)

molecule: setup ## Every Molecule scenario (MOLECULE_SCENARIOS), one after another (one: make molecule-<scenario>)
	@for s in $(MOLECULE_SCENARIOS); do scripts/molecule.sh test "$$s"; done

molecule-%: setup
	@scripts/molecule.sh test $*

test-slow: setup ## The slower suites (TEST_TARGETS), one after another, each timed
	@$(times_start); $(call run_timed,slow,$(TEST_TARGETS)) || rc=1; $(call times_end,)

test-molecule-stream: setup ## The Molecule scenarios, then MOLECULE_STREAM_TARGETS, each timed
	@$(times_start); $(call run_timed,molecule,$(MOLECULE_TIMED)) || rc=1; $(call times_end,)

# After setup, two streams at once: test-quick then the Molecule scenarios, and the slower
# suites (moto, the stack). They use different containers, networks and ports, and each
# mostly keeps one core busy. Lines carry their stream's name; every target runs even after
# one fails, then the table.
test: ## Everything: lint, unit, Molecule, moto, the stack end to end; the time table at the end
	@$(times_start); $(call run_timed,setup,setup) || rc=1; \
	start=$$(date +%s); \
	( qrc=0; ( $(MAKE) --no-print-directory test-quick TEST_TIMES_NESTED=1 2>&1 | sed -u 's/^/[quick] /' ) || qrc=1; \
	  ( $(MAKE) --no-print-directory test-molecule-stream TEST_TIMES_NESTED=1 2>&1 | sed -u 's/^/[molecule] /' ) || qrc=1; \
	  exit $$qrc ) & mpid=$$!; \
	( $(MAKE) --no-print-directory test-slow TEST_TIMES_NESTED=1 2>&1 | sed -u 's/^/[slow] /' ) & spid=$$!; \
	wait $$mpid || rc=1; wait $$spid || rc=1; \
	echo "quick + molecule, slow suites: $$(( $$(date +%s) - start ))s"; \
	$(call times_end,test)

local: setup ## The whole stack on this machine (moto + containers)
	@scripts/local.sh up

local-down: ## Tear the local stack down
	@scripts/local.sh down
