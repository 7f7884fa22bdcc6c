# The two commands of the README: `make demo` (set up + run the server) and `make test`.
.PHONY: demo setup test bench

HOST ?= 127.0.0.1
PORT ?= 8000

setup:
	bash scripts/setup.sh

demo: setup
	@echo ""
	@echo "  GeoSIG Valle: http://$(HOST):$(PORT)/   (Ctrl-C para detener)"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) bash scripts/serve.sh  # gunicorn + one job worker; Ctrl-C stops both

test:
	GEOSIG_SKIP_LOAD=1 bash scripts/setup.sh
	.venv/bin/lint-imports --config .importlinter  # the layering contracts (docs/architecture.md)
	.venv/bin/pytest

# Benchmarks (not tests): each prints medians and the ratio against its named peer.
bench:
	GEOSIG_BENCH=1 bash scripts/setup.sh
	for b in bench/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
