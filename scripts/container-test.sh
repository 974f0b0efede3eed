#!/usr/bin/env bash
# Builds the container image from the Dockerfile with podman and runs it,
# without any image registry: both base images are made here from Debian's
# package archive with debootstrap (minbase, bookworm), and the build stage
# uses this machine's Rust toolchain and crate cache, mounted read-only.
#
#   sudo scripts/container-test.sh        (needs podman, debootstrap; root)
#
# Checks that `podman run --net=host --cap-add=NET_RAW --cap-add=NET_ADMIN
# rustnet --json --duration 2 -i lo` captures (exit 0) and prints the
# version. Keeps the rootfs cache in target/container/ for the next run.
#
# Sandboxes that forbid setrlimit (gVisor, as on the project's own CI
# machine) break every OCI runtime (crun and runc set RLIMIT_NOFILE/NPROC):
# there RUN steps use buildah's chroot isolation, and when `podman run`
# fails for that reason the same command runs chrooted into the built
# image's mounted file system instead, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in podman debootstrap; do
    command -v $t >/dev/null || { echo "container-test.sh: needs $t (apt install podman debootstrap)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "container-test.sh: run as root" >&2; exit 1; }
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WORK=target/container
mkdir -p "$WORK"
RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

# 1. The base: Debian bookworm minbase, imported as localhost/bookworm-minbase.
if ! podman image exists localhost/bookworm-minbase; then
    if [ ! -s "$WORK/bookworm-minbase.tar" ]; then
        rm -rf "$WORK/rootfs"
        debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
        tar -C "$WORK/rootfs" -cf "$WORK/bookworm-minbase.tar" .
        rm -rf "$WORK/rootfs"
    fi
    podman import "$WORK/bookworm-minbase.tar" localhost/bookworm-minbase >/dev/null
fi

# 2. A builder: the base plus a C toolchain; Rust comes from the host (mounted).
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
if ! podman image exists localhost/rustnet-builder; then
    podman build --network=host -t localhost/rustnet-builder -f - "$WORK" <<BUILDER
FROM localhost/bookworm-minbase
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates git \
    && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/opt/rustup CARGO_HOME=/opt/cargo PATH=/opt/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BUILDER
fi

# 3. The Dockerfile itself, both images given as build arguments.
podman build --network=host \
    --build-arg BUILDER=localhost/rustnet-builder --build-arg BASE=localhost/bookworm-minbase \
    -v "$RUSTUP_HOME:/opt/rustup:ro" -v "$CARGO_HOME:/opt/cargo" \
    -t localhost/rustnet .

# 4. Run it as the README shows.
if podman run --rm localhost/rustnet --version 2>"$WORK/run.err"; then
    podman run --rm --net=host --cap-add=NET_RAW --cap-add=NET_ADMIN localhost/rustnet --json --duration 2 -i lo
    echo "container-test.sh: image built and ran with podman run (exit 0)"
elif grep -q "rlimit" "$WORK/run.err"; then
    echo "container-test.sh: podman run cannot start containers here: $(tail -1 "$WORK/run.err")"
    echo "container-test.sh: running the image's entrypoint chrooted into its file system instead"
    root=$(podman image mount localhost/rustnet)
    trap 'podman image unmount localhost/rustnet >/dev/null' EXIT
    chroot "$root" /usr/local/bin/rustnet --version
    chroot "$root" /usr/local/bin/rustnet --json --duration 2 -i lo
    echo "container-test.sh: image built; its binary ran in the image's root (exit 0)"
else
    cat "$WORK/run.err" >&2
    exit 1
fi
