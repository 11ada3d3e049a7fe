{{/* Names and labels shared by every object of a release. */}}
{{- define "seisreduce.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "seisreduce.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "seisreduce.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The [pipeline] name of the pipeline file: it names the Kafka topics and groups. */}}
{{- define "seisreduce.pipelineName" -}}
{{- $m := regexFind "\\[pipeline\\][^\\[]*?\\bname\\s*=\\s*\"[^\"]+\"" .Values.pipeline -}}
{{- if not $m -}}
{{- fail "pipeline: no `name = \"...\"` in its [pipeline] table" -}}
{{- end -}}
{{- regexReplaceAll "(?s).*\\bname\\s*=\\s*\"([^\"]+)\"" $m "${1}" -}}
{{- end -}}

{{- define "seisreduce.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "seisreduce.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The deployment settings file (configs/README.md); secrets come from the environment. */}}
{{- define "seisreduce.settings" -}}
{{- $k := .Values.kafka -}}
[log]
format = {{ .Values.log.format | quote }}
level = {{ .Values.log.level | quote }}

[metrics]
listen = {{ printf "0.0.0.0:%v" .Values.metrics.port | quote }}

[storage]
root = {{ .Values.storage.root | quote }}
s3_region = {{ .Values.storage.s3.region | quote }}
s3_allow_http = {{ .Values.storage.s3.allowHttp }}
{{- with .Values.storage.s3.endpoint }}
s3_endpoint = {{ . | quote }}
{{- end }}

[kafka]
brokers = {{ $k.bootstrap | quote }}
partitions = {{ $k.partitions }}
replication = {{ $k.replication }}
{{- if and $k.tls.enabled $k.sasl.enabled }}
security_protocol = "sasl_ssl"
{{- else if $k.tls.enabled }}
security_protocol = "ssl"
{{- else if $k.sasl.enabled }}
security_protocol = "sasl_plaintext"
{{- else }}
security_protocol = "plaintext"
{{- end }}
{{- if $k.tls.enabled }}
ssl_ca_location = "/etc/seisreduce/kafka-ca/{{ $k.tls.caSecret.key }}"
{{- end }}
{{- if $k.sasl.enabled }}
sasl_mechanism = {{ $k.sasl.mechanism | quote }}
sasl_username = {{ $k.sasl.username | quote }}
{{- end }}

[kafka.properties]
"session.timeout.ms" = {{ $k.sessionTimeoutMs | toString | quote }}
{{- range $key, $v := $k.properties }}
{{ $key | quote }} = {{ $v | toString | quote }}
{{- end }}
{{- end -}}
