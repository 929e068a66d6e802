#!/bin/sh
# Installs the Debian 12 packages the tests, the lab and its benchmark run for real:
# the validators (haproxy -c, nginx -t, cloud-init schema, systemd-analyze verify,
# PyYAML, nft -c, keepalived -t, promtool, amtool), the servers standing in for the official images (HAProxy, Nginx, MariaDB,
# Node.js) and for the monitoring images (Prometheus, Alertmanager, the nginx and mysqld exporters), dnsmasq as the per-namespace resolver, the namespace tools and the load
# generators (wrk, h2load). The list is __tests__/helpers/prerequisites.ts's (a test
# compares them); what every Debian has (util-linux, mount, coreutils, bash) is not in it.
# Installs only what is missing, so it is safe to run again. Services are not started:
# the tests start what they need.
set -eu
# The servers live in /usr/sbin, which a non-root PATH on Debian lacks.
PATH="$PATH:/usr/sbin:/sbin"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$0: needs apt-get (Debian 12); elsewhere install the programs listed in __tests__/helpers/prerequisites.ts" >&2
  exit 1
fi
pkgs="haproxy nginx mariadb-server mariadb-client mariadb-backup shellcheck cloud-init systemd python3 python3-yaml nftables keepalived openssl iproute2 procps dnsmasq-base wget curl wrk nghttp2-client prometheus prometheus-alertmanager prometheus-nginx-exporter prometheus-mysqld-exporter prometheus-node-exporter"
# The lab runs the app with the node on PATH; Debian's nodejs only where there is none.
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$0: missing Debian packages:$missing. Installing them needs root: run this script as root, or with sudo" >&2
    exit 1
  fi
  # Keep package scripts from starting the distro's own services (ports 80/3306) while
  # installing; a policy-rc.d that was already there stays as it was.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    trap 'exit 130' INT TERM
  fi
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # apt's and the package scripts' chatter goes to a log, shown only if something fails.
  log=$(mktemp)
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$0: apt-get failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
fi
echo "test dependencies ready: $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), MariaDB $(mariadbd --version | sed 's/.*Ver \([^-]*\).*/\1/'), cloud-init $(cloud-init --version 2>&1 | cut -d' ' -f2), systemd $(systemd-analyze --version | head -1 | cut -d' ' -f2)"
