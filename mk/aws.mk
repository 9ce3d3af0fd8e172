# AWS tier (issue 4): roles vpc, security_groups, rds, alb, launch_template, asg, alarms against moto.

.PHONY: test-aws test-aws-validation

test-aws: setup-venv ## AWS roles on moto: infra.yml twice (dev), prod variant, validation, moto gaps, teardown
	@pytest tests/aws -q

test-aws-validation: setup-venv ## AWS input validation and moto-gap tests only (about 2 minutes)
	@pytest tests/aws/test_validation.py tests/aws/test_moto_gaps.py -q

TEST_TARGETS += test-aws
