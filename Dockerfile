# syntax=docker/dockerfile:1
#
# virtual-school: multi-stage build of the release binary.
#
#   docker build -t virtual-school .
#   docker run -p 8080:8080 -v vs-data:/data virtual-school
#
# SQLite, libpq and OpenSSL are compiled from source by the crate's features (libsqlite3-sys/bundled,
# pq-sys/bundled, openssl-sys/vendored), so the builder needs no -dev packages, only the C compiler, perl and make
# that rust:1-bookworm already has, and the runtime image needs no database client libraries.

FROM rust:1-bookworm AS builder
WORKDIR /src
# .dockerignore keeps target/, data/ and .git/ out of the context.
COPY . .
# The cache mounts keep downloaded crates and compiled dependencies between builds; the binary is copied out of the
# target cache in the same step, because the mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && install -D -m 0755 target/release/virtual-school /out/virtual-school

FROM debian:bookworm-slim AS runtime
# ca-certificates: the system CA bundle, for verifying the PostgreSQL server's certificate over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 virtual-school \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin virtual-school \
 && install -d -o 10001 -g 10001 -m 0700 /data
COPY --from=builder /out/virtual-school /usr/local/bin/virtual-school

# Configuration (see README.md, "Configuration", for every variable and its default):
#   DATABASE_URL              unset: SQLite at $VS_DATA_DIR/virtual-school.db (one instance only).
#                             postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=system for
#                             PostgreSQL over TLS (needed for several instances).
#   VS_DATA_DIR               /data here: the SQLite file and, when VS_JWT_SECRET is unset, the generated secret.
#   VS_BIND                   0.0.0.0:8080 here (the binary's own default is 127.0.0.1:8080).
#   VS_DB_POOL_SIZE           connections per instance: 8 on SQLite, 16 on PostgreSQL.
#   VS_WORKERS                HTTP worker threads: the number of CPUs.
#   VS_MAX_BODY_BYTES         largest request body: 1048576 (1 MiB).
#   VS_JWT_SECRET             HS256 secret, at least 32 bytes; unset: generated once into $VS_DATA_DIR/jwt-secret.
#   VS_JWT_PUBLIC_KEYS        path of a PEM or JWKS file of RS256/ES256 public keys (mount it read-only);
#                             when set, only tokens signed by those keys are accepted.
#   VS_JWT_ISSUER             required iss: virtual-school.
#   VS_JWT_AUDIENCE           required aud: virtual-school-api.
#   VS_CURSOR_SECRET          key signing pagination cursors; unset: derived from the HS256 secret.
#   VS_SHUTDOWN_TIMEOUT_SECS  seconds SIGTERM waits for in-flight requests: 30.
#   RUST_LOG                  log filter: info.
# Several instances: set DATABASE_URL, and VS_JWT_SECRET (or VS_JWT_PUBLIC_KEYS) and VS_CURSOR_SECRET identically
# on all of them. Probes: GET /healthz (liveness), GET /readyz (readiness: the database answers).
ENV VS_DATA_DIR=/data \
    VS_BIND=0.0.0.0:8080
# The vendored OpenSSL looks for CA certificates under /usr/local/ssl; point it at Debian's bundle, so that
# DATABASE_URL=postgres://…?sslmode=verify-full&sslrootcert=system verifies against the public CAs.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_DIR=/etc/ssl/certs

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM (docker stop's signal) stops accepting connections and drains in-flight requests for up to
# VS_SHUTDOWN_TIMEOUT_SECS (30); docker stop kills after 10 s unless given a longer --time / stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["virtual-school"]
CMD ["serve"]
