.PHONY: lint test check bench

lint:
	ruff check .
	ruff format --check .
	mypy --strict mockserver pytest_plugin

test:
	python -m pytest -n 2

check: lint test

bench:
	python bench/throughput.py
