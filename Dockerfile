# syntax=docker/dockerfile:1
# TMA server image: build stage (all dependencies, TypeScript -> dist, web client -> web/dist), then a runtime
# stage with production dependencies only, running as the unprivileged `node` user under tini.
# Build:  docker build -t tma-server .        Run: docker run -p 8000:8000 -v tma-data:/data tma-server
# Pin the base by digest in production: node:20.20.2-bookworm-slim@sha256:<digest> (docs/operations.md).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Native addons without a prebuilt binary for this platform (re2, under metascraper) compile here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
# The web client (web/, built by Vite into web/dist): `npm run web:build` when the project has that script.
# Without it an empty web/dist is shipped and the server answers the API only.
RUN npm run --if-present web:build && mkdir -p web/dist
# Production dependencies only, already built: the runtime stage copies them and needs no compiler.
RUN npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# tini (PID 1): forwards SIGTERM to node so the graceful drain runs, and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/web/dist ./web/dist
# Embedded mode (no DATABASE_URL) keeps PGlite and local files here; mount a volume.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Migrates (idempotent) and serves. Kubernetes runs `node dist/db/migrate.js up` as a Job first.
CMD ["node", "dist/main.js"]
