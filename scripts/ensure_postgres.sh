#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist for the storage conformance tests. The tests
# start their own throwaway cluster (tests/pgserver.py) and stop it when they finish.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server not found: installing the distribution's package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL server binaries are required in CI and could not be installed" >&2
    exit 1
fi
echo "PostgreSQL server not found: the PostgreSQL tests will be skipped" >&2
