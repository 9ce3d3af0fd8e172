# Web tier (issue 3): django_app + nginx roles, Molecule scenario `web`, benchmark.
# bench-web knobs: seconds per measurement, rounds (order rotated), warm-up seconds,
# wrk connections, worker models (sync:N,gthread:NxT,...; empty = a default set),
# docs file to write the table into (empty = print only).
BENCH_SECONDS ?= 4
BENCH_ROUNDS ?= 3
BENCH_WARMUP ?= 1
BENCH_CONNECTIONS ?= 32
BENCH_MODELS ?=
BENCH_DOCS ?= docs/benchmarks.md

.PHONY: web-unit web-molecule bench-web

QUICK_TARGETS += web-unit
MOLECULE_SCENARIOS += web
# Budgets in seconds (how they are set: docs/testing.md).
BUDGET_web-unit ?= 60
BUDGET_molecule-web ?= 900

web-unit: setup-venv ## Web tier unit tests: env file sources/quoting (SSM + Secrets Manager on moto), wrk parser
	@cd bench/web && pytest -q -p no:cacheprovider test_wrk_parse.py test_plan_report.py
	@pytest -q -p no:cacheprovider molecule/web/unit/test_env_file.py

web-molecule: setup app-venv ## Molecule scenario `web` alone (converge, idempotence, releases under traffic)
	@scripts/molecule.sh test web

# Own scenario (web-bench) so it can run beside `make test`; destroyed afterwards.
bench-web: setup app-venv ## Benchmark: ours vs seed baseline vs worker models direct and behind nginx, N rounds (~12 min with converge) -> docs/benchmarks.md
	@python3 bench/web/plan.py $(BENCH_SECONDS) $(BENCH_WARMUP) $(BENCH_ROUNDS); \
	echo "bench-web: converging a fresh web-bench host first (about 5 min)"; \
	rc=0; scripts/molecule.sh converge web-bench && \
	BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_WARMUP=$(BENCH_WARMUP) \
	BENCH_CONNECTIONS=$(BENCH_CONNECTIONS) BENCH_MODELS=$(BENCH_MODELS) BENCH_DOCS=$(BENCH_DOCS) \
	scripts/molecule.sh side-effect web-bench || rc=$$?; \
	scripts/molecule.sh destroy web-bench >/dev/null 2>&1 || true; exit $$rc
