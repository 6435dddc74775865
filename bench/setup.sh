#!/bin/sh
# Fetches Postfix's smtp-sink / smtp-source into bench/.cache/ WITHOUT installing the Postfix
# service: `apt-get download` + `dpkg -x` (no postinst, no daemon). Idempotent: does nothing
# when the binaries are already there.
# Usage: sh bench/setup.sh        (prints the directory holding usr/sbin and usr/lib/postfix)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/.cache"
pf="$cache/postfix"
if [ -x "$pf/usr/sbin/smtp-sink" ] && [ -x "$pf/usr/sbin/smtp-source" ]; then
  echo "$pf"
  exit 0
fi
mkdir -p "$cache"
cd "$cache"
if ! ls postfix_*.deb >/dev/null 2>&1; then
  # The package lists may be missing on a fresh machine; `apt-get download` needs them.
  if ! apt-get download postfix >&2; then
    apt-get update >&2
    apt-get download postfix >&2
  fi
fi
deb=$(ls postfix_*.deb | head -n 1)
rm -rf "$pf.tmp"
dpkg -x "$deb" "$pf.tmp"
mv "$pf.tmp" "$pf"
# Sanity check: the binaries need libpostfix-*.so from usr/lib/postfix.
LD_LIBRARY_PATH="$pf/usr/lib/postfix" "$pf/usr/sbin/smtp-source" 2>&1 | head -n 1 >&2 || true
echo "$pf"
