#!/usr/bin/env bash
# Prometheus and promtool (Debian's prometheus package) for the monitoring tests: the alert
# rules are checked with promtool, and a real Prometheus scrapes running stages. Idempotent.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
echo "installing prometheus (Debian package)..." >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
