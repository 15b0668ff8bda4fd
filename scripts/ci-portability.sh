#!/usr/bin/env bash
# ci-portability.sh — the build and portability checks of CI (called by scripts/test.sh after the tests):
#   1. man pages lint clean; decoder-only build (-DSMARTMETER_BUILD_DAEMON=OFF) with its unit tests
#   2. the daemon without libserialport (OpenWrt has none): builds, --list-ports says unavailable,
#      serial tests pass on termios alone; the OpenWrt recipe's file list, options and dependencies
#   3. every source compiled with musl-gcc (compile only: this machine's libraries are glibc builds)
#   4. library + unit tests (corpus conformance included) cross-built for big-endian s390x and 32-bit
#      armhf with Debian's cross compilers, run under qemu-user
#   5. the Debian package: build, lintian, and (CI=true or SMARTMETER_SYSTEM_TESTS=1 only, it changes
#      the system) install, --check-config as the service's user, purge
# Installs what it needs (Debian 12). Each step prints its time. SMARTMETER_PORTABILITY_STEPS="1 4"
# runs only some steps. Build output goes to build-port/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/build-port"
steps="${SMARTMETER_PORTABILITY_STEPS:-1 2 3 4 5}"
export SMARTMETER_CORPUS="${SMARTMETER_CORPUS:-$(cd .. && pwd)/shared/corpus}"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
mkdir -p "$out"

want() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }
step_start() { step_name="$1"; step_t0=$(date +%s); echo "== portability: $1"; }
step_end() { echo "== portability: $step_name: ok in $(($(date +%s) - step_t0)) s"; }

