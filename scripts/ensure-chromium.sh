#!/usr/bin/env bash
# Makes sure the Chromium that browser tests drive (test/helpers/browser.ts) is at /usr/bin/chromium:
# installs Debian's `chromium` package when this user may, and otherwise says what to run.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
INSTALL='apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: $CHROMIUM is missing and apt-get is not available here." >&2
  echo "  install Chromium so that it is at $CHROMIUM (browser tests drive it with playwright-core)." >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  run=(bash -c "$INSTALL")
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n bash -c "$INSTALL")
else
  echo "chromium: $CHROMIUM is missing; browser tests need it. Install it with:" >&2
  echo "  sudo bash -c '$INSTALL'" >&2
  exit 1
fi

echo "chromium: installing Debian's chromium package ..."
"${run[@]}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "chromium: the package installed, but $CHROMIUM is still missing." >&2
  exit 1
fi
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)"
