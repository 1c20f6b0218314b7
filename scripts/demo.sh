#!/usr/bin/env bash
# The main job: set up, then run the demo on embedded defaults (data in ./.pgs3v).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pgs3v demo "$@"
