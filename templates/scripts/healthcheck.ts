/**
 * `healthcheck-http.sh PORT [PATH]`: exits 0 when 127.0.0.1:PORT answers
 * `GET PATH` (default `/`) with status 200, else 1 with the reason on stderr.
 *
 * POSIX sh, so it runs under `/bin/sh` in any image. It asks with bash's
 * /dev/tcp when the image has bash (the official Debian- and Ubuntu-based
 * haproxy, node, mariadb and mysql images carry neither curl nor wget), else
 * with wget (busybox's, as in Alpine images, or GNU's), else with curl, and
 * fails with a clear message when the image has none of the three. Every tool
 * prints the response's status line; only the first one counts, so a redirect
 * is not a 200. The script holds no `${` or `%{` (nothing for Terraform to read
 * as its own template syntax).
 */
export function renderHttpHealthcheckScript(): string {
  return [
    "#!/bin/sh",
    "# Rendered by cdktf-ha-web: HTTP liveness probe (POSIX sh).",
    "# healthcheck-http.sh PORT [PATH]: exit 0 iff GET http://127.0.0.1:PORT/PATH answers 200.",
    "# Asks with bash's /dev/tcp if the image has bash, else wget (busybox or GNU), else curl.",
    'if [ "$#" -lt 1 ]; then echo "usage: healthcheck-http.sh PORT [PATH]" >&2; exit 1; fi',
    'port="$1"',
    "path=/",
    'if [ "$#" -ge 2 ]; then path="$2"; fi',
    'url="http://127.0.0.1:$port$path"',
    "# Straight to the local listener, whatever proxy the environment names.",
    "unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY",
    "",
    "# Each ask_* prints the response's status line(s) on stdout.",
    "ask_bash() {",
    "  # Exit 3: a `bash` without /dev/tcp (say, another shell under that name): try the others.",
    '  bash -c \'[ -n "$BASH_VERSION" ] || exit 3',
    'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1',
    'printf "GET %s HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n" "$2" >&3',
    "IFS= read -r -t 5 line <&3 || exit 1",
    'printf "%s\\n" "$line"\' healthcheck-http "$port" "$path" 2>/dev/null',
    "}",
    "# -S prints the server's headers on stderr (busybox and GNU); -t is ignored by busybox.",
    'ask_wget() { wget -S -O /dev/null -T 5 -t 1 "$url" 2>&1; }',
    "# -q first: no ~/.curlrc; -D -: the headers on stdout.",
    'ask_curl() { curl -q -sS -D - -o /dev/null --max-time 5 "$url"; }',
    "",
    "ask() {",
    "  if command -v bash >/dev/null 2>&1; then",
    "    ask_bash",
    "    rc=$?",
    '    if [ "$rc" -ne 3 ]; then return "$rc"; fi',
    "  fi",
    "  if command -v wget >/dev/null 2>&1; then ask_wget; return; fi",
    "  if command -v curl >/dev/null 2>&1; then ask_curl; return; fi",
    '  echo "healthcheck-http.sh: this image has neither bash, wget nor curl; the HTTP probe needs one of them" >&2',
    "  return 1",
    "}",
    "",
    "# Reads the tool's output: 0 iff its first status line (HTTP/x y ...) has the status 200.",
    "verdict() {",
    "  cr=$(printf '\\r')",
    '  while IFS=" $cr" read -r proto code rest; do',
    '    case "$proto" in',
    "      HTTP/[0-9]*)",
    '        if [ "$code" = 200 ]; then return 0; fi',
    '        echo "unhealthy: 127.0.0.1:$port$path answered $proto $code $rest" >&2',
    "        return 1",
    "        ;;",
    "    esac",
    "  done",
    '  echo "unhealthy: no HTTP answer from 127.0.0.1:$port$path" >&2',
    "  return 1",
    "}",
    "",
    "ask | verdict",
    "",
  ].join("\n");
}
