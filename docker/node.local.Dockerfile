# chatlab/node:local — the chat node image as built on a machine without a
# registry (scripts/provision-docker.sh). Same layout, user, entrypoint and
# health check as ./Dockerfile; the difference is the base: chatlab/base:local
# is a rootfs of this machine's own node binary and its libraries, imported
# with `docker import`, instead of node:20-slim pulled from Docker Hub.
# The build context is a staging folder with package.json, tsconfig.json,
# system/ (no tests) and the production node_modules only.
FROM chatlab/base:local
ENV NODE_ENV=production CHATLAB_PORT=8080
WORKDIR /app
COPY app/ /app/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CHATLAB_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["system/worlds/node-process.ts"]
