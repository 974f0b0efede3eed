#!/usr/bin/env bash
# Builds the Debian package with cargo-deb into target/debian/:
#   scripts/build-deb.sh                   release build (what to ship)
#   PROFILE=ci-deb scripts/build-deb.sh    faster build, for the package test
# Needs cargo-deb (cargo install cargo-deb --locked). The man page and the
# bash/zsh/fish completions are generated from the clap definition first
# (examples/gen_assets.rs). The package's postinst makes /usr/bin/rustnet
# root:rustnet 0750 with capture capabilities (see README "Install").
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
if ! command -v cargo-deb >/dev/null && ! cargo deb --version >/dev/null 2>&1; then
    echo "build-deb.sh: needs cargo-deb: cargo install cargo-deb --locked" >&2
    exit 1
fi
cargo run --quiet --example gen_assets -- target/assets
cargo deb --profile "$PROFILE" --output target/debian/
ls -1 target/debian/*.deb
