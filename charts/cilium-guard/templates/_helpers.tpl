{{- define "cilium-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cilium-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cilium-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cilium-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cilium-guard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "cilium-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cilium-guard
{{- end -}}

{{- define "cilium-guard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The DNS name the API server checks in the serving certificate. */}}
{{- define "cilium-guard.serviceHost" -}}
{{- printf "%s.%s.svc" (include "cilium-guard.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "cilium-guard.tlsSecret" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret.name is required when certificates.mode is existingSecret" .Values.certificates.existingSecret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "cilium-guard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "cilium-guard.validatingName" -}}
{{- include "cilium-guard.fullname" . -}}
{{- end -}}

{{- define "cilium-guard.mutatingName" -}}
{{- include "cilium-guard.fullname" . -}}
{{- end -}}

{{/* The policy file: .Values.policy with the chart's breakGlass merged in, so the webhook and the
     matchConditions agree on who may break the glass. */}}
{{- define "cilium-guard.policy" -}}
{{- $policy := deepCopy .Values.policy -}}
{{- $_ := set $policy "breakGlass" (dict "groups" .Values.breakGlass.groups "users" .Values.breakGlass.users) -}}
{{- toYaml $policy -}}
{{- end -}}

{{- define "cilium-guard.ciliumConfigMapName" -}}
{{- dig "cilium" "configMapName" "cilium-config" .Values.policy -}}
{{- end -}}

{{- define "cilium-guard.argocdConfigMapName" -}}
{{- dig "argocd" "configMapName" "argocd-cm" .Values.policy -}}
{{- end -}}

{{/* CEL: true unless the requester is in a break-glass group or is a break-glass user. */}}
{{- define "cilium-guard.notBreakGlass" -}}
{{- $groups := list -}}
{{- range .Values.breakGlass.groups }}{{ $groups = append $groups (. | toJson) }}{{ end -}}
{{- $users := list -}}
{{- range .Values.breakGlass.users }}{{ $users = append $users (. | toJson) }}{{ end -}}
{{- printf "!(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in [%s])) && !(request.userInfo.username in [%s])" (join ", " $groups) (join ", " $users) -}}
{{- end -}}

{{- define "cilium-guard.caBundleAnnotation" -}}
{{- if eq .Values.certificates.mode "certManager" }}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "cilium-guard.fullname" .) }}
{{- end }}
{{- end -}}

{{- define "cilium-guard.clientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
clientConfig:
  {{- if $root.Values.webhooks.url }}
  url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhooks.url) $path | quote }}
  {{- else }}
  service:
    name: {{ include "cilium-guard.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ $path }}
    port: 443
  {{- end }}
  {{- if eq $root.Values.certificates.mode "existingSecret" }}
  caBundle: {{ required "certificates.existingSecret.caBundle (PEM) is required when certificates.mode is existingSecret" $root.Values.certificates.existingSecret.caBundle | b64enc }}
  {{- end }}
{{- end -}}

{{/* The API server needs to call us for these only when the pods use the API (selfSigned mode). */}}
{{/* The pods talk to the API server: for selfSigned certificates and/or for Events. */}}
{{- define "cilium-guard.usesApi" -}}
{{- if or (eq .Values.certificates.mode "selfSigned") .Values.events.enabled .Values.clusterView.enabled -}}true{{- end -}}
{{- end -}}

{{/* Seconds in a Go duration made of h, m and s parts (168h, 1h30m, 90s). */}}
{{- define "cilium-guard.durationSeconds" -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+[hms]" . -1 -}}
{{- $n := int (trimSuffix "h" (trimSuffix "m" (trimSuffix "s" .))) -}}
{{- if hasSuffix "h" . }}{{ $total = add $total (mul $n 3600) }}{{ else if hasSuffix "m" . }}{{ $total = add $total (mul $n 60) }}{{ else }}{{ $total = add $total $n }}{{ end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* Pod spec of the hook and test Jobs: the same hardened container, with an API token only. The
     caller appends the container's args. */}}
{{- define "cilium-guard.jobPodSpec" -}}
{{- $root := index . 0 -}}
{{- $sa := index . 1 -}}
serviceAccountName: {{ $sa }}
automountServiceAccountToken: true
restartPolicy: Never
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: cilium-guard
    image: {{ include "cilium-guard.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    resources:
      requests:
        cpu: 10m
        memory: 64Mi
      limits:
        memory: 128Mi
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    {{- with $root.Values.extraEnv }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end -}}

{{/* The cilium-config the cluster view watches: the policy's name for it. */}}
{{- define "cilium-guard.ciliumConfigName" -}}
{{- (.Values.policy.cilium).configMapName | default "cilium-config" -}}
{{- end -}}

{{/* " (see URL)": a rule's documentation page (policy docs.ruleURL, {rule} replaced), as the webhook's denials name it. Args: root, rule id. */}}
{{- define "cilium-guard.ruleDocs" -}}
{{- $root := index . 0 -}}
{{- $url := dig "docs" "ruleURL" "https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/{rule}.md" $root.Values.policy -}}
{{- if $url }} (see {{ replace "{rule}" (index . 1) $url }}){{ end -}}
{{- end -}}
