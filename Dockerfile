# Build: the same cargo build the test command runs, in release mode.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The whole source tree (see .dockerignore): the manifest names benches,
# examples and tests, and the binary embeds config/ and ui/.
COPY . .
RUN cargo build --release --locked --bin aipdp

# Run: a small image with only the binary, as a non-root user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home aipdp
COPY --from=build /src/target/release/aipdp /usr/local/bin/aipdp
USER 10001
ENV AIPDP_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Probes the address AIPDP_LISTEN gives, on loopback.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["aipdp", "healthcheck"]
ENTRYPOINT ["aipdp"]
CMD ["serve"]
