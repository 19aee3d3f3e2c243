#!/usr/bin/env bash
# Installs the Debian packages of the EDA tools the flow uses, when running as root and one is
# missing; otherwise says what to install. Idempotent: does nothing when everything is there.
#   install_system_tools.sh [--optional PKG ...]
# The EDA tools are required: without them (and not root) it fails. Packages after --optional
# (chromium, SLURM: what only some tests use) are installed as root and otherwise only named, so
# `make test` goes on and those tests skip (or fail, where SPIKEMEM_NO_SKIPS is set, as in CI).
set -euo pipefail

declare -A PACKAGE_OF=([iverilog]=iverilog [vvp]=iverilog [verilator]=verilator [sta]=opensta [yosys]=yosys)
required=()
for cmd in "${!PACKAGE_OF[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || required+=("${PACKAGE_OF[$cmd]}")
done
# ccache is not needed for correctness: it caches Verilator's runtime objects across the hundreds
# of builds of a run (spikemem.rtl.simulator), so it is installed as root and otherwise named.
optional=()
command -v ccache >/dev/null 2>&1 || optional+=(ccache)
if [ "${1:-}" = "--optional" ]; then
  shift
  for extra in "$@"; do
    dpkg -s "$extra" >/dev/null 2>&1 || optional+=("$extra")
  done
fi
mapfile -t missing < <(printf '%s\n' "${required[@]}" "${optional[@]}" | sed '/^$/d' | sort -u)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing packages: ${missing[*]}" >&2
echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
if [ ${#required[@]} -gt 0 ]; then
  echo "the flow needs ${required[*]}: stopping" >&2
  exit 1
fi
echo "going on without them: the tests that need them skip" >&2