apt_install() { # only what is missing
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "ci-portability: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Names of the ctest tests that run host programs (scripts) rather than the cross-built binaries.
integration_tests() {
  ls tests/integration | sed -n 's/^\(test_.*\)\.\(sh\|py\)$/^\1$/p' | paste -sd'|'
}

if want 1; then
  step_start "man pages: mandoc -T lint (nothing above style), units render"
  apt_install mandoc
  out_lint=$(mandoc -T lint -W warning man/* 2>&1) || true
  [ -z "$out_lint" ] || { echo "$out_lint" >&2; exit 1; }
  # (outputs are read whole before grep: grep -q on a pipe can end the writer early under pipefail)
  for m in man/*; do
    page=$(mandoc -T utf8 "$m")
    if grep -q 'm©' <<<"$page"; then echo "$m renders m³ as m©" >&2; exit 1; fi
  done
  page=$(mandoc -T utf8 man/smartmeterd.8)
  grep -q 'm³' <<<"$page" || { echo "smartmeterd(8) lost its m³" >&2; exit 1; }
  step_end

  step_start "decoder-only build"
  cmake -S . -B "$out/decoder-only" -DSMARTMETER_WERROR=ON -DSMARTMETER_BUILD_DAEMON=OFF >/dev/null
  cmake --build "$out/decoder-only" -j2 >/dev/null
  [ ! -e "$out/decoder-only/smartmeterd" ] || { echo "decoder-only build built the daemon" >&2; exit 1; }
  ctest --test-dir "$out/decoder-only" -j2 --output-on-failure -E "$(integration_tests)" | tail -3
  step_end
fi

if want 2; then
  step_start "daemon without libserialport"
  cmake -S . -B "$out/no-serialport" -DSMARTMETER_WERROR=ON -DSMARTMETER_WITH_LIBSERIALPORT=OFF >/dev/null
  cmake --build "$out/no-serialport" -j2 --target smartmeterd test_daemon_serial >/dev/null
  dyn=$(objdump -p "$out/no-serialport/smartmeterd")
  if grep -q 'NEEDED.*\(libserialport\|libsystemd\)' <<<"$dyn"; then
    echo "smartmeterd links libserialport or libsystemd although built without" >&2
    exit 1
  fi
  if msg=$("$out/no-serialport/smartmeterd" --list-ports 2>&1); then
    echo "--list-ports succeeded without libserialport: $msg" >&2
    exit 1
  fi
  grep -q "unavailable" <<<"$msg" || { echo "--list-ports said: $msg" >&2; exit 1; }
  # The serial tests talk to a real pseudo-terminal: the termios-only path must pass them as well.
  "$out/no-serialport/test_daemon_serial" >/dev/null 2>&1 || "$out/no-serialport/test_daemon_serial"
  step_end
fi

if want 2; then
  step_start "OpenWrt recipe: its file list, options, install layout, libraries, init script"
  mk=openwrt/smartmeterd/Makefile
  ow="$out/openwrt"
  rm -rf "$ow" && mkdir -p "$ow/src" "$ow/build" "$ow/pkg"
  # exactly what Build/Prepare copies, configured with exactly the Makefile's CMAKE_OPTIONS
  for f in $(grep -o '\$(SMARTMETER_SRC)/[A-Za-z.]*' "$mk" | sed 's/.*\///' | sort -u); do
    cp -r "$f" "$ow/src/"
  done
  opts=$(sed -n '/^CMAKE_OPTIONS +=/,/^$/p' "$mk" | grep -o -- '-D[A-Za-z_]*=[^ \\]*')
  # shellcheck disable=SC2086
  cmake -S "$ow/src" -B "$ow/build" -DCMAKE_INSTALL_PREFIX=/usr -DSMARTMETER_WERROR=ON $opts >/dev/null
  cmake --build "$ow/build" -j2 >/dev/null
  DESTDIR="$ow/pkg" cmake --install "$ow/build" >/dev/null
  for f in usr/sbin/smartmeterd usr/bin/smartmeter-decode etc/smartmeter.conf; do
    grep -q "PKG_INSTALL_DIR)/$f" "$mk" || { echo "$mk does not install $f" >&2; exit 1; }
    [ -f "$ow/pkg/$f" ] || { echo "OpenWrt build: $f not installed" >&2; exit 1; }
  done
  # libraries the binaries need must be the ones DEPENDS names (libc, libm come with the toolchain)
  needed=$(objdump -p "$ow/pkg/usr/sbin/smartmeterd" "$ow/pkg/usr/bin/smartmeter-decode" |
    sed -n 's/^ *NEEDED *//p' | sort -u)
  for l in $needed; do
    case "$l" in
      libc.so.*|libm.so.*|ld-*) ;;
      libmosquitto.so.*) grep -q '+libmosquitto' "$mk" || { echo "DEPENDS lacks libmosquitto" >&2; exit 1; } ;;
      libjson-c.so.*) grep -q '+libjson-c' "$mk" || { echo "DEPENDS lacks libjson-c" >&2; exit 1; } ;;
      libgcrypt.so.*) grep -q '+libgcrypt' "$mk" || { echo "DEPENDS lacks libgcrypt" >&2; exit 1; } ;;
      *) echo "OpenWrt build needs $l, which DEPENDS does not provide" >&2; exit 1 ;;
    esac
  done
  # the config the package ships: the Makefile's sed must switch logging to syslog, and it must load
  conf="$ow/pkg/etc/smartmeter.conf"
  sedexpr=$(sed -n "s/.*\$(SED) '\(.*\)' \$(1)\/etc\/smartmeter.conf/\1/p" "$mk" | sed 's/\$\$\$\$/$/')
  sed -i -e "$sedexpr" "$conf"
  grep -qx 'target = syslog' "$conf" || { echo "OpenWrt config does not log to syslog (sed '$sedexpr')" >&2; exit 1; }
  "$ow/pkg/usr/sbin/smartmeterd" --check-config -c "$conf" >/dev/null
  sh -n openwrt/smartmeterd/files/smartmeterd.init
  grep -q 'procd_set_param respawn' openwrt/smartmeterd/files/smartmeterd.init
  echo "OpenWrt-style build ok: needs $(echo $needed | tr ' ' ',')"
  step_end
fi

