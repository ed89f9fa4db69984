# Tally's image: built in one stage, run from a second one that holds only the
# binary and its static files. `docker compose up --build` uses it; so can
# `docker build -t tally .` (docs/containers.md).

# ---- build -----------------------------------------------------------------
# The toolchain CI builds and tests with (the crate's MSRV is 1.93). Bookworm,
# like the runtime below, so the binary links against the same glibc.
FROM rust:1.95.0-slim-bookworm AS builder
WORKDIR /build

# Dependencies first, in a layer of their own: compiled against placeholder
# sources, so this layer is reused until Cargo.toml or Cargo.lock changes.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -r src

# The real sources. Templates and migrations are compiled into the binary.
COPY src ./src
COPY templates ./templates
COPY migrations ./migrations
# COPY keeps the files' own timestamps, which may be older than the
# placeholder build above: touch the crate roots so cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked

# ---- run -------------------------------------------------------------------
# glibc and libgcc, CA certificates and an unprivileged user; no shell, no
# package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
# What the image is, for `docker inspect` and registries (OCI's keys). The
# version is Cargo.toml's (tests/api/release.rs checks it); the release
# workflow adds where and from which commit the image was built.
LABEL org.opencontainers.image.title="tally" \
      org.opencontainers.image.description="A visit counter in Redis beside an access log in PostgreSQL, served by actix-web." \
      org.opencontainers.image.version="0.2.0" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
COPY --from=builder /build/target/release/tally /app/tally
COPY static /app/static
ENV STATIC_DIR=/app/static
# The distroless `nonroot` user, by number, so the runtime can tell it is not root.
USER 65532:65532
EXPOSE 8000
# Liveness for `docker run`: `tally healthcheck` asks /healthz (no store call)
# and exits 0 or 1, so no curl is needed. Every 2 s, so a new container is
# marked healthy soon after it serves; compose.yaml sets the same.
HEALTHCHECK --interval=2s --timeout=2s --start-period=60s --retries=3 \
    CMD ["/app/tally", "healthcheck"]
# Exec form: tally is PID 1 and gets SIGTERM itself, then drains in-flight requests.
ENTRYPOINT ["/app/tally"]
