{{/* The name of one service's objects: <release>-<service>. */}}
{{- define "orderflow.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object of one service carries. */}}
{{- define "orderflow.labels" -}}
app.kubernetes.io/name: {{ .service }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: orderflow
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The labels a Deployment selects its pods by (never change after install). */}}
{{- define "orderflow.selector" -}}
app.kubernetes.io/name: {{ .service }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* One service's settings: the shared ones, tracing, then its own over them. */}}
{{- define "orderflow.config" -}}
{{- $config := merge (dict) (.spec.config | default dict) .root.Values.config -}}
{{- range $key := keys $config }}
{{- if regexMatch "(?i)(PASSWORD|SECRET|TOKEN|MONGODB_URI)" $key }}
{{- fail (printf "%s belongs in `secrets`, not `config` (a ConfigMap is readable by anyone who can list it)" $key) }}
{{- end }}
{{- end }}
{{- if .root.Values.tracing.otlpEndpoint -}}
{{- $_ := set $config "OTEL_EXPORTER_OTLP_ENDPOINT" .root.Values.tracing.otlpEndpoint -}}
{{- $_ := set $config "OTEL_TRACES_SAMPLER" .root.Values.tracing.sampler -}}
{{- $_ := set $config "OTEL_TRACES_SAMPLER_ARG" (toString .root.Values.tracing.samplerArg) -}}
{{- end -}}
{{- $_ := set $config "ORDERFLOW_HTTP_HOST" "0.0.0.0" -}}
{{- $_ := set $config "ORDERFLOW_HTTP_PORT" (toString .root.Values.httpPort) -}}
{{- $_ := set $config "ORDERFLOW_SERVICE" .service -}}
{{- range $key := keys $config | sortAlpha }}
{{ $key }}: {{ get $config $key | toString | quote }}
{{- end -}}
{{- end -}}

{{/* One service's secrets: the shared ones, then its own over them (empty ones left out). */}}
{{- define "orderflow.secrets" -}}
{{- $secrets := merge (dict) (.spec.secrets | default dict) (omit .root.Values.secrets "existingSecret") -}}
{{- range $key := keys $secrets | sortAlpha }}
{{- $value := get $secrets $key | toString }}
{{- if $value }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The Secret a service reads: one made elsewhere, or the chart's own. */}}
{{- define "orderflow.secretName" -}}
{{- .root.Values.secrets.existingSecret | default (include "orderflow.fullname" .) -}}
{{- end -}}
