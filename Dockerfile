# One image for Pictor without AWS; the container's command picks the role:
#   pictor-worker                                  the ingest worker (NATS JetStream)
#   pictor serve --db URL --bucket OUT ...         the query API and the creators' page
#   pictor reconcile --db URL --bucket UP ...      the reconciler
# infra/kubernetes runs all three. Build from the repository's root:
#   docker build -t pictor .
FROM rust:1-bookworm AS build
# nasm: the JPEG encoder's SIMD code (what scripts/build-tools installs on x86_64).
RUN apt-get update \
    && apt-get install -y --no-install-recommends nasm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p pictor-worker -p pictor --bin pictor-worker --bin pictor

FROM debian:bookworm-slim
# CA certificates: an S3-compatible server or a database behind TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/pictor-worker /src/target/release/pictor /usr/local/bin/
# Nobody's: the manifests run it as this user, with a read-only root file system.
USER 65532:65532
CMD ["pictor-worker"]
