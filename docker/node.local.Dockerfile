# chatlab/node:local, as built on a machine without a registry
# (scripts/provision-docker.sh). Its parent, chatlab/node-rootfs:local, is a
# `docker import` of this machine's own node binary with its libraries, the
# project's system/ (no tests) and its run-time node_modules under /app, with
# the same user (10001), workdir, entrypoint and command as ./Dockerfile.
# `docker import` cannot set a health check, so this one step adds it —
# the same one ./Dockerfile has.
FROM chatlab/node-rootfs:local
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CHATLAB_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
