#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Makes a throwaway PKI for the TLS tests, with openssl only: RSA 2048 keys
# (mode 600) and certificates in PEM, valid for 2 days unless said otherwise.
#
#   tools/tls-certs.sh DIR   (re)create in DIR (made if missing, mode 700):
#     ca.pem ca.key            the CA, "rpcd test CA"
#     server.pem server.key    CN localhost, serverAuth, SAN DNS:localhost only
#                              (no IP: 127.0.0.1 must fail host-name checks)
#     client.pem client.key    CN rpcd-tls-client, clientAuth (the broker user
#                              name under SASL EXTERNAL)
#     expired.pem expired.key  CN localhost, SAN DNS:localhost, serverAuth and
#                              clientAuth, valid 2020-01-01 to 2020-01-02 only
#     other-ca.pem other-ca.key  an unrelated CA, for "wrong CA" tests
#
# Prints DIR (as an absolute path) and nothing else on success; on failure,
# openssl's messages. Everything is regenerated on every run.
set -euo pipefail

die() {
  echo "tls-certs.sh: $*" >&2
  exit 1
}

# Runs an openssl command quietly; its output is shown only when it fails.
run() {
  local out
  if ! out=$(openssl "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "openssl $1 failed"
  fi
}

if [ $# != 1 ] || [ -z "$1" ]; then
  sed -n '4,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1
# Refuse anything that does not look like an earlier run: DIR gets mode 700.
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/ca.pem" ]; then
  die "refusing to use $dir: not empty and not a certificate directory"
fi
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A config of our own, so the system's openssl.cnf adds nothing; the [tmp_ca]
# part is what `openssl ca` needs, the only way to set notBefore in OpenSSL 3.0.
cat >"$tmp/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[expired_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost
authorityKeyIdentifier = keyid
[ca]
default_ca = tmp_ca
[tmp_ca]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
EOF
: >"$tmp/index.txt"
run rand -hex -out "$tmp/serial" 16

key() {
  run genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"
  chmod 600 "$1.key" # an existing file keeps its mode when overwritten
}

# self_signed NAME CN
self_signed() {
  key "$1"
  run req -x509 -new -config "$tmp/openssl.cnf" -extensions ca_ext \
    -key "$1.key" -subj "/CN=$2" -days 2 -sha256 -out "$1.pem"
}

# signed NAME CN EXT [openssl ca validity options]
signed() {
  local name=$1 cn=$2 ext=$3
  shift 3
  key "$name"
  run req -new -config "$tmp/openssl.cnf" -key "$name.key" -subj "/CN=$cn" \
    -out "$tmp/$name.csr"
  run ca -batch -notext -config "$tmp/openssl.cnf" -extensions "$ext" \
    -cert ca.pem -keyfile ca.key -in "$tmp/$name.csr" \
    -out "$name.pem" "$@"
}

self_signed ca "rpcd test CA"
signed server localhost server_ext -days 2
signed client rpcd-tls-client client_ext -days 2
signed expired localhost expired_ext \
  -startdate 20200101000000Z -enddate 20200102000000Z
self_signed other-ca "rpcd other test CA"

run verify -CAfile ca.pem server.pem client.pem
if out=$(openssl verify -CAfile ca.pem expired.pem 2>&1); then
  die "expired.pem passes verification"
fi
case $out in
*"certificate has expired"*) ;;
*)
  printf '%s\n' "$out" >&2
  die "expired.pem fails verification for another reason than its dates"
  ;;
esac
echo "$dir"
