#!/usr/bin/env bash
# Installs what pgs3v needs on a fresh Debian 12 machine (run as root), then the project itself
# into ./.venv. Safe to run again: it only installs what is missing or changed.
#
#   bash scripts/setup.sh          what the demo and the command line need
#   bash scripts/setup.sh --dev    that and the dev extras: pytest, ruff, mypy, the AWS CLI, ...
#                                  (scripts/test.sh asks for them; PGS3V_DEV=1 does the same)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${PGS3V_DEV:-}" = 1 ] && extras=dev
for argument in "$@"; do
    case "$argument" in
        --dev) extras=dev ;;
        *) echo "setup: unknown argument '$argument' (only --dev)" >&2; exit 2 ;;
    esac
done

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v git >/dev/null 2>&1 || need_apt+=(git)
# The local stack's private PostgreSQL cluster (and psql, which postgresql-15 brings) and the
# aws_lambda shim's PL/Python.
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/plpython3u.control ] || need_apt+=(postgresql-plpython3-15)
# The tests put two stores behind nginx, as docs/object-storage.md deploys them.
[ "$extras" = dev ] && { [ -x /usr/sbin/nginx ] || need_apt+=(nginx); }
# WordNet's glosses: real English text on which tests/reference checks tantivy's BM25 (10 MB).
[ "$extras" = dev ] && { [ -f /usr/share/wordnet/data.noun ] || need_apt+=(wordnet-base); }
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
fi

# The stamp holds the hash of the dependency list last installed and which extras came with it
# ("dev" or "plain"). Reinstall when the list changed, or when dev is wanted and was not
# installed; a plain run after a dev install (the demo after the tests) installs nothing.
stamp=.venv/.pgs3v-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
installed_hash="" installed_extras=""
if [ -f "$stamp" ]; then
    read -r installed_hash installed_extras < "$stamp" || true
    # A stamp of one field is from before the dev/plain split, when every install was a dev one.
    if [ -z "$installed_extras" ]; then installed_extras=dev; fi
fi
if [ "$installed_hash" = "$wanted" ] && { [ -z "$extras" ] || [ "$installed_extras" = dev ]; }; then
    exit 0
fi
# A changed list reinstalls what was there before, so a venv with the dev tools keeps them current.
[ "$installed_extras" = dev ] && extras=dev
if [ "$extras" = dev ]; then
    echo "setup: installing pgs3v, its dependencies and the dev tools into .venv"
    target='.[dev]'
else
    echo "setup: installing pgs3v and its dependencies into .venv (the dev tools: scripts/setup.sh --dev)"
    target='.'
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e "$target"
echo "$wanted ${extras:-plain}" > "$stamp"
