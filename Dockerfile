# Container image of rustnet: a build stage with a Rust toolchain, then a
# Debian slim runtime with the binary alone.
#
#   podman build -t rustnet .      (or docker build)
#   podman run --rm -it --net=host --cap-add=NET_RAW --cap-add=NET_ADMIN rustnet
#   podman run --rm --net=host --cap-add=NET_RAW --cap-add=NET_ADMIN rustnet --json --duration 10
#
# --net=host lets it see the host's interfaces; NET_RAW opens the capture
# socket, NET_ADMIN sets promiscuous mode and ring options. Process names
# need the host's PID namespace too (--pid=host) and, for other users'
# processes, --cap-add=SYS_PTRACE --cap-add=DAC_READ_SEARCH.
#
# Both images are build arguments, so an offline build can use local ones
# (scripts/container-test.sh makes both with debootstrap).
ARG BUILDER=docker.io/library/rust:1-bookworm
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BUILDER} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin rustnet \
    && strip target/release/rustnet

FROM ${BASE}
# libpcap is loaded at run time for -f/--bpf-filter only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpcap0.8 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/rustnet /usr/local/bin/rustnet
ENTRYPOINT ["/usr/local/bin/rustnet"]
