#!/usr/bin/env bash
# Installs the Debian 12 packages the appliance builds, runs and tests with. Idempotent:
# does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libssl-dev openssl
  softhsm2 libsofthsm2 libp11-kit-dev p11-kit opensc
  libabsl-dev nlohmann-json3-dev libtomlplusplus-dev
  libevent-dev liblmdb-dev lmdb-utils libsystemd-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gnutls-bin curl python3
  libyang2-tools libyang2-dev  # tests only: the extended voucher's YANG module and instances
  libfaketime  # tests only: masad restarted days later, to see tokens expire
  tar  # tests: the voucher archive of GET /request/{req_id}/download, listed and extracted
  clang-14 libclang-rt-14-dev  # tests only: the ThreadSanitizer + -Wthread-safety build
  clang-format-14  # scripts/format.sh
  libfuzzer-14-dev  # tests only: the libFuzzer targets (MASA_FUZZ, scripts/fuzz.sh)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # the OVGS gRPC API
  libcurl4-openssl-dev libcjose-dev  # the OpenID Connect relying party (api/web/oidc.cc)
  python3-grpcio python3-protobuf  # tests only: the gRPC tests' client (stubs made by protoc)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
