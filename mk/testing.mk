# The test harness itself (docs/testing.md): scripts/test_times.py, which prints the time
# table of `make test` / `make test-quick` and fails a target over its budget.
.PHONY: test-tooling test-budgets test-times

test-tooling: setup-venv test-budgets ## Tests of the test harness (time table, budgets)
	@pytest -q -p no:cacheprovider tests/tooling

test-budgets: setup-venv ## Every timed target has a budget (BUDGET_<target>)
	@python scripts/test_times.py check $(BUDGET_ARGS) $(TIMED_TARGETS)

test-times: ## The time table of the last `make test` / `make test-quick` again (current budgets)
	@$(call report_times,$(TEST_TIMES))

QUICK_TARGETS += test-tooling
# Budget in seconds (how it is set: docs/testing.md).
BUDGET_test-tooling ?= 30
