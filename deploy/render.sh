#!/bin/sh
# Renders one of the deploy/ templates (nginx.conf, haproxy.cfg, Caddyfile) to stdout. The tests render
# the same files with this same script, so what is tested is what ships.
#
#   deploy/render.sh deploy/nginx.conf UPSTREAMS="10.0.0.11:8080 10.0.0.12:8080" > /etc/nginx/conf.d/lifeline.conf
#   deploy/render.sh deploy/haproxy.cfg UPSTREAMS="10.0.0.11:8080 10.0.0.12:8080" LISTEN=80 > /etc/haproxy/haproxy.cfg
#
# Placeholders:
#   {{NAME}}           replaced by NAME=value from the command line; missing -> error, exit 1
#   {{NAME=default}}   the same, with a default used when NAME is not given
#   {{UPSTREAM}}       the whole line is repeated once per address in UPSTREAMS (space-separated
#                      host:port list); {{INDEX}} on that line is 1, 2, 3...
# Every other text, including nginx's own $variables, is left as it is.
set -eu

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: deploy/render.sh <template> NAME=value..." >&2
  exit 2
fi
template=$1
shift

# Values go to awk through the environment (ENVIRON), which keeps any character intact.
names=""
for arg in "$@"; do
  case $arg in
    *=*) ;;
    *) echo "render: argument '$arg' is not NAME=value" >&2; exit 2 ;;
  esac
  name=${arg%%=*}
  case $name in
    ''|*[!A-Z0-9_]*) echo "render: '$name' is not a placeholder name (A-Z 0-9 _)" >&2; exit 2 ;;
  esac
  export "LIFELINE_RENDER_$name=${arg#*=}"
  names="$names $name"
done
export LIFELINE_RENDER_NAMES="$names"

awk '
function value(name, fallback, has_default,   key) {
  key = "LIFELINE_RENDER_" name
  if (key in ENVIRON && (" " ENVIRON["LIFELINE_RENDER_NAMES"] " ") ~ (" " name " ")) return ENVIRON[key]
  if (has_default) return fallback
  printf "render: %s needs %s=... (line %d)\n", FILENAME, name, FNR > "/dev/stderr"
  failed = 1
  return ""
}
# Replaces every {{NAME}} / {{NAME=default}} in s (no regex replacement strings: values stay literal).
function fill(s,   out, start, stop, inner, eq, name) {
  out = ""
  while ((start = index(s, "{{")) > 0) {
    stop = index(substr(s, start + 2), "}}")
    if (stop == 0) break
    inner = substr(s, start + 2, stop - 1)
    eq = index(inner, "=")
    name = eq ? substr(inner, 1, eq - 1) : inner
    out = out substr(s, 1, start - 1) value(name, substr(inner, eq + 1), eq > 0)
    s = substr(s, start + stop + 3)
  }
  return out s
}
{
  if (index($0, "{{UPSTREAM}}") > 0) {
    n = split(value("UPSTREAMS", "", 0), ups, " ")
    for (i = 1; i <= n; i++) {
      line = $0
      gsub(/\{\{UPSTREAM\}\}/, "\001", line)
      gsub(/\{\{INDEX\}\}/, "\002", line)
      line = fill(line)
      gsub(/\001/, ups[i], line)
      gsub(/\002/, i, line)
      print line
    }
    next
  }
  print fill($0)
}
END { if (failed) exit 1 }
' "$template"
