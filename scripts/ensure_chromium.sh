#!/usr/bin/env bash
# Make sure headless Chromium exists for the audit report test (tests/cli/test_audit_report.py
# loads the generated HTML report in it). Installs the distribution's package when absent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Chromium not found: installing the distribution's package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "Chromium is required in CI and could not be installed" >&2
    exit 1
fi
echo "Chromium not found: the audit report browser test will be skipped" >&2
