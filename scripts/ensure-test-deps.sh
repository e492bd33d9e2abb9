#!/usr/bin/env bash
# Installs (Debian, as root) or names what the test suite needs beyond npm packages. Run by `npm test`
# through `pretest`, and by .ci/run. Never skips silently: a missing tool that cannot be installed stops
# the run with the exact command to install it.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: installing ${need[*]} with apt-get" >&2
    # apt's lists may be missing on a fresh machine; update once, quietly.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "ensure-test-deps: missing ${need[*]}. Install them: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# The proxy tests (test/proxies/) run real nginx, HAProxy, Caddy and promtool.
bash "$(dirname "$0")/ensure-proxies.sh"
