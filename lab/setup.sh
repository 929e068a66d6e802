#!/bin/sh
# Installs the Debian 12 packages the lab runs: the servers standing in for the
# official images (HAProxy, Nginx, MariaDB, Node.js only if no node is on PATH),
# the per-namespace DNS server (dnsmasq), namespace tools and the load generators.
# The distro services are not started (policy-rc.d): the lab starts what it needs.
set -eu
if [ "$(id -u)" -ne 0 ]; then echo "run as root: sudo bash $0" >&2; exit 1; fi
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
pkgs="haproxy nginx mariadb-server mariadb-client dnsmasq-base iproute2 util-linux mount procps wrk nghttp2-client"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "lab dependencies installed: $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1), $(mariadbd --version | cut -d' ' -f1-4), dnsmasq $(dnsmasq --version | head -1 | cut -d' ' -f3)"
