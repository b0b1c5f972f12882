#!/usr/bin/env bash
# Install what nurture needs to build and to run its tests, from Debian 12's
# packages.  Run as root (or with sudo available).  Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsqlite3-dev sqlite3
  libyaml-dev libcmark-dev libcsv-dev libjansson-dev libidn2-dev libssl-dev
  tzdata python3 clang libclang-rt-14-dev
  libesmtp-dev openssl python3-aiosmtpd postfix
  libgmime-3.0-dev libpcre2-dev
  libcurl4-openssl-dev dovecot-imapd dovecot-pop3d
  chromium
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# postfix is here for its test tools (smtp-sink, smtp-source).  "No
# configuration" installs it without questions and without a main.cf, so no
# system MTA starts on port 25; the tests use their own servers on high ports.
if [[ " ${missing[*]} " == *" postfix "* ]]; then
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
fi
# Dovecot is here for the inbound tests, which start their own instance on a
# loopback port; keep the packaged service from starting at install time.
if [[ " ${missing[*]} " == *" dovecot-"* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod 755 /usr/sbin/policy-rc.d
  trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
fi
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
