#!/usr/bin/env bash
# Installs the Debian 12 packages the appliance builds, runs and tests with, and the browser
# tests' npm packages (tests/web, exactly as its package-lock.json pins them). Idempotent:
# does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  ninja-build  # scripts/build.sh: new build folders are Ninja builds
  libssl-dev openssl
  softhsm2 libsofthsm2 libp11-kit-dev p11-kit opensc
  libabsl-dev nlohmann-json3-dev libtomlplusplus-dev
  libevent-dev liblmdb-dev lmdb-utils libsystemd-dev
  libtcmalloc-minimal4  # masad's allocator (tools/CMakeLists.txt)
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gnutls-bin curl python3
  libyang2-tools libyang2-dev  # tests only: the extended voucher's YANG module and instances
  libfaketime  # tests only: masad restarted days later, to see tokens expire
  tar  # tests: the voucher archive of GET /request/{req_id}/download, listed and extracted
  clang-14 libclang-rt-14-dev  # tests only: the ThreadSanitizer + -Wthread-safety build
  lld-14  # tests only: the sanitizer builds link with lld (scripts/test.sh)
  clang-format-14  # scripts/format.sh
  libfuzzer-14-dev  # tests only: the libFuzzer targets (MASA_FUZZ, scripts/fuzz.sh)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # the OVGS gRPC API
  libcurl4-openssl-dev libcjose-dev  # the OpenID Connect relying party (api/web/oidc.cc)
  python3-grpcio python3-protobuf  # tests only: the gRPC tests' client (stubs made by protoc)
  nodejs chromium  # tests only: the browser tests (tests/web: node's test runner, playwright-core)
  libpq-dev  # the multi-node store on PostgreSQL (issue 15)
  postgresql-15  # tests only: a real primary and synchronous standby (store/testing/pg_cluster.h)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browser tests' packages (playwright-core, which never downloads a browser, and
# oidc-provider), from the npm registry by `npm ci`; again only when the lock file changed
# since the last install (its hash is kept in node_modules).
web=$(dirname "$0")/../tests/web
lock_hash=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$web/node_modules/.masa-lock-sha256" 2>/dev/null)" != "$lock_hash" ]; then
  echo "installing the browser tests' npm packages into tests/web/node_modules" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_hash" >"$web/node_modules/.masa-lock-sha256"
fi
