#!/usr/bin/env bash
# The Debian programs the test suite uses, installed when missing (as root, or through sudo):
#   glpsol (glpk-utils): the Pyomo backend cross-check;
#   soffice (libreoffice-calc-nogui): resultats.xlsx rendered to PDF, to check its print layout;
#   pdftoppm (poppler-utils): the report's PDF pages rendered to pictures;
#   chromium + chromedriver (chromium, chromium-driver): the service's page and the report's HTML in a
#   real browser.
# fluxopt itself needs none of them.
set -euo pipefail
need=()
command -v glpsol >/dev/null || need+=(glpk-utils)
command -v soffice >/dev/null || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install these programs with your system's package manager: ${need[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
