#!/usr/bin/env bash
# Make sure promtool (Prometheus' own checker) is there for the test that lints a running
# node's /metrics with `promtool check metrics` (tests/integration/test_metrics.py). It is taken
# out of the distribution's `prometheus` package into the venv's bin (DIR, default .venv/bin):
# only the static promtool binary, so no Prometheus server is installed or started.
set -euo pipefail
BIN="${1:-.venv/bin}"
if command -v promtool >/dev/null 2>&1 || [ -x "$BIN/promtool" ]; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
    echo "promtool not found: taking it from the distribution's prometheus package" >&2
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
    fi
    if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) \
        && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root" \
        && [ -x "$tmp/root/usr/bin/promtool" ]; then
        mkdir -p "$BIN"
        install -m 0755 "$tmp/root/usr/bin/promtool" "$BIN/promtool"
        exit 0
    fi
fi
if [ "${CI:-}" = "true" ]; then
    echo "promtool is required in CI and could not be installed" >&2
    exit 1
fi
echo "promtool not found: the promtool check of /metrics will be skipped" >&2
