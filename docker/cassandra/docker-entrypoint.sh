#!/bin/sh
# Entrypoint of chatlab/cassandra:local (built by scripts/provision-docker.sh
# from the machine's Java 17 and the Cassandra 5.0.6 jars; no registry here).
# It honours the same environment as the official `cassandra:5.0` image, so
# docker-compose.yml and the containers world configure either one alike:
#   MAX_HEAP_SIZE   heap (Xms = Xmx), default 1G
#   JVM_EXTRA_OPTS  appended last, e.g. -Dcassandra.native_transport_port=9042
#                   -Dcassandra.storage_port=7000 -Dcassandra.jmx.local.port=7199
# Listen/RPC addresses are 127.0.0.1 in /etc/cassandra/cassandra.yaml: the
# containers run with host networking and everything stays on loopback.
set -e
heap="${MAX_HEAP_SIZE:-1G}"
# shellcheck disable=SC2086 # JVM_EXTRA_OPTS is a list of flags
exec java "-Xms$heap" "-Xmx$heap" -Xss256k -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
  -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true \
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED \
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED \
  --add-exports=java.sql/java.sql=ALL-UNNAMED --add-exports=java.base/java.lang.ref=ALL-UNNAMED \
  --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED \
  --add-opens=java.base/java.lang.module=ALL-UNNAMED --add-opens=java.base/jdk.internal.loader=ALL-UNNAMED \
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED \
  --add-opens=java.base/jdk.internal.math=ALL-UNNAMED --add-opens=java.base/jdk.internal.module=ALL-UNNAMED \
  --add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED --add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.math=ALL-UNNAMED \
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED \
  -Dcassandra.config=file:///etc/cassandra/cassandra.yaml \
  -Dlogback.configurationFile=file:///etc/cassandra/logback.xml \
  -Dcassandra-foreground=yes -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.shutdown_announce_in_ms=0 \
  -Dcassandra.storagedir=/var/lib/cassandra -Dcassandra.logdir=/var/log/cassandra \
  -Dcassandra.jmx.local.port=7199 \
  $JVM_EXTRA_OPTS \
  -cp '/opt/cassandra/lib/*' org.apache.cassandra.service.CassandraDaemon
