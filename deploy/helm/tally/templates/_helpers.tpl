{{/* Names and labels shared by every template. */}}

{{- define "tally.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tally.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selects one component's pods: web, postgresql or redis. */}}
{{- define "tally.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tally.secretName" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "tally.fullname" .)) -}}
{{- end -}}

{{- define "tally.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
postgres://{{ .Values.database.user }}@{{ include "tally.fullname" . }}-postgresql:5432/{{ .Values.database.name }}
{{- else -}}
{{- required "postgresql.enabled is false: set externalDatabase.url" .Values.externalDatabase.url -}}
{{- end -}}
{{- end -}}

{{- define "tally.redisUrl" -}}
{{- if .Values.redis.enabled -}}
redis://{{ include "tally.fullname" . }}-redis:6379
{{- else -}}
{{- required "redis.enabled is false: set externalRedis.url" .Values.externalRedis.url -}}
{{- end -}}
{{- end -}}

{{/* Every pod: no service account token, the runtime's seccomp profile. */}}
{{- define "tally.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .uid }}
  runAsGroup: {{ .uid }}
  fsGroup: {{ .uid }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Every container: read-only root, no capabilities, no privilege escalation. */}}
{{- define "tally.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop:
      - ALL
{{- end -}}
