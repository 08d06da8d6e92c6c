{{/* CEL pieces for the ValidatingAdmissionPolicy, written once for object and once for oldObject. */}}
{{- define "cilium-guard.vap.isCilium" -}}
{{- $o := index . 0 -}}{{- $charts := index . 1 -}}
(has({{ $o }}.spec.source) && has({{ $o }}.spec.source.chart) && {{ $o }}.spec.source.chart in {{ toJson $charts }}) || (has({{ $o }}.spec.sources) && {{ $o }}.spec.sources.exists(s, has(s.chart) && s.chart in {{ toJson $charts }}))
{{- end -}}
{{- define "cilium-guard.vap.releaseOk" -}}
{{- $o := index . 0 -}}{{- $charts := index . 1 -}}{{- $release := index . 2 -}}
(!has({{ $o }}.spec.source) || !has({{ $o }}.spec.source.chart) || !({{ $o }}.spec.source.chart in {{ toJson $charts }}) || (has({{ $o }}.spec.source.helm) && has({{ $o }}.spec.source.helm.releaseName) && {{ $o }}.spec.source.helm.releaseName != '' ? {{ $o }}.spec.source.helm.releaseName : {{ $o }}.metadata.name) == {{ toJson $release }}) && (!has({{ $o }}.spec.sources) || {{ $o }}.spec.sources.all(s, !has(s.chart) || !(s.chart in {{ toJson $charts }}) || (has(s.helm) && has(s.helm.releaseName) && s.helm.releaseName != '' ? s.helm.releaseName : {{ $o }}.metadata.name) == {{ toJson $release }}))
{{- end -}}
{{- define "cilium-guard.vap.syncOk" -}}
{{- $o := index . 0 -}}{{- $ssa := index . 1 -}}{{- $forbidden := index . 2 -}}
has({{ $o }}.spec.syncPolicy) && has({{ $o }}.spec.syncPolicy.syncOptions) && {{ toJson $ssa }} in {{ $o }}.spec.syncPolicy.syncOptions && !{{ $o }}.spec.syncPolicy.syncOptions.exists(x, x in {{ toJson $forbidden }})
{{- end -}}
