#!/usr/bin/env bash
# Builds the Go/Gin peer (bench/peers/gin/gin-peer) in GOPATH mode from Debian's packages: no module
# proxy, no download. Installs golang-go and golang-github-gin-gonic-gin-dev with apt-get when missing.
# Usage: bash bench/peers/build-gin.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/gin-gonic/gin ]; then
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  "${apt_get[@]}" install -y -q golang-go golang-github-gin-gonic-gin-dev >/dev/null ||
    { "${apt_get[@]}" update -q >/dev/null && "${apt_get[@]}" install -y -q golang-go golang-github-gin-gonic-gin-dev >/dev/null; }
fi
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-/tmp/lifeline-go-cache}"
cd "$here/gin"
go build -o gin-peer main.go
echo "built $here/gin/gin-peer"
