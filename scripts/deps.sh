#!/usr/bin/env bash
# Install what RTCP's build, VM and tests need, when it is missing.
# A second run with everything present does nothing but check.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

missing=()
for p in "${DEB_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	# nginx's and iperf3's maintainer scripts would start their services
	# on this host: the tests start their own in the VM's namespaces. A
	# policy-rc.d that refuses every start (101) holds them off for the
	# install, unless the machine has one of its own already.
	policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# RTCP scripts/deps.sh: no service starts while it installs\nexit 101\n' |
			$SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
		made_policy=1
		trap '$SUDO rm -f "$policy"' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	if [ -n "$made_policy" ]; then
		$SUDO rm -f "$policy"
		trap - EXIT
	fi
fi

command -v rustup >/dev/null || die "rustup not found: RTCP builds with the machine's rustup toolchain"
if ! rustup component list --installed | grep -q '^rust-src'; then
	log "adding rust-src"
	rustup component add rust-src
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	log "installing bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --force bindgen-cli --version "$BINDGEN_VERSION"
fi

if [ "$("$RTCP_CACHE/virtiofsd/bin/virtiofsd" --version 2>/dev/null)" != "virtiofsd $VIRTIOFSD_VERSION" ]; then
	log "installing virtiofsd $VIRTIOFSD_VERSION into $RTCP_CACHE/virtiofsd"
	cargo install --locked --force --root "$RTCP_CACHE/virtiofsd" virtiofsd --version "$VIRTIOFSD_VERSION"
fi

venv=$RTCP_CACHE/venv
if [ "$("$venv/bin/vng" --version 2>/dev/null)" != "virtme-ng $VIRTME_NG_VERSION" ]; then
	log "installing virtme-ng $VIRTME_NG_VERSION into $venv"
	mkdir -p "$RTCP_CACHE"
	python3 -m venv --clear "$venv"
	"$venv/bin/python3" -m pip install -q "virtme-ng==$VIRTME_NG_VERSION"
fi
if [ "$("$venv/bin/python3" -c 'import scapy; print(scapy.VERSION)' 2>/dev/null)" != "$SCAPY_VERSION" ]; then
	log "installing scapy $SCAPY_VERSION into $venv"
	"$venv/bin/python3" -m pip install -q "scapy==$SCAPY_VERSION"
fi
