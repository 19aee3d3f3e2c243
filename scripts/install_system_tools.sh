#!/usr/bin/env bash
# Installs the Debian packages of the EDA tools the flow uses, when running as root and one is
# missing; otherwise says what to install. Idempotent: does nothing when everything is there.
set -euo pipefail

declare -A PACKAGE_OF=([iverilog]=iverilog [verilator]=verilator [sta]=opensta [yosys]=yosys)
missing=()
for cmd in "${!PACKAGE_OF[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done
for extra in "$@"; do  # further packages a target needs, e.g. chromium for the report test
  dpkg -s "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing tools: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
