# CloudFormation alternative (cloudformation/, playbooks/cloudformation.yml, tests/cfn/).
CHECKOV_VENV := $(CURDIR)/.cache/checkov-venv
CHECKOV_STAMP = $(CHECKOV_VENV)/.requirements-$(shell sha256sum requirements-checkov.txt | cut -c1-16)

.PHONY: cfn-lint cfn-scan test-cfn-quick test-cfn

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "==> checkov virtualenv ($(CHECKOV_VENV))"
	@rm -rf $(CHECKOV_VENV) && python3 -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

cfn-lint: setup-venv ## cfn-lint over every CloudFormation template (0 errors, 0 warnings)
	@cfn-lint cloudformation/*.yaml && echo "cfn-lint: $$(ls cloudformation/*.yaml | wc -l) templates, 0 errors, 0 warnings"

cfn-scan: $(CHECKOV_STAMP) ## checkov security scan of the templates (0 failed checks; waivers inline)
	@$(CHECKOV_VENV)/bin/checkov -d cloudformation --framework cloudformation --skip-download --compact --quiet

test-cfn-quick: setup-venv ## CloudFormation template tests without moto or Docker (embedded script, tags, policies)
	@pytest -q tests/cfn -m "not moto and not docker"

test-cfn: setup-venv ## CloudFormation on moto (deploy, no-change redeploy, teardown, parity) + signal script in a container
	@pytest -q tests/cfn -m "moto or docker"

# cfn-lint itself runs in `make lint`.
QUICK_TARGETS += cfn-scan test-cfn-quick
# In the slow stream, after test-aws-stacks (see the Makefile's `test`): it balances the two.
TEST_TARGETS += test-cfn
# Budgets in seconds (how they are set: docs/testing.md).
BUDGET_cfn-scan ?= 180
BUDGET_test-cfn-quick ?= 30
BUDGET_test-cfn ?= 600
