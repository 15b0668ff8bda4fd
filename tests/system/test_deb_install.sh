#!/usr/bin/env bash
# test_deb_install.sh DEB — install the built package on this machine as a user would, check that the
# service's user reads the installed config with a key in it, then purge and check nothing is left.
# It CHANGES THE SYSTEM (installs, creates a user, purges): it runs only in CI (CI=true) or when asked
# with SMARTMETER_SYSTEM_TESTS=1, as root, and never over an smartmeterd package already installed.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
deb="${1:?usage: $0 path/to/smartmeterd_VERSION_ARCH.deb}"
if [ "${CI:-}" != "true" ] && [ "${SMARTMETER_SYSTEM_TESTS:-}" != "1" ]; then
  echo "test_deb_install: skipped (changes the system; set CI=true or SMARTMETER_SYSTEM_TESTS=1)"
  exit 77
fi
[ "$(id -u)" -eq 0 ] || { echo "test_deb_install: must run as root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' smartmeterd 2>/dev/null | grep -q "ok installed"; then
  echo "test_deb_install: smartmeterd is already installed here; not touching it" >&2
  exit 1
fi
deb=$(realpath "$deb")
fail() { echo "test_deb_install: FAIL: $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

# systemd-analyze and systemctl (for verify, security and enable) are not in minimal images.
if ! command -v systemd-analyze >/dev/null; then
  apt-get update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends systemd >/dev/null
fi

# Everything named smartmeter* in the places a package, systemd or adduser write to.
snapshot() {
  { find /etc /lib/systemd /usr/lib/systemd /usr/sbin /usr/bin /usr/share/man /usr/share/doc /var/lib \
      -xdev -name '*smartmeter*' 2>/dev/null
    getent passwd smartmeter | sed 's/^/passwd: /' || true
    getent group smartmeter | sed 's/^/group: /' || true
    grep -h '^dialout:.*smartmeter' /etc/group | sed 's/^/dialout member: /' || true
  } | sort
}
before=$(snapshot)

echo "== apt-get install $deb"
apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$deb" >/dev/null
conf=/etc/smartmeter.conf
[ "$(stat -c '%U:%G %a' "$conf")" = "root:smartmeter 640" ] || fail "$conf is $(stat -c '%U:%G %a' "$conf"), want root:smartmeter 640"
dpkg-query -W -f='${Conffiles}\n' smartmeterd | grep -q " $conf " || fail "$conf is not a conffile"
for u in smartmeterd.service smartmeterd@.service; do
  [ -f "/lib/systemd/system/$u" ] || fail "$u not installed"
done
echo "== systemd-analyze verify and security (exposure must stay <= 2.0)"
for u in smartmeterd.service smartmeterd@.service smartmeterd@garage.service; do
  out=$(systemd-analyze verify "$u" 2>&1) && [ -z "$out" ] || fail "systemd-analyze verify $u: $out"
done
for u in smartmeterd.service smartmeterd@.service; do
  systemd-analyze security --offline=true --threshold=20 "/lib/systemd/system/$u" | tail -1 ||
    fail "$u exposure is above 2.0"
done
# Run as exactly the user and groups the unit names.
unit=/lib/systemd/system/smartmeterd.service
user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
supp=$(sed -n 's/^SupplementaryGroups=//p' "$unit" | tr ' ' ',')
[ -n "$user" ] && [ -n "$group" ] || fail "$unit names no User=/Group="
id -nG "$user" | tr ' ' '\n' | grep -qx dialout || fail "$user is not in dialout"
as_service() { setpriv --reuid="$user" --regid="$group" --groups="$supp" --inh-caps=-all "$@"; }

echo "== a key in $conf, --check-config as $user:$group (+$supp)"
key=00112233445566778899aabbccddeeff
sed -i "s/^#key =\$/key = $key/" "$conf"
grep -q "^key = $key\$" "$conf" || fail "could not write the key into $conf"
out=$(as_service /usr/sbin/smartmeterd --check-config -c "$conf" 2>&1) || fail "check-config as $user: $out"
echo "$out"
grep -q "configuration OK" <<<"$out" || fail "no 'configuration OK': $out"
! grep -qi "$key" <<<"$out" || fail "the key was printed"
# The same file must NOT be readable by anybody else (it holds the key).
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/smartmeterd --check-config -c "$conf" 2>&1); then
  fail "nobody could read $conf: $out"
fi
echo "as nobody (expected to fail): $out"

echo "== reinstall (as an upgrade does): the edited config keeps its key, owner and mode"
dpkg -i "$deb" >/dev/null 2>&1 || fail "dpkg -i (reinstall) failed"
grep -q "^key = $key\$" "$conf" || fail "reinstall replaced the edited $conf"
[ "$(stat -c '%U:%G %a' "$conf")" = "root:smartmeter 640" ] || fail "after reinstall $conf is $(stat -c '%U:%G %a' "$conf")"

echo "== template instance: /etc/smartmeter/garage.conf with --instance garage"
install -m 0640 -o root -g smartmeter "$conf" /etc/smartmeter/garage.conf
out=$(as_service /usr/sbin/smartmeterd --check-config -c /etc/smartmeter/garage.conf --instance garage 2>&1) ||
  fail "instance check-config: $out"
out=$(as_service /usr/sbin/smartmeterd --check-config -c /etc/smartmeter/garage.conf --instance 'a/b' 2>&1) &&
  fail "--instance a/b was accepted"
grep -q "not allowed" <<<"$out" || fail "bad --instance message: $out"

echo "== enable both units (as an admin would), state as systemd would create it"
systemctl enable smartmeterd.service smartmeterd@garage.service >/dev/null 2>&1 ||
  fail "systemctl enable failed"
[ -L /etc/systemd/system/multi-user.target.wants/smartmeterd.service ] || fail "no enable link"
[ -L /etc/systemd/system/multi-user.target.wants/smartmeterd@garage.service ] || fail "no instance enable link"
install -d -o "$user" -g "$group" -m 0750 /var/lib/smartmeterd /var/lib/smartmeterd/garage
echo 7e00 >/var/lib/smartmeterd/capture.hex

echo "== apt-get purge"
apt-get -o DPkg::Lock::Timeout=300 purge -y -qq smartmeterd >/dev/null
after=$(snapshot)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") >&2 || true
  fail "purge left the above behind"
fi
echo "test_deb_install: PASS (installed, read as $user with a key, purged clean)"
