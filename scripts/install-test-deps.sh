#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: Chromium for the browser
# tests, a WordPress with PHP and MariaDB for the plugin tests, PostgreSQL for the scale
# tests, and fonts for readable screenshots. Idempotent: does nothing when every package
# is already installed. Daemons are never started here: the tests run private instances.
set -euo pipefail

packages=(
    chromium fonts-dejavu-core fonts-noto-color-emoji
    wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl php-xml php-mbstring mariadb-server
    postgresql
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
