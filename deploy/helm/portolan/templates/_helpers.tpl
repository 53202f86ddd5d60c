{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "portolan.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; a selector's labels go beside commonLabels. */}}
{{- define "portolan.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: portolan
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "portolan.labels" -}}
{{ include "portolan.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "portolan.coordinatorSelector" -}}
app.kubernetes.io/name: portolan-coordinator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "portolan.newsSelector" -}}
app.kubernetes.io/name: news
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The coordinators' StatefulSet and Service, at most 52 characters: the
controller labels each pod controller-revision-hash: <name>-<hash of up to
10> (a label value, at most 63; kubernetes/kubernetes#64023), and the
headless Service adds "-headless" to a name that must stay a DNS label.
*/}}
{{- define "portolan.coordinatorName" -}}
{{- printf "%s-coordinator" (include "portolan.fullname" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "portolan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "portolan.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding access-token (and agent-token). */}}
{{- define "portolan.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "portolan.fullname" .)) .Values.tokens.existingSecret -}}
{{- end -}}

{{- define "portolan.joinSecret" -}}
{{- printf "%s-join" (include "portolan.fullname" .) -}}
{{- end -}}

{{/* The coordinator's URL inside the cluster. */}}
{{- define "portolan.homeURL" -}}
{{- printf "https://%s.%s.svc:%v" (include "portolan.coordinatorName" .) .Release.Namespace .Values.service.port -}}
{{- end -}}

{{/* The pod and container security contexts: non-root, read-only, no capabilities. */}}
{{- define "portolan.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "portolan.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/*
The combinations the chart refuses, each with what to do instead. Every
template includes it, so no render of a refused set produces anything.
*/}}
{{- define "portolan.validate" -}}
{{- $r := int .Values.replicas -}}
{{- if lt $r 1 -}}
{{- fail (printf "replicas is %d: want 1, or more with consul.enabled" $r) -}}
{{- end -}}
{{- if and (gt $r 1) (not .Values.consul.enabled) -}}
{{- fail (printf "replicas is %d but consul.enabled is false: several coordinators need Consul to share one composition (set consul.enabled=true and consul.address), else each keeps a store of its own; without Consul use replicas: 1" $r) -}}
{{- end -}}
{{- if and (gt $r 1) (not .Values.tls.existingSecret) -}}
{{- fail (printf "replicas is %d but tls.existingSecret is empty: with --tls auto each coordinator would make a CA of its own, so clients would trust one and be refused by the others; give a kubernetes.io/tls Secret made with `portolan tls cert create --server`" $r) -}}
{{- end -}}
{{- if and (gt $r 1) (not .Values.tokens.agentToken.enabled) -}}
{{- fail (printf "replicas is %d but tokens.agentToken.enabled is false: a join token is known only to the coordinator that made it, so agents behind the Service need the bootstrap agent token every coordinator accepts" $r) -}}
{{- end -}}
{{- if and .Values.consul.enabled (not .Values.consul.address) -}}
{{- fail "consul.enabled is true but consul.address is empty: give the URL of a Consul agent, e.g. http://consul-server.consul.svc:8500" -}}
{{- end -}}
{{- if .Values.newsExample.enabled -}}
{{- if .Values.newsExample.joinToken -}}
{{- if gt $r 1 -}}
{{- fail (printf "replicas is %d but newsExample.joinToken is %q: a join token is known only to the coordinator that made it, so the example's pods that reach another coordinator would be refused (401) and never register; set newsExample.joinToken to \"\" to register with the bootstrap agent token (tokens.agentToken.enabled) and the ca.crt of tls.existingSecret" $r .Values.newsExample.joinToken) -}}
{{- end -}}
{{- if not (hasKey .Values.joinTokens .Values.newsExample.joinToken) -}}
{{- fail (printf "newsExample.joinToken is %q but joinTokens has no such entry: make one with `portolan token create` and set joinTokens.%s" .Values.newsExample.joinToken .Values.newsExample.joinToken) -}}
{{- end -}}
{{- else if not (and .Values.tokens.agentToken.enabled .Values.tls.existingSecret) -}}
{{- fail "newsExample.joinToken is empty: the example then needs tokens.agentToken.enabled and tls.existingSecret (whose ca.crt it trusts)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
