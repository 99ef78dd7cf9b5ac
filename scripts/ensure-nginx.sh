#!/usr/bin/env bash
# The TLS test puts Debian's nginx in front of the app exactly as docs/deployment.md says.
# Install it when missing; the test starts its own nginx on loopback ports and stops it.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "nginx is missing: install Debian's 'nginx' package (needs root)." >&2
  exit 1
fi
echo "installing nginx (Debian package nginx)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq nginx >&2
