#!/usr/bin/env bash
# Installs the Debian packages the kernel tests drive (as root, only when missing):
# iproute2, iptables, nftables, ipset, conntrack, the CNI reference plugins, dig,
# dnsperf, jq, socat, strace (syscall counts of the IPAM store), curl and openssl (the
# gateway serve tests), and for the eBPF proxy mode clang, llvm, bpftool, libbpf-dev and
# python3 (its kernel tests' client and server). It changes nothing else on the machine.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in iproute2 iptables nftables ipset conntrack containernetworking-plugins bind9-dnsutils dnsperf jq socat netcat-openbsd iputils-ping strace curl openssl clang llvm bpftool libbpf-dev python3; do
  have "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "kernel-prereqs: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi
echo "kernel-prereqs: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
