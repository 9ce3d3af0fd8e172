# The commands README.md, scripts/local.sh and the plays print: the names they use exist,
# and they work in a clean shell (no AWS_* variables, no virtualenv) against moto.
# tests/stack/test_readme_commands.py runs the local-stack ones on the stack itself.
.PHONY: test-readme

test-readme: setup-venv ## README / local.sh / play commands, run in a clean shell against moto (~1.5 min)
	@python scripts/check_readme_commands.py --check
	@pytest -q -p no:cacheprovider tests/readme

QUICK_TARGETS += test-readme
# Budget in seconds (docs/testing.md); provisional until a full run's table replaces it.
BUDGET_test-readme ?= 450
