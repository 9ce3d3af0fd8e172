# Ansible conventions (docs/conventions.md): the tag scheme of every playbook and role, from --list-tasks.
.PHONY: test-conventions

test-conventions: setup-venv ## Tags: --tags <role> selects the whole role and no other; host roles' sub-tags (about 3 minutes)
	@pytest -q tests/tags

TEST_TARGETS += test-conventions
# Budget in seconds (docs/testing.md); provisional until a full run's table replaces it.
BUDGET_test-conventions ?= 300
