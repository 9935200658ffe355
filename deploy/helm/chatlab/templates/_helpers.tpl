{{/* The chart's name, or nameOverride. */}}
{{- define "chatlab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name for every object: fullnameOverride, or
<release>-<chart> (just <release> when it already contains the chart's name).
Kept to 40 characters so "<fullname>-cassandra-<ordinal>" and the pod-index
suffixes of StatefulSet pods stay within Kubernetes' name limits.
*/}}
{{- define "chatlab.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "chatlab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; call with (dict "ctx" $ "component" "node"). */}}
{{- define "chatlab.labels" -}}
helm.sh/chart: {{ include "chatlab.chart" .ctx }}
{{ include "chatlab.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: chatlab
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "node"). */}}
{{- define "chatlab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatlab.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of a component's pods: its labels plus podLabels. */}}
{{- define "chatlab.podLabels" -}}
{{ include "chatlab.labels" . }}
{{- with .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* "repository:tag" of an image value. */}}
{{- define "chatlab.image" -}}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}

{{/* Names of the objects other objects refer to. */}}
{{- define "chatlab.nodeName" -}}{{ include "chatlab.fullname" . }}-node{{- end }}
{{- define "chatlab.nodeHeadless" -}}{{ include "chatlab.fullname" . }}-node-headless{{- end }}
{{- define "chatlab.redisName" -}}{{ include "chatlab.fullname" . }}-redis{{- end }}
{{- define "chatlab.cassandraName" -}}{{ include "chatlab.fullname" . }}-cassandra{{- end }}
{{- define "chatlab.pushName" -}}{{ include "chatlab.fullname" . }}-push{{- end }}
{{- define "chatlab.mediaName" -}}{{ include "chatlab.fullname" . }}-media{{- end }}
{{- define "chatlab.relayName" -}}{{ include "chatlab.fullname" . }}-relay{{- end }}

{{- define "chatlab.secretName" -}}
{{- default (include "chatlab.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* redis:// URL of the Redis Service. */}}
{{- define "chatlab.redisUrl" -}}
{{- printf "redis://%s:%d" (include "chatlab.redisName" .) (int .Values.redis.port) }}
{{- end }}

{{/* DNS name of Cassandra pod <i> (through its headless Service). */}}
{{- define "chatlab.cassandraPodHost" -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "chatlab.cassandraName" .ctx) (int .i) (include "chatlab.cassandraName" .ctx) .ctx.Release.Namespace .ctx.Values.clusterDomain }}
{{- end }}

{{/*
CHATLAB_CASSANDRA: host:port of up to three Cassandra pods (contact points;
the driver discovers the rest of the ring).
*/}}
{{- define "chatlab.cassandraContactPoints" -}}
{{- $points := list }}
{{- range $i := until (min 3 (int .Values.cassandra.replicas) | int) }}
{{- $points = append $points (printf "%s:9042" (include "chatlab.cassandraPodHost" (dict "ctx" $ "i" $i))) }}
{{- end }}
{{- join "," $points }}
{{- end }}

{{/* CASSANDRA_SEEDS: the first cassandra.seeds pods. */}}
{{- define "chatlab.cassandraSeeds" -}}
{{- $seeds := list }}
{{- range $i := until (min (int .Values.cassandra.seeds) (int .Values.cassandra.replicas) | int) }}
{{- $seeds = append $seeds (include "chatlab.cassandraPodHost" (dict "ctx" $ "i" $i)) }}
{{- end }}
{{- join "," $seeds }}
{{- end }}

{{/* CHATLAB_TURN_URLS: relay.urls, or the relay's Service inside the cluster. */}}
{{- define "chatlab.turnUrls" -}}
{{- if .Values.relay.urls }}
{{- join "," .Values.relay.urls }}
{{- else }}
{{- printf "turn:%s.%s.svc.%s:%d?transport=udp" (include "chatlab.relayName" .) .Release.Namespace .Values.clusterDomain (int .Values.relay.port) }}
{{- end }}
{{- end }}

{{/* The driver's --target: driver.target, or the nodes' Service. */}}
{{- define "chatlab.driverTarget" -}}
{{- default (printf "ws://%s:%d/ws" (include "chatlab.nodeName" .) (int .Values.nodes.service.port)) .Values.driver.target }}
{{- end }}

{{/* The folder of this revision's driver run on the results volume. */}}
{{- define "chatlab.driverRunDir" -}}
{{- printf "/results/%s-r%d" .Release.Name (int .Release.Revision) }}
{{- end }}

{{- define "chatlab.driverResultsClaim" -}}
{{- default (printf "%s-driver-results" (include "chatlab.fullname" .)) .Values.driver.results.existingClaim }}
{{- end }}

{{/*
Combinations values.schema.json cannot express; rendered by every template
that depends on them, so `helm template` and `helm install` fail early with
the reason.
*/}}
{{- define "chatlab.validate" -}}
{{- $c := .Values.cassandra }}
{{- if gt (int $c.replicationFactor) (int $c.replicas) }}
{{- fail (printf "cassandra.replicationFactor (%d) cannot exceed cassandra.replicas (%d)" (int $c.replicationFactor) (int $c.replicas)) }}
{{- end }}
{{- if and (eq $c.consistency "ONE") (gt (int $c.replicas) 1) }}
{{- fail "cassandra.consistency ONE with several Cassandra nodes: chat nodes read and write at LOCAL_QUORUM on a ring (node-process has no setting for it); set LOCAL_QUORUM or auto" }}
{{- end }}
{{- if and .Values.media.enabled (gt (int .Values.media.replicas) 1) (not .Values.media.s3.endpoint) }}
{{- fail "media.replicas > 1 needs media.s3.endpoint: without it each replica keeps its objects in its own memory" }}
{{- end }}
{{- if and .Values.relay.enabled (ge (int .Values.relay.minPort) (int .Values.relay.maxPort)) }}
{{- fail "relay.minPort must be below relay.maxPort" }}
{{- end }}
{{- if and .Values.autoscaling.enabled .Values.autoscaling.minReplicas (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas cannot exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.minReplicas) (gt (int .Values.nodes.replicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "nodes.replicas (the autoscaler's minimum) cannot exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
