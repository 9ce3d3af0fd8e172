# Monitoring tier (prometheus and grafana roles): alert rules proven by promtool on
# synthetic series, bad input, rendered templates and EC2 discovery (moto + the
# controller's Prometheus) on the controller; and the monitoring Molecule scenario that
# proves every dashboard and rule query on live data.
.PHONY: promtool test-monitoring-rules test-monitoring

promtool: ## promtool from Debian's prometheus package into .cache/tools (no server installed)
	@scripts/promtool.sh --version >/dev/null 2>&1 && scripts/promtool.sh --path

test-monitoring-rules: setup-venv ## Monitoring on the controller: promtool rule tests, PromQL extractor, bad input, templates, EC2 discovery on moto
	@pytest -q -p no:cacheprovider tests/monitoring

test-monitoring: setup ## Monitoring Molecule scenario (Prometheus on live app + node_exporter data, Grafana files)
	@scripts/molecule.sh test monitoring

QUICK_TARGETS += test-monitoring-rules
MOLECULE_SCENARIOS += monitoring
# Budgets in seconds (how they are set: docs/testing.md).
BUDGET_test-monitoring-rules ?= 240
# CI took 710 s once, 2.2x a quiet machine while its other targets took 1.3-1.6x: room for that.
BUDGET_molecule-monitoring ?= 800
