# The sample Django app (app/): tests against a throwaway PostgreSQL, the release artifact,
# and a local development server. Its own virtualenv (.cache/app-venv) keeps the app's
# pins out of the controller's .venv.
APP_VENV := $(CURDIR)/.cache/app-venv
APP_ARTIFACT_OUT ?= build/app
APP_VERSION ?=
APP_PYTEST_ARGS ?=

.PHONY: app-venv app-test app-test-artifact app-artifact app-run

# The unit tests stay in test-quick; building and installing the release artifact (tests
# marked `artifact`, ~40 s of the ~100 s) runs with the slower suites in `make test`.
QUICK_TARGETS += app-test
# In the Molecule stream: the slow stream (moto, the stack) is the longer one.
MOLECULE_STREAM_TARGETS += app-test-artifact
# Budgets in seconds (how they are set: docs/testing.md).
BUDGET_app-test ?= 90
BUDGET_app-test-artifact ?= 125

app-venv: setup-venv ## App virtualenv .cache/app-venv (requirements.lock + requirements-test.txt)
	@scripts/app-artifact.sh --venv-only

# $(call app_pytest,marker expression): the app's tests on the test PostgreSQL, which is
# stopped afterwards only when this target started it.
app_pytest = was_running=0; if scripts/pg-test.sh status; then was_running=1; fi; \
	scripts/pg-test.sh start; \
	rc=0; (cd app && "$(APP_VENV)/bin/python" -m pytest -q -p no:cacheprovider -m "$(1)" $(APP_PYTEST_ARGS)) || rc=$$?; \
	if [ $$was_running = 0 ]; then scripts/pg-test.sh stop; fi; \
	exit $$rc

app-test: app-venv ## App tests (pytest-django, gunicorn) on PostgreSQL 127.0.0.1:55432, without the artifact ones
	@$(call app_pytest,not artifact)

app-test-artifact: app-venv ## App tests that build the release artifact and install it into a fresh virtualenv
	@$(call app_pytest,artifact)

app-artifact: app-venv ## Release artifact in build/app (APP_ARTIFACT_OUT=dir, APP_VERSION=x.y.z to override)
	@scripts/app-artifact.sh --out "$(APP_ARTIFACT_OUT)" $(if $(APP_VERSION),--version "$(APP_VERSION)")

app-run: app-venv ## Run the app locally with DEBUG on http://127.0.0.1:8000 (test PostgreSQL, demo data)
	@scripts/pg-test.sh start
	@cd app && export $$(../scripts/pg-test.sh env) DJANGO_DEBUG=1 APP_RELEASE=local && \
	"$(APP_VENV)/bin/python" manage.py migrate --noinput && \
	"$(APP_VENV)/bin/python" manage.py seed_demo && \
	exec "$(APP_VENV)/bin/python" manage.py runserver 127.0.0.1:8000
