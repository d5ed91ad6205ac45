#!/usr/bin/env bash
# Installs what carbon-wizard and its lab need on a Debian/Ubuntu machine, then the
# Python package (with test extras) into ./.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# libxml2-utils: xmllint, which a 2.6.0 pack's bin/profileSetup.sh needs (the profile step)
PACKAGES=(mariadb-server mariadb-client openssh-server openssh-client nginx
          default-jdk-headless openssl python3-venv tmux rsync cron procps iproute2 sudo
          libxml2-utils)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  # The lab runs its own throwaway services; keep the distribution's from starting.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
# An editable install leaves our modules uncompiled; pip compiles an installed package.
# Without bytecode (PYTHONDONTWRITEBYTECODE=1), every run compiles ~80 modules (0.1-0.2 s).
.venv/bin/python -m compileall -q -j 0 wizard screens >/dev/null
echo "setup: done ($(.venv/bin/carbon-wizard --version))"
