#!/bin/sh
# Installs the Debian packages the tests and the lab run for real: the validators
# (haproxy -c, nginx -t, cloud-init schema), the servers standing in for the
# official images (HAProxy, Nginx, MariaDB, Node.js), dnsmasq as the per-namespace
# resolver, namespace tools and the load generators (wrk, h2load).
# Debian 12 / as root. Services are not started: the tests start what they need.
set -eu
if [ "$(id -u)" -ne 0 ]; then echo "run as root (sudo $0)" >&2; exit 1; fi
# Keep package scripts from starting the distro's own services (ports 80/3306).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
pkgs="haproxy nginx mariadb-server mariadb-client keepalived dnsmasq-base iproute2 procps util-linux mount cloud-init wrk nghttp2-client openssl ca-certificates"
# The lab runs the app with the node on PATH; Debian's nodejs only where there is none.
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "test dependencies installed: $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1), $(mariadbd --version | cut -d' ' -f1-4)"
