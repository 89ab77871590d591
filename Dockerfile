# Multi-stage build: the admin console with Node, the binary with Rust (embedding the console),
# and a slim Debian runtime with only CA certificates.
FROM node:20-bookworm AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=frontend /src/frontend/dist ./frontend/dist
# The console is already built above; build.rs must not need Node here.
ENV EXALATE_SKIP_FRONTEND_BUILD=1
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
