# Tally's image: built in one stage, run from a second one that holds only the
# binary and its static files. `docker compose up --build` uses it; so can
# `docker build -t tally .`.

# ---- build -----------------------------------------------------------------
# The toolchain CI builds and tests with (the crate's MSRV is 1.89). Bookworm,
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
WORKDIR /app
COPY --from=builder /build/target/release/tally /app/tally
COPY static /app/static
ENV STATIC_DIR=/app/static
# The distroless `nonroot` user, by number, so the runtime can tell it is not root.
USER 65532:65532
EXPOSE 8000
# `tally healthcheck` asks /readyz on 127.0.0.1:$PORT and exits 0 or 1: no curl needed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/tally", "healthcheck"]
# Exec form: tally is PID 1 and gets SIGTERM itself, then drains in-flight requests.
ENTRYPOINT ["/app/tally"]
