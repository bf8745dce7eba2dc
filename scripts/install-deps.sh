#!/usr/bin/env bash
# Installs what graftrain's build and tests need on a Debian or Ubuntu
# machine: libjpeg-turbo for bit-exact JPEG decoding, shellcheck and flake8
# for the script and exporter lints, Chromium for the diagnosis report test,
# and staticcheck. Go itself (1.26 or newer) must already be installed.
set -euo pipefail

packages=(libturbojpeg0-dev shellcheck flake8 chromium)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v staticcheck >/dev/null && [[ ! -x "$(go env GOPATH)/bin/staticcheck" ]]; then
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
