# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv from
# requirements-dev.lock (production's requirements.lock plus the dev extra: the simulator, honcho, the
# tests), the pinned set that CI installs too, and the project itself, editable.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Test processes (pytest-xdist, a database and a simulator each); `PYTEST_WORKERS=0` runs in this one.
# One more than the cores: the browser and real-worker tests spend much of their time waiting (on two
# cores `-n 2` kept the machine ~60% busy), and on the quiet 2-core machine 1,415 tests took 266 s on
# -n 2, 234 s on -n 3 and 232 s on -n 4 (more CPU for the same time).
# worksteal: an idle process takes tests queued for a busy one, so the run does not end on one process
# still going through a queue of browser tests while the other waits.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

.PHONY: install demo test test-fast lint format bench lock clean

$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Starting the portal on http://127.0.0.1:8000/ with a Celery worker, beat and the Canvas simulator (Ctrl-C stops all)."
	@echo "Canvas simulator: http://127.0.0.1:8001/  (Canvas admin: canvas-admin / canvas-admin)"
	@echo "  Ready developer key: Client ID 170000000000001, Client Secret demo-secret"
	@echo "  In the portal: Admin > Global Settings > LMS Settings, Canvas Server http://127.0.0.1:8001"
	$(BIN)/honcho --procfile Procfile start

# This machine's environment sets PYTHONDONTWRITEBYTECODE, so every process compiled the project from source
# and pytest rewrote the asserts of all 220 test modules again in each xdist process (8.5 s of CPU each, 3.5 s
# with the cache), as did every worker, beat and manage.py subprocess the tests start. The tests write
# bytecode (gitignored); compileall first, on every core, so the processes starting together share it.
test: install
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q -j0 portal sync lms_canvas bench tests >/dev/null
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench

# Re-pin after changing pyproject.toml's dependencies: the dev set, then production's within it (same pins).
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
