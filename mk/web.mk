# Web tier (issue 3): django_app + nginx roles, Molecule scenario `web`, benchmark.
BENCH_WEB_DURATION ?= 10

.PHONY: web-unit web-molecule bench-web

QUICK_TARGETS += web-unit
MOLECULE_SCENARIOS += web

web-unit: setup-venv ## Web tier unit tests: env file sources/quoting (SSM + Secrets Manager on moto), wrk parser
	@cd bench/web && pytest -q -p no:cacheprovider test_wrk_parse.py
	@pytest -q -p no:cacheprovider molecule/web/unit/test_env_file.py

web-molecule: setup app-venv ## Molecule scenario `web` alone (converge, idempotence, releases under traffic)
	@scripts/molecule.sh test web

# Own scenario (web-bench) so it can run beside `make test`; destroyed afterwards.
bench-web: setup app-venv ## Benchmark: ours vs seed baseline vs direct gunicorn (3 min of wrk after a fresh converge) -> docs/benchmarks.md
	@rc=0; scripts/molecule.sh converge web-bench && \
	BENCH_WEB_DURATION=$(BENCH_WEB_DURATION) scripts/molecule.sh side-effect web-bench || rc=$$?; \
	scripts/molecule.sh destroy web-bench >/dev/null 2>&1 || true; exit $$rc
