# The whole local stack (issue 7): site.yml from nothing and again (0 changes), serving
# through the load balancer, release under load, broken-release drill, faults, monitoring.
# Replaces a stack started with `make local` (same containers); KEEP_STACK=1 keeps it up.
.PHONY: test-stack

test-stack: setup ## Local stack end to end (tests/stack): ~15 min
	@pytest -q -s -p no:cacheprovider tests/stack

TEST_TARGETS += test-stack
# Budget in seconds (how it is set: docs/testing.md).
BUDGET_test-stack ?= 2400
