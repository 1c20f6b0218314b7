#!/usr/bin/env bash
# Runs every check of the project: lint, types, then the tests against real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check src tests
.venv/bin/mypy
.venv/bin/pytest "$@"
