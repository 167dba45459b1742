#!/bin/sh
# Installs Debian's ffmpeg for the live-player browser test (tests/browser/test_live_player.py):
# the test cuts a few seconds of a test pattern into an HLS stream and plays it in Chromium.
# Like Chromium (scripts/install-chromium.sh), it comes from the distribution's packages.
set -eu
if command -v ffmpeg >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
