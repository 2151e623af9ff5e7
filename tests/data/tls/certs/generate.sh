#!/usr/bin/env bash
# Regenerates the DER fixtures here: certificates rcgen cannot make (RSA
# 1024-bit keys, SHA-1 and MD5 signatures). Needs openssl; run from any
# folder. The outputs are committed, so tests never need openssl.
set -euo pipefail
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Valid for ten years from the day they are made (openssl 3.0 cannot set
# fixed dates without a CA database); tests judge them at 2027-06-01, so
# regenerate before 2026-12 moves past that, or move the tests' date.
days=(-days 3650)

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -subj "/CN=Vantage Fixture Root" -sha256 "${days[@]}" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
openssl x509 -in "$tmp/ca.pem" -outform DER -out root.der

leaf() { # name bits digest
    openssl req -new -newkey "rsa:$2" -nodes -keyout "$tmp/$1.key" -out "$tmp/$1.csr" \
        -subj "/CN=www.example.test"
    printf 'subjectAltName=DNS:www.example.test\n' >"$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" "-$3" "${days[@]}" \
        -extfile "$tmp/$1.ext" -outform DER -out "$1.der"
}
leaf rsa1024 1024 sha256
leaf sha1 2048 sha1
leaf md5 2048 md5
