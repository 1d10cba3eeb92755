#!/usr/bin/env bash
# Issue an mTLS client certificate for one lkeobs edge, signed by the fleet CA.
# `lkeobs up` does this itself; this script is for doing it by hand (rotation,
# debugging, or a cluster managed outside lkeobs).
set -euo pipefail

PROG=$(basename "$0")
DAYS=365
OUT_DIR=.

usage() {
  cat <<EOF
Usage: $PROG [--out-dir DIR] [--days N] CA_CERT CA_KEY EDGE_NAME

Issue a client certificate for the edge EDGE_NAME, signed by the fleet CA:
  - ECDSA P-256 key, SHA-256 signature
  - subject CN = EDGE_NAME (the edge's cluster.id)
  - extendedKeyUsage = clientAuth, keyUsage = digitalSignature, CA:FALSE
  - valid for N days (default $DAYS)

Writes DIR/EDGE_NAME.key (mode 600) and DIR/EDGE_NAME.crt; refuses to
overwrite either. Then prints how to create the observability/otel-client-tls
Secret (keys tls.crt, tls.key, ca.crt) in the edge cluster.

Options:
  --out-dir DIR   where to write the files (default: current directory)
  --days N        validity in days (default: $DAYS)
  -h, --help      show this help

Example:
  $PROG --out-dir ./certs ca.crt ca.key us-east
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --out-dir) [[ $# -ge 2 ]] || die "--out-dir needs a value"; OUT_DIR=$2; shift 2 ;;
    --out-dir=*) OUT_DIR=${1#*=}; shift ;;
    --days) [[ $# -ge 2 ]] || die "--days needs a value"; DAYS=$2; shift 2 ;;
    --days=*) DAYS=${1#*=}; shift ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done

[[ ${#args[@]} -eq 3 ]] || { usage >&2; exit 2; }
CA_CERT=${args[0]}
CA_KEY=${args[1]}
EDGE=${args[2]}

command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"
[[ "$DAYS" =~ ^[1-9][0-9]*$ ]] || die "--days must be a positive integer, got '$DAYS'"
# Edge names follow the fleet file rules: a DNS label.
[[ "$EDGE" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] \
  || die "edge name must be lowercase letters, digits and '-' (got '$EDGE')"
[[ -r "$CA_CERT" ]] || die "cannot read CA certificate $CA_CERT"
[[ -r "$CA_KEY" ]] || die "cannot read CA key $CA_KEY"
# Created private (0700) when missing: it will hold a private key.
[[ -d "$OUT_DIR" ]] || (umask 077 && mkdir -p "$OUT_DIR") || die "cannot create output directory $OUT_DIR"

KEY_FILE="$OUT_DIR/$EDGE.key"
CRT_FILE="$OUT_DIR/$EDGE.crt"
for f in "$KEY_FILE" "$CRT_FILE"; do
  [[ ! -e "$f" ]] || die "$f already exists; refusing to overwrite (move it away first)"
done

# The CA key must belong to the CA certificate, or every edge would fail the
# gateway's client_ca_file check.
ca_pub=$(openssl x509 -in "$CA_CERT" -noout -pubkey) || die "$CA_CERT is not a PEM certificate"
key_pub=$(openssl pkey -in "$CA_KEY" -pubout) || die "$CA_KEY is not a PEM private key"
[[ "$ca_pub" == "$key_pub" ]] || die "$CA_KEY does not match $CA_CERT"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/ext.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

# Everything written from here on is private to the user; noclobber guards
# against a file appearing between the check above and the write.
umask 077
set -o noclobber

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem" 2>/dev/null
openssl req -new -sha256 -key "$WORK/key.pem" -subj "/CN=$EDGE" -out "$WORK/req.csr"
openssl x509 -req -sha256 -days "$DAYS" \
  -in "$WORK/req.csr" -CA "$CA_CERT" -CAkey "$CA_KEY" \
  -set_serial "0x$(openssl rand -hex 16)" \
  -extfile "$WORK/ext.cnf" -out "$WORK/cert.pem" 2>/dev/null

openssl verify -CAfile "$CA_CERT" -purpose sslclient "$WORK/cert.pem" >/dev/null \
  || die "the issued certificate does not verify against $CA_CERT"

cat "$WORK/key.pem" >"$KEY_FILE"
chmod 600 "$KEY_FILE"
cat "$WORK/cert.pem" >"$CRT_FILE"
chmod 644 "$CRT_FILE"

echo "Issued client certificate for edge '$EDGE':"
openssl x509 -in "$CRT_FILE" -noout -subject -issuer -enddate -serial | sed 's/^/  /'
echo "  key:         $KEY_FILE (mode 600)"
echo "  certificate: $CRT_FILE"
echo
echo "Create (or replace) the Secret the edge's agent and scraper mount:"
echo
echo "  kubectl --context lkeobs-<fleet>-$EDGE -n observability create secret generic otel-client-tls \\"
echo "    --from-file=tls.crt=$CRT_FILE \\"
echo "    --from-file=tls.key=$KEY_FILE \\"
echo "    --from-file=ca.crt=$CA_CERT \\"
echo "    --dry-run=client -o yaml | kubectl --context lkeobs-<fleet>-$EDGE apply -f -"
echo
echo "The collectors re-read the mounted files (reload_interval); restart them to apply at once:"
echo "  kubectl --context lkeobs-<fleet>-$EDGE -n observability rollout restart daemonset/otel-agent deployment/otel-scraper"
