#!/usr/bin/env bash
# install-deps.sh — install the Debian 12 / Raspberry Pi OS packages smartmeterd needs to build,
# test and run its demo, plus any package named as an argument (bench/run: valgrind). Installs only what
# is missing; needs root (or sudo) only then.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libmosquitto-dev libserialport-dev libjson-c-dev libgcrypt20-dev libcmocka-dev
  mosquitto mosquitto-clients python3 python3-paho-mqtt socat openssl
  libnss-wrapper  # test_daemon_resolve: names that resolve to a refusing address first
  clang libclang-rt-14-dev xxd  # scripts/fuzz.sh
  "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The distribution's mosquitto service is not needed (tests and the demo start their own broker on a
# random loopback port); leave it as the package set it up.
