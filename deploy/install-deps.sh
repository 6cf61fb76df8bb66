#!/usr/bin/env bash
# Installs what anwang needs to build and test, from Debian 12 packages. Idempotent: when every
# package is already present it changes nothing; otherwise it runs apt-get update, then installs.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libasio-dev liblmdb-dev lmdb-utils libsodium-dev capnproto libcapnp-dev
  catch2 libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev
  python3  # deploy/demo.sh reads the JSON the CLI prints
  libboost1.81-dev libssl-dev  # the web UI's HTTP server: Boost.Beast, and OpenSSL for optional HTTPS
  esbuild  # the web UI's scripts and style sheet are compiled in minified (node/embed_web.cmake)
  libsqlite3-dev  # the map's optional basemap: tiles read from a county's MBTiles file
  chromium chromium-driver python3-selenium  # the web UI's browser tests (tests/web), headless
  libcsv-dev libzip-dev libexpat1-dev  # anwang import: CSV (libcsv) and XLSX (a zip of XML) files
  python3-openpyxl  # tests/import: writes the XLSX files the import tests read
  fonts-noto-cjk  # Chinese text in the browser tests' screenshots (without it the pages draw boxes)
  clang-14 libclang-rt-14-dev libfuzzer-14-dev  # deploy/fuzz.sh: libFuzzer with ASan+UBSan (a CTest)
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
