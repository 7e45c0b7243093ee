# syntax=docker/dockerfile:1
# Build: the official Bun image at the project's pinned version compiles one self-contained binary.
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY patches ./patches
# --ignore-scripts: the embedded database's template is built with the sources, by `bun run build`.
RUN bun install --frozen-lockfile --ignore-scripts
COPY src ./src
COPY migrations ./migrations
# `users-api settings` prints it: every setting, its default and what it does.
COPY .env.example ./
RUN bun run build && mkdir -p dist/data

# Run: distroless (glibc, no shell, non-root); the binary is the only program in the image.
FROM gcr.io/distroless/base-debian12:nonroot
WORKDIR /app
COPY --from=build /src/dist/users-api /app/users-api
COPY --from=build --chown=nonroot:nonroot /src/dist/data /data
# /metrics on a port of its own, reachable from other containers (a Prometheus beside it).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464 \
    DATA_DIR=/data
EXPOSE 8000 9464
# The embedded database (used when DATABASE_URL is unset) keeps its files here.
VOLUME ["/data"]
USER nonroot
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/app/users-api", "healthcheck"]
ENTRYPOINT ["/app/users-api"]
CMD ["serve"]
