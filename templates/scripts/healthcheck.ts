/**
 * `healthcheck-http.sh PORT PATH`: exits 0 when 127.0.0.1:PORT answers PATH with
 * 200. Uses bash's /dev/tcp because the official haproxy and node images carry
 * neither curl nor wget; every image we use ships bash.
 */
export function renderHttpHealthcheckScript(): string {
  return [
    "#!/bin/bash",
    "# Rendered by cdktf-ha-web: HTTP liveness probe without curl.",
    "set -u",
    'port="$1"; path="${2:-/}"',
    'exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1',
    "printf 'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' \"$path\" >&3",
    "IFS= read -r -t 5 status <&3 || exit 1",
    'case "$status" in',
    '  "HTTP/1."?" 200"*) exit 0 ;;',
    "esac",
    'echo "unhealthy: $status" >&2',
    "exit 1",
    "",
  ].join("\n");
}
