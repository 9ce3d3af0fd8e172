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

lint: setup-apt setup-venv ## yamllint, ansible-lint (production), ruff, cfn-lint, argument_specs, changelog
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
	@mkdir -p build && ansible-galaxy collection build --force --output-path build $(COLLECTION)

test-quick: lint collection-build $(QUICK_TARGETS) ## Lint + unit tests (minutes)
	@echo "test-quick: OK ($(QUICK_TARGETS))"

molecule: setup ## Every Molecule scenario (MOLECULE_SCENARIOS), one after another
	@for s in $(MOLECULE_SCENARIOS); do scripts/molecule.sh test "$$s"; done

# $(call run_timed,targets): make each target in turn and print its time; stop at the first failure.
run_timed = for t in $(1); do \
	  start=$$(date +%s); $(MAKE) --no-print-directory "$$t"; \
	  echo "$$t passed in $$(( $$(date +%s) - start ))s"; \
	done

test-slow: setup ## The slower suites (TEST_TARGETS), one after another, each timed
	@$(call run_timed,$(TEST_TARGETS))

test-molecule-stream: molecule ## The Molecule scenarios, then MOLECULE_STREAM_TARGETS
	@$(call run_timed,$(MOLECULE_STREAM_TARGETS))

# Two streams at once: the Molecule scenarios and the slower suites (moto, the stack)
# use different containers, networks and ports, and each mostly keeps one core busy.
# Lines carry their stream's name; each stream stops at its first failure.
test: setup test-quick ## Everything: lint, unit, Molecule, moto, the stack end to end
	@start=$$(date +%s); \
	( $(MAKE) --no-print-directory test-molecule-stream 2>&1 | sed -u 's/^/[molecule] /' ) & m=$$!; \
	( $(MAKE) --no-print-directory test-slow 2>&1 | sed -u 's/^/[slow] /' ) & t=$$!; \
	rc=0; wait $$m || rc=1; wait $$t || rc=1; \
	echo "molecule + slow suites: $$(( $$(date +%s) - start ))s"; \
	if [ $$rc != 0 ]; then echo "test: FAILED"; exit 1; fi; echo "test: OK"

local: setup ## The whole stack on this machine (moto + containers)
	@scripts/local.sh up

local-down: ## Tear the local stack down
	@scripts/local.sh down
