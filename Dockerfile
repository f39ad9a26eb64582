# syntax=docker/dockerfile:1
# incident-commander as a container: the production build (`cargo build --release --locked
# --no-default-features`: no built-in Slack simulator, no `demo`) in the official Rust image,
# run from a distroless image as a non-root user. The runtime image has no shell and no curl,
# so the health check is the binary itself (`incident-commander healthcheck` asks GET /healthz
# on HTTP_ADDR). See docs/operations.md.
#
#   docker build -t incident-commander .
#   docker run --env-file .env -p 8080:8080 -v ic-data:/data incident-commander

# --- build ---------------------------------------------------------------------------------
# The toolchain must be at least Cargo.toml's rust-version.
FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the registry and target/ between builds; the binary is copied out
# of the cached target/ because the mount is gone after this step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --no-default-features --bin incident-commander \
    && install -D -m 0755 target/release/incident-commander /out/incident-commander
# The SQLite default lives in /data, owned by the runtime user (distroless "nonroot", 65532).
RUN mkdir -p /out/data

# --- run -----------------------------------------------------------------------------------
# glibc, libgcc and CA certificates (for https://slack.com), nothing else; runs as 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/incident-commander /usr/local/bin/incident-commander
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
# In a container the HTTP side must listen beyond loopback for probes and scrapes.
ENV HTTP_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/incident-commander.db \
    LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/incident-commander", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/incident-commander"]
CMD ["serve"]
