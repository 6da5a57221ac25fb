{{/*
Helpers of the astrohub chart. The hub configuration (and the single dataset list) lives in the
jupyterhub subchart's section, `.Values.jupyterhub.custom.astrohub`; this parent chart reads it from
there to render the same dataset volumes into the archive service and the Dask worker pods.
*/}}

{{/* The hub configuration, jupyterhub.custom.astrohub. */}}
{{- define "astrohub.hub" -}}
{{- toJson (((.Values.jupyterhub).custom).astrohub | default dict) -}}
{{- end -}}

{{/* Labels of every object of this chart. */}}
{{- define "astrohub.labels" -}}
app.kubernetes.io/name: astrohub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of the archive service pods. */}}
{{- define "astrohub.archive.selectorLabels" -}}
app.kubernetes.io/name: astrohub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: archive
{{- end -}}

{{/*
The dataset volumes and mounts, as JSON {"volumes": [...], "volumeMounts": [...]}: the same data as
astrohub_hub.kubernetes.dataset_volumes builds for user pods (tests/helm checks they agree).
Fails, naming the key, on a dataset without exactly one volume source.
*/}}
{{- define "astrohub.datasets" -}}
{{- $hub := include "astrohub.hub" . | fromJson -}}
{{- $root := trimSuffix "/" ((($hub.storage) | default dict).datasets | default "/datasets") -}}
{{- $volumes := list -}}
{{- $mounts := list -}}
{{- range $i, $d := ((($hub.kubernetes) | default dict).datasets | default list) -}}
{{- $key := printf "jupyterhub.custom.astrohub.kubernetes.datasets[%d]" $i -}}
{{- if not $d.name -}}
{{- fail (printf "%s.name: every dataset needs a name" $key) -}}
{{- end -}}
{{- $name := printf "dataset-%s" $d.name | trunc 63 | trimSuffix "-" -}}
{{- if and $d.nfs (not $d.persistentVolumeClaim) -}}
{{- $volumes = append $volumes (dict "name" $name "nfs" (dict "server" $d.nfs.server "path" $d.nfs.path "readOnly" true)) -}}
{{- else if and $d.persistentVolumeClaim (not $d.nfs) -}}
{{- $volumes = append $volumes (dict "name" $name "persistentVolumeClaim" (dict "claimName" $d.persistentVolumeClaim.claimName "readOnly" true)) -}}
{{- else -}}
{{- fail (printf "%s (%s): needs exactly one volume source, 'nfs' or 'persistentVolumeClaim'" $key $d.name) -}}
{{- end -}}
{{- $mounts = append $mounts (dict "name" $name "mountPath" (printf "%s/%s" $root $d.name) "readOnly" true) -}}
{{- end -}}
{{- toJson (dict "volumes" $volumes "volumeMounts" $mounts) -}}
{{- end -}}

{{/*
Checks JSON schema cannot express; each failure names the key to change. A hub service counts as
registered only with a value (a null override leaves the key in place, and z2jh would fail on it).
*/}}
{{- define "astrohub.validate" -}}
{{- $hub := include "astrohub.hub" . | fromJson -}}
{{- $groups := ($hub.groups | default dict) -}}
{{- range $i, $p := ($hub.profiles | default list) -}}
{{- range $g := ($p.groups | default list) -}}
{{- if not (hasKey $groups $g) -}}
{{- fail (printf "jupyterhub.custom.astrohub.profiles[%d].groups: group %q of profile %q is not defined in jupyterhub.custom.astrohub.groups" $i $g ($p.slug | default "")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $kube := ($hub.kubernetes | default dict) -}}
{{- if and $kube.home (ne (((.Values.jupyterhub.singleuser).storage).type | default "dynamic") "none") -}}
{{- fail "jupyterhub.singleuser.storage.type: must be \"none\" when jupyterhub.custom.astrohub.kubernetes.home (NFS homes) is set" -}}
{{- end -}}
{{- if and .Values.archive.enabled .Values.jupyterhub.enabled (not (get ((.Values.jupyterhub.hub).services | default dict) "archive")) -}}
{{- fail "jupyterhub.hub.services.archive: archive.enabled needs the archive registered as a hub service" -}}
{{- end -}}
{{- $gateway := index .Values "dask-gateway" -}}
{{- if and $gateway.enabled .Values.jupyterhub.enabled (eq ((($gateway.gateway).auth).type | default "") "jupyterhub") -}}
{{- $jh := $gateway.gateway.auth.jupyterhub -}}
{{- $service := $jh.jupyterhubServiceName | default "" -}}
{{- if not $service -}}
{{- fail "dask-gateway.gateway.auth.jupyterhub.jupyterhubServiceName: must name dask-gateway's hub service (dask-gateway); unset, any hub token could create Dask clusters" -}}
{{- end -}}
{{- if not (get ((.Values.jupyterhub.hub).services | default dict) $service) -}}
{{- fail (printf "jupyterhub.hub.services.%s: dask-gateway authenticates through the hub as the service %q (dask-gateway.gateway.auth.jupyterhub.jupyterhubServiceName); register it so that Zero to JupyterHub generates its token" $service $service) -}}
{{- end -}}
{{- $key := printf "hub.services.%s.apiToken" $service -}}
{{- if and (not $jh.apiToken) (ne ($jh.apiTokenFromSecretKey | default "") $key) -}}
{{- fail (printf "dask-gateway.gateway.auth.jupyterhub.apiTokenFromSecretKey: %q is not the key Zero to JupyterHub writes the service's token under (%q)" ($jh.apiTokenFromSecretKey | default "") $key) -}}
{{- end -}}
{{- end -}}
{{- $datasets := include "astrohub.datasets" . | fromJson -}}
{{- if and .Values.archive.enabled $datasets.volumeMounts (not .Values.archive.proprietary) -}}
{{- $inside := false -}}
{{- $paths := list -}}
{{- range $m := $datasets.volumeMounts -}}
{{- $paths = append $paths $m.mountPath -}}
{{- if or (eq $.Values.archive.dataRoot $m.mountPath) (hasPrefix (printf "%s/" $m.mountPath) $.Values.archive.dataRoot) -}}
{{- $inside = true -}}
{{- end -}}
{{- end -}}
{{- if not $inside -}}
{{- fail (printf "archive.dataRoot: %q is not inside a mounted dataset (%s)" .Values.archive.dataRoot (join ", " $paths)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of the classes service pod. */}}
{{- define "astrohub.classes.selectorLabels" -}}
app.kubernetes.io/name: astrohub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: classes
{{- end -}}
