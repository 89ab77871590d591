# Multi-stage build: compile in the Rust image, run on a slim Debian with only CA certificates.
FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p exalate

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/exalate --create-home exalate
COPY --from=build /src/target/release/exalate /usr/local/bin/exalate
USER exalate
WORKDIR /var/lib/exalate
ENV EXALATE__SERVER__LISTEN=0.0.0.0:8080 \
    EXALATE__LOG__JSON=true
EXPOSE 8080
ENTRYPOINT ["exalate"]
CMD ["serve"]
