#!/usr/bin/env bash
# build-deb.sh [--source] [--lintian] — build the Debian package of smartmeterd on Debian 12 /
# Raspberry Pi OS, installing the build dependencies it lacks (needs root or sudo only then).
# Builds from a copy of the tree under build-deb/ (dpkg-buildpackage writes to the parent directory,
# which must not be the one holding the checkout). --source also builds the source package (3.0 native),
# --lintian checks the results and fails on lintian errors. DEB_BUILD_OPTIONS=nocheck skips the tests.
# The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
src="$PWD"
source_pkg=0 lint=0
for a in "$@"; do
  case "$a" in
    --source) source_pkg=1 ;;
    --lintian) lint=1 ;;
    *) echo "usage: $0 [--source] [--lintian]" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=(dpkg-dev debhelper build-essential fakeroot)
[ "$lint" -eq 1 ] && need+=(lintian)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-deb: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Build-Depends of debian/control that are not installed yet.
if ! dpkg-checkbuilddeps >/dev/null 2>&1; then
  echo "build-deb: installing the build dependencies" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 build-dep -y -qq --no-install-recommends "$src" >/dev/null
fi

version=$(dpkg-parsechangelog -S Version)
out="$src/build-deb"
tree="$out/smartmeterd-$version"
rm -rf "$out"
mkdir -p "$tree"
# Only the sources: tracked and new (not ignored) files, or everything but build output outside git.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # (a tracked file deleted in the checkout is left out: the copy is what the checkout holds now)
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$tree")
else
  tar -C "$src" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$tree" -xf -
fi

flags=(-us -uc)
if [ "$source_pkg" -eq 1 ]; then flags+=(-F); else flags+=(-b); fi
(cd "$tree" && dpkg-buildpackage "${flags[@]}" >"$out/build.log" 2>&1) || {
  tail -40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
  exit 1
}
arch=$(dpkg --print-architecture)
deb="$out/smartmeterd_${version}_${arch}.deb"
[ -f "$deb" ] || { echo "build-deb: $deb was not built" >&2; exit 1; }

if [ "$lint" -eq 1 ]; then
  # one .changes: the binary package, and with --source the source package too
  changes="$out/smartmeterd_${version}_${arch}.changes"
  lintian --display-info --pedantic "$changes" >"$out/lintian.log" 2>&1 || true
  cat "$out/lintian.log" >&2
  if grep -q '^E:' "$out/lintian.log"; then
    echo "build-deb: lintian reports errors" >&2
    exit 1
  fi
fi
echo "$deb"
