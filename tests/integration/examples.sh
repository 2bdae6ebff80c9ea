#!/usr/bin/env bash
# The example configurations that scripts/run uses are valid for upstream's own
# checkers (Debian's promtool 2.42 and amtool 0.25), so a user can take them to
# a real Prometheus or Alertmanager unchanged.
# Usage: examples.sh <source dir> <build dir>
set -euo pipefail
cd "$1/examples"
promtool check config prometheus.yml
promtool check rules alerts.yml rules.yml
amtool check-config alertmanager.yml
