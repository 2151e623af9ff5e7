#!/bin/sh
# Makes the certificates of the TLS test bed in DIR (default: ./bed-certs):
# a root CA, an intermediate, and one leaf per planted certificate flaw.
# Dates are relative to now, so the bed never goes stale. Used by the TLS
# lab test and the TLS benchmark; run it by hand to look at the files.
#
#   leaf-good        good.test, RSA-2048, SHA-256, 30 days, via intermediate
#   leaf-expired     expired.test, ended 10 days ago
#   leaf-expiring    expiring.test, ends in 5 days
#   leaf-selfsigned  selfsigned.test, signed by itself
#   leaf-wrongname   other.test (served where good.test is expected)
#   leaf-rsa1024     rsa1024.test, a 1024-bit RSA key
#   leaf-sha1        sha1.test, signed with SHA-1
#   leaf-nochain     nochain.test, served without its intermediate
#
# Each NAME.pem is the certificate, NAME.key its key, NAME-chain.pem the
# certificate with the intermediate after it (what a server should send).
set -eu
DIR=${1:-./bed-certs}
mkdir -p "$DIR"
cd "$DIR"
umask 077

cat > ca.cnf <<'CNF'
[ ca ]
default_ca = bed
[ bed ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
mkdir -p newcerts
: > index.txt
echo 1000 > serial

stamp() { # days from now (may be negative) as an openssl ca date
    date -u -d "$1 days" +%Y%m%d%H%M%SZ
}

# The root, self-signed, and the intermediate it signs.
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 60 -subj /CN=vantage-bed-root \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout root.key -out root.pem 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -subj /CN=vantage-bed-intermediate \
    -keyout intermediate.key -out intermediate.csr 2>/dev/null
openssl ca -batch -config ca.cnf -extensions v3_ca -cert root.pem -keyfile root.key -md sha256 \
    -startdate "$(stamp -1)" -enddate "$(stamp 50)" -in intermediate.csr -out intermediate.pem 2>/dev/null

# leaf NAME CN BITS MD START END [selfsigned]
leaf() {
    openssl req -new -newkey "rsa:$3" -nodes -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null
    if [ "${7:-}" = selfsigned ]; then
        openssl ca -batch -config ca.cnf -extensions v3_leaf -selfsign -keyfile "$1.key" -md "$4" \
            -startdate "$(stamp "$5")" -enddate "$(stamp "$6")" -in "$1.csr" -out "$1.pem" 2>/dev/null
        cp "$1.pem" "$1-chain.pem"
    else
        openssl ca -batch -config ca.cnf -extensions v3_leaf -cert intermediate.pem \
            -keyfile intermediate.key -md "$4" -startdate "$(stamp "$5")" -enddate "$(stamp "$6")" \
            -in "$1.csr" -out "$1.pem" 2>/dev/null
        cat "$1.pem" intermediate.pem > "$1-chain.pem"
    fi
}

leaf leaf-good good.test 2048 sha256 -1 30
leaf leaf-expired expired.test 2048 sha256 -40 -10
leaf leaf-expiring expiring.test 2048 sha256 -20 5
leaf leaf-selfsigned selfsigned.test 2048 sha256 -1 30 selfsigned
leaf leaf-wrongname other.test 2048 sha256 -1 30
leaf leaf-rsa1024 rsa1024.test 1024 sha256 -1 30
leaf leaf-sha1 sha1.test 2048 sha1 -1 30
leaf leaf-nochain nochain.test 2048 sha256 -1 30
rm -f ./*.csr