if want 2; then
  step_start "cmake --install with prefix /usr: the layout the units expect"
  b="$out/prefix-usr" d="$out/prefix-usr-root"
  rm -rf "$d"
  cmake -S . -B "$b" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DSMARTMETER_BUILD_BENCH=OFF >/dev/null
  cmake --build "$b" -j2 >/dev/null
  DESTDIR="$d" cmake --install "$b" >/dev/null
  unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
  for f in usr/sbin/smartmeterd usr/bin/smartmeter-decode etc/smartmeter.conf "${unitdir#/}/smartmeterd.service" \
    "${unitdir#/}/smartmeterd@.service" usr/share/man/man8/smartmeterd.8 usr/share/man/man5/smartmeter.conf.5; do
    [ -f "$d/$f" ] || { echo "cmake --install: /$f missing" >&2; find "$d" >&2; exit 1; }
  done
  [ "$(stat -c %a "$d/etc/smartmeter.conf")" = 640 ] || { echo "/etc/smartmeter.conf is not 0640" >&2; exit 1; }
  grep -qx 'ExecStart=/usr/sbin/smartmeterd -c /etc/smartmeter.conf' "$d/${unitdir#/}/smartmeterd.service"
  grep -qx 'ExecStart=/usr/sbin/smartmeterd -c /etc/smartmeter/%i.conf --instance %i' "$d/${unitdir#/}/smartmeterd@.service"
  [ -z "$(find "$d" -path '*/include/*' -o -name '*.a')" ] || { echo "headers or library installed" >&2; exit 1; }
  # a second install must not overwrite the user's config (it holds keys): the sample goes to .new
  echo "# mine" >>"$d/etc/smartmeter.conf"
  DESTDIR="$d" cmake --install "$b" >/dev/null
  tail -1 "$d/etc/smartmeter.conf" | grep -qx '# mine' || { echo "reinstall overwrote the config" >&2; exit 1; }
  [ -f "$d/etc/smartmeter.conf.new" ] || { echo "reinstall did not leave smartmeter.conf.new" >&2; exit 1; }
  step_end
fi

