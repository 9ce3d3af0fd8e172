# AWS tier (issue 4): roles vpc, security_groups, rds, alb, launch_template, asg, alarms against moto.
# Two halves, each with its own moto server (a free port per pytest session), so either can
# move to the other stream of `make test`: the stacks (infra.yml dev twice, prod, teardown)
# and the faster checks (validation, moto gaps, the modules, the baked image, deploy.yml's
# ALB path). The stacks run in the slow stream, the checks at the end of the Molecule stream
# (after app-test-artifact): the two streams take about as long.
AWS_STACK_TESTS := tests/aws/test_dev_stack.py tests/aws/test_prod_stack.py
AWS_OTHER_TESTS := $(filter-out $(AWS_STACK_TESTS),$(wildcard tests/aws/test_*.py))

.PHONY: test-aws test-aws-stacks test-aws-checks test-aws-validation

test-aws: test-aws-stacks test-aws-checks ## AWS roles on moto: everything below

test-aws-stacks: setup-venv ## AWS on moto: infra.yml twice (dev), prod variant, teardown, read back with boto3
	@pytest -q $(AWS_STACK_TESTS)

test-aws-checks: setup-venv ## AWS on moto: validation, moto gaps, modules, baked image, deploy.yml ALB path
	@pytest -q $(AWS_OTHER_TESTS)

test-aws-validation: setup-venv ## AWS input validation and moto-gap tests only (about 2 minutes)
	@pytest tests/aws/test_validation.py tests/aws/test_moto_gaps.py -q

TEST_TARGETS += test-aws-stacks
MOLECULE_STREAM_TARGETS += test-aws-checks
# Budgets in seconds (how they are set: docs/testing.md).
BUDGET_test-aws-stacks ?= 1400
BUDGET_test-aws-checks ?= 900
