# syntax=docker/dockerfile:1
#
# vantage in a container: a multi-stage build, then a small runtime image
# (distroless cc: glibc and nothing else, no shell) that runs as the
# non-root user 65532, as deploy/kubernetes/ expects.
#
#   docker build -t vantage .
#   docker run --rm --network host -v "$PWD:/work" -w /work vantage check specs/examples/localhost.yaml --from this-machine
#
# --network host puts the scanner where the host is, which is what a
# vantage point means; without it the container scans from Docker's bridge.
#
# Connect mode (`--mode connect`, what `--mode auto` picks here) needs no
# capability. SYN mode needs CAP_NET_RAW in the effective set, which a
# non-root process does not get from --cap-add (it is granted to root, and
# vantage does not raise capabilities itself). For SYN scans run as root
# with that one capability and no other:
#
#   docker run --rm --network host --user 0:0 --cap-drop ALL --cap-add NET_RAW \
#     -v "$PWD:/work" -w /work vantage scan SPEC --from VANTAGE --mode syn -o obs.jsonl

# The toolchain Cargo.toml's rust-version names (tests/it/deploy.rs checks).
FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
# Cargo.lock pins every dependency; the caches keep rebuilds incremental.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vantage \
    && cp target/release/vantage /usr/local/bin/vantage

FROM gcr.io/distroless/cc-debian13:nonroot
COPY --from=build /usr/local/bin/vantage /usr/local/bin/vantage
# The shipped specs and their schema, to start from (`vantage init` writes a starter too).
COPY --from=build /src/specs /usr/share/vantage/specs
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/vantage"]
CMD ["--help"]
