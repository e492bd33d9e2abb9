#!/usr/bin/env bash
# Installs (Debian, as root) the reverse proxies and tools the proxy tests need: nginx, haproxy, caddy
# and promtool (from Debian's `prometheus` package), each only when missing. It never starts the
# system services: the tests run their own proxy processes with their own config, pid and log files
# in a temporary directory on loopback ports. Not root or no apt-get: prints the exact command and
# exits 1 (the tests then fail saying what to install; they never skip silently).
#
#   bash scripts/ensure-proxies.sh          # install what is missing
#   bash scripts/ensure-proxies.sh --check  # only report, exit 1 when something is missing
set -euo pipefail

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# binary:debian-package
wanted=(nginx:nginx haproxy:haproxy caddy:caddy promtool:prometheus)

find_bin() {
  command -v "$1" >/dev/null 2>&1 && return 0
  # nginx and haproxy live in /usr/sbin, which is not on every user's PATH.
  [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

missing=()
for pair in "${wanted[@]}"; do
  bin=${pair%%:*}
  pkg=${pair##*:}
  find_bin "$bin" || missing+=("$pkg")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$check_only" = 1 ]; then
  echo "ensure-proxies: missing ${missing[*]}. Install them: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-proxies: missing ${missing[*]}. Install them: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# Keep only the packages this Debian actually offers (caddy and prometheus are not in every release);
# the tests that need an absent one fail with the name of what to install.
DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
installable=()
for pkg in "${missing[@]}"; do
  # Capture first: `grep -q` would close the pipe early and pipefail would call that a failure.
  policy_text=$(apt-cache policy "$pkg" 2>/dev/null || true)
  if printf '%s\n' "$policy_text" | grep -q 'Candidate: [0-9]'; then
    installable+=("$pkg")
  else
    echo "ensure-proxies: Debian offers no package '$pkg' here; tests that need it will fail naming it" >&2
  fi
done
[ ${#installable[@]} -eq 0 ] && exit 0

# Installing nginx or prometheus would start their services (port 80, 9090): a policy-rc.d that
# answers 101 ("action forbidden") keeps them stopped. Put one in place only for this install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  made_policy=1
fi
# An EXIT trap's status becomes the script's: it must end 0 when there was nothing to remove.
cleanup() {
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
  return 0
}
trap cleanup EXIT

echo "ensure-proxies: installing ${installable[*]} with apt-get (services are not started)" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${installable[@]}" >/dev/null
exit 0
