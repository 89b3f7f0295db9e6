#!/usr/bin/env bash
# Installs what the WordPress plugin tests need from Debian's packages: a real WordPress,
# the PHP CLI with the extensions WordPress uses, and MariaDB. Idempotent: does nothing
# when every package is already installed. Needs root (or sudo) and apt.
set -euo pipefail

packages=(wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl php-xml php-mbstring mariadb-server)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons are never started by the install: the tests run their own private MariaDB.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
