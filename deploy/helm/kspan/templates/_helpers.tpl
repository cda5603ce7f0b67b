{{/* The chart's name, at most 63 characters. */}}
{{- define "kspan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name, used for every object, the Lease and (with
"-checkpoint") the checkpoint ConfigMap. At most 52 characters, so that
"<fullname>-checkpoint" stays a valid name.
*/}}
{{- define "kspan.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The checkpoint ConfigMap's name. */}}
{{- define "kspan.checkpointName" -}}
{{- printf "%s-checkpoint" (include "kspan.fullname" .) }}
{{- end }}

{{- define "kspan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kspan.labels" -}}
helm.sh/chart: {{ include "kspan.chart" . }}
{{ include "kspan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kspan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kspan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kspan.serviceAccountName" -}}
{{- default (include "kspan.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "kspan.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Checks of values that would give a broken or duplicating deployment. */}}
{{- define "kspan.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled=true: every replica would export every span" }}
{{- end }}
{{- if and .Values.otlp.headersSecret.name (not .Values.otlp.headersSecret.key) }}
{{- fail "otlp.headersSecret.key is required with otlp.headersSecret.name" }}
{{- end }}
{{- range .Values.rbac.extraResources }}
{{- if or (not .apiGroups) (not .resources) }}
{{- fail "each rbac.extraResources entry needs apiGroups and resources" }}
{{- end }}
{{- end }}
{{- end }}