if want 3; then
  step_start "musl-gcc compile of every source (library, JSON writer, tools, daemon, tests, benchmarks, fuzzers)"
  apt_install musl-tools
  # musl's libc headers first; the libraries' headers (json-c, libgcrypt, libmosquitto, libserialport)
  # come from the system after them. Any other glibc header a file pulls in is an error: every libc
  # use must be checked against musl.
  host=$(gcc -dumpmachine)
  allowed="^/usr/include/(x86_64-linux-musl/|[a-z0-9_]+-linux-musl/|json-c/|gcrypt\.h|mosquitto\.h|libserialport\.h|cmocka\.h|$host/gpg-error\.h|$host/gpgrt\.h)|^/usr/lib/(gcc|musl)/"
  n=0
  # musl_cc "include dirs" file [flags]: the include dirs each target gets in CMakeLists.txt
  musl_cc() {
    local inc=() d
    for d in $1; do inc+=("-I$d"); done
    shift
    musl-gcc -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DSMARTMETER_VERSION='"ci"' -Wall -Wextra -Werror \
      -Wno-missing-field-initializers -Iinclude "${inc[@]}" \
      -idirafter /usr/include -idirafter "/usr/include/$host" -MD -MF "$out/musl.d" -c "$@" -o "$out/musl.o"
    local leak
    leak=$(tr ' \\' '\n\n' <"$out/musl.d" | grep '^/' | grep -Ev "$allowed" | grep -v "^$root/" || true)
    [ -z "$leak" ] || { echo "musl-gcc: $* uses glibc headers: $leak" >&2; exit 1; }
    n=$((n + 1))
  }
  for f in src/lib/*.c; do musl_cc "src/lib" "$f"; done
  for f in src/json/*.c; do musl_cc "src/json" "$f"; done
  for f in src/tools/*.c; do musl_cc "src/json" "$f"; done
  for f in src/daemon/*.c; do musl_cc "src/daemon src/json" "$f"; done # serial.c without libserialport, as OpenWrt
  musl_cc "src/daemon src/json" src/daemon/serial.c -DSMARTMETER_HAVE_LIBSERIALPORT=1
  helpers="tests/unit/helpers src/lib src/json"
  for f in tests/unit/helpers/*.c tests/unit/test_*.c; do
    case "$f" in
      */test_daemon_*) musl_cc "$helpers src/daemon" "$f" ;;
      *) musl_cc "$helpers" "$f" ;;
    esac
  done
  for f in bench/*.c; do musl_cc "src/lib tests/unit src/daemon src/json" "$f"; done
  for f in tests/fuzz/*.c; do musl_cc "src/lib src/json src/daemon src/tools tests/unit tests/unit/helpers" "$f"; done # daemon/tool harnesses, seed generator
  echo "musl-gcc: $n compilations clean (library, tools, daemon with and without libserialport, tests, benchmarks, fuzzers)"
  step_end
fi

# cross_test ARCH TRIPLET QEMU: library + unit tests (no daemon) for ARCH, run under qemu-user.
cross_test() {
  local arch="$1" triplet="$2" qemu="$3"
  local sys="$out/sysroot-$arch" bld="$out/cross-$arch"
  apt_install "gcc-$triplet" "libc6-dev-$arch-cross" qemu-user
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    $SUDO dpkg --add-architecture "$arch"
    $SUDO apt-get update -qq
  fi
  # The target's libraries, unpacked into a sysroot (installing them as :$arch packages drags in
  # conflicting multiarch dependencies on Debian 12).
  if [ ! -f "$sys/.done" ]; then
    rm -rf "$sys" && mkdir -p "$sys/debs"
    (cd "$sys/debs" && apt-get download -q libgcrypt20:"$arch" libgcrypt20-dev:"$arch" libgpg-error0:"$arch" \
      libgpg-error-dev:"$arch" libcmocka0:"$arch" libcmocka-dev:"$arch" libjson-c5:"$arch" \
      libjson-c-dev:"$arch" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    for d in "$sys"/debs/*.deb; do dpkg -x "$d" "$sys"; done
    # absolute symlinks (libgpg-error.so -> /lib/...) must point into the sysroot
    find "$sys" -type l -lname '/*' | while read -r l; do ln -sf "$sys$(readlink "$l")" "$l"; done
    touch "$sys/.done"
  fi
  local libs="$sys/usr/lib/$triplet:$sys/lib/$triplet"
  cat >"$out/toolchain-$arch.cmake" <<TC
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $arch)
set(CMAKE_C_COMPILER $triplet-gcc)
set(CMAKE_C_FLAGS_INIT "-isystem $sys/usr/include/$triplet")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,$sys/usr/lib/$triplet:$sys/lib/$triplet")
set(CMAKE_CROSSCOMPILING_EMULATOR $qemu;-L;/usr/$triplet;-E;LD_LIBRARY_PATH=$libs)
TC
  PKG_CONFIG_LIBDIR="$sys/usr/lib/$triplet/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$sys" \
    cmake -S . -B "$bld" -DCMAKE_TOOLCHAIN_FILE="$out/toolchain-$arch.cmake" -DSMARTMETER_WERROR=ON \
    -DSMARTMETER_BUILD_DAEMON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$bld" -j2 >/dev/null
  file "$bld/test_dsmr" | grep -q "$4" || { echo "$bld/test_dsmr is not $4: $(file -b "$bld/test_dsmr")" >&2; exit 1; }
  ctest --test-dir "$bld" -j2 --output-on-failure -E "$(integration_tests)" >"$bld/ctest.log" 2>&1 || {
    cat "$bld/ctest.log" >&2
    exit 1
  }
  grep -E "tests passed|Total Test time" "$bld/ctest.log"
  # With a corpus present a skipped conformance test is a failure here, not a pass.
  if [ -d "$SMARTMETER_CORPUS" ] && grep -E "test_conformance.*Skipped" "$bld/ctest.log" >&2; then
    echo "ci-portability: $arch: conformance tests skipped although the corpus is at $SMARTMETER_CORPUS" >&2
    exit 1
  fi
}

if want 4; then
  apt_install file
  [ -d "$SMARTMETER_CORPUS" ] || echo "ci-portability: no corpus at $SMARTMETER_CORPUS: conformance tests skip" >&2
  step_start "big-endian s390x: library and unit tests under qemu-s390x"
  cross_test s390x s390x-linux-gnu qemu-s390x "MSB"
  step_end
  step_start "32-bit armhf: library and unit tests under qemu-arm"
  cross_test armhf arm-linux-gnueabihf qemu-arm "32-bit LSB"
  step_end
fi

if want 5; then
  step_start "Debian package (build, lintian)"
  deb=$(DEB_BUILD_OPTIONS="nocheck parallel=2" scripts/build-deb.sh --source --lintian 2>"$out/build-deb.log" | tail -1) || {
    cat "$out/build-deb.log" >&2
    exit 1
  }
  grep -E '^[EWIP]:' "$out/build-deb.log" || true
  echo "built $deb"
  step_end
  step_start "Debian package: install, check-config as the service user, purge"
  rc=0
  bash tests/system/test_deb_install.sh "$deb" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit "$rc"
  step_end
fi
