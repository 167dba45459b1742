#!/bin/sh
# Installs Debian's Chromium for the Playwright browser tests. Playwright's own browser download
# cannot work on machines without general internet access, so we drive the distribution's build.
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
