#!/usr/bin/env bash
# The accessibility scan (tests/test_dashboard/test_accessibility.py) runs axe-core inside
# Chromium. This fetches the pinned release from the npm registry once, checks it against the
# registry's published checksum, and keeps only its axe.min.js in a cache outside the
# repository. Prints the file's path (and nothing else) on standard output.
set -euo pipefail
AXE_VERSION="4.14.1"
# sha512 of axe-core-4.14.1.tgz: the registry's "integrity" for this version, as hex.
AXE_SHA512="1477dafa598d8d065f273d6af302aa203c02e83131707b7fa648cd41bd3d6b734f8c22a0dab86ee6a6f64b8afbe804b214d36db85a2826965edfb3a0b9d546b5"
CACHE="${OUTCOMES_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/infusion-outcomes}"
TARGET="$CACHE/axe-core-$AXE_VERSION/axe.min.js"
if [ -s "$TARGET" ]; then
  echo "$TARGET"
  exit 0
fi
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" != "0" ]; then
    echo "npm is missing: install Node.js with npm (Debian package npm needs root)." >&2
    exit 1
  fi
  echo "installing npm (Debian package npm)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq npm >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching axe-core $AXE_VERSION from the npm registry..." >&2
(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
tarball="$work/axe-core-$AXE_VERSION.tgz"
actual="$(sha512sum "$tarball" | cut -d' ' -f1)"
if [ "$actual" != "$AXE_SHA512" ]; then
  echo "axe-core-$AXE_VERSION.tgz does not match its published checksum: not used." >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/axe.min.js
mkdir -p "$(dirname "$TARGET")"
# Moved into place whole: a scan started meanwhile never reads half a file.
mv "$work/package/axe.min.js" "$TARGET.partial"
mv "$TARGET.partial" "$TARGET"
echo "$TARGET"
