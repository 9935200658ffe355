# syntax=docker/dockerfile:1
# The chat node image: runs a chat node (default command), the push service
# (`system/push/push-process.ts`) and docker-compose's readiness probe
# (`system/worlds/containers-ready.ts`). With a normal Docker install:
#
#   docker build -t chatlab/node .
#
# Not built on the machine this project is developed on: it has no container
# registry, so `node:20-slim` cannot be pulled there. There,
# scripts/provision-docker.sh makes chatlab/node:local instead (a `docker
# import` of the machine's own node binary plus the same /app, then
# docker/node.local.Dockerfile): same layout, user, entrypoint, command and
# health check as this file.
#
# Configuration is the node process's environment (system/worlds/node-process.ts):
# CHATLAB_NODE_ID, CHATLAB_NODE_NUMBER, CHATLAB_PORT (8080), CHATLAB_HOST
# (127.0.0.1: set 0.0.0.0 to publish the port from a bridge network),
# CHATLAB_REDIS_URL, CHATLAB_CASSANDRA, CHATLAB_KEYSPACE, CHATLAB_PUSH_URL, CHATLAB_SECRET.

# ---- dependencies: only what the node needs at run time ---------------------
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY docker/runtime-modules.mjs docker/
# The CLI's dependencies (testcontainers and what only it needs) stay out.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir /runtime \
 && node docker/runtime-modules.mjs --exclude testcontainers | grep -v '^node_modules/.*/node_modules/' \
    | xargs -I{} cp -a --parents {} /runtime/

# ---- the image ----------------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production CHATLAB_PORT=8080
WORKDIR /app
COPY --from=deps /runtime/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
# .dockerignore keeps tests, .cache and out/ out of the context.
COPY system ./system
# The image's own unprivileged user (uid 1000).
USER node
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CHATLAB_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["system/worlds/node-process.ts"]
