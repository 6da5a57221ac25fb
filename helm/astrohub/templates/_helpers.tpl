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
One release per namespace. The names of Zero to JupyterHub's objects (hub, proxy-public, proxy-api), of
dask-gateway's (api-/traefik-<dask-gateway.fullnameOverride>) and of ours (astrohub-*) are fixed, because
subchart values cannot be templated and refer to each other by name (jupyterhub.hub.services.*.url,
dask-gateway.gateway.auth.jupyterhub.apiUrl, PLATFORM_ARCHIVE_URL). A second release in the same namespace
would meet the first one's objects; this stops it at render time with the conflict and the fix, before
Helm's own ownership error about whichever object it happens to try first.
Input: dict "release", "namespace" and "objects" (the ConfigMaps and Services of the namespace, as
`lookup` answers: "astrohub.namespaceObjects"). Fails when one of them would be this release's and
belongs to another (its meta.helm.sh/release-name annotation, absent for objects made by hand).
*/}}
{{- define "astrohub.singleRelease" -}}
{{- $fixed := list "Service/hub" "Service/proxy-public" "Service/proxy-api" -}}
{{- $gateway := .gateway | default "astrohub-dask-gateway" -}}
{{- $fixed = concat $fixed (list (printf "Service/api-%s" $gateway) (printf "Service/traefik-%s" $gateway)) -}}
{{- $conflicts := list -}}
{{- $owners := list -}}
{{- range $o := .objects -}}
{{- $meta := $o.metadata | default dict -}}
{{- $id := printf "%s/%s" $o.kind $meta.name -}}
{{- $ours := or (has $id $fixed) (eq (get ($meta.labels | default dict) "app.kubernetes.io/name") "astrohub") -}}
{{- $owner := get ($meta.annotations | default dict) "meta.helm.sh/release-name" | default "" -}}
{{- if and $ours (ne $owner $.release) -}}
{{- $conflicts = append $conflicts $id -}}
{{- $owners = append $owners ($owner | default "none: made by hand" | quote) -}}
{{- end -}}
{{- end -}}
{{- if $conflicts -}}
{{- fail (printf "namespace %q already holds %s of release %s: astrohub's object names are fixed (hub, proxy-public, astrohub-archive, traefik-%s...), so a namespace holds one astrohub release; install %q in a namespace of its own (kubectl create namespace %s; helm install %s helm/astrohub --namespace %s), or upgrade the release that is there" .namespace (join ", " $conflicts) (join ", " (uniq $owners)) $gateway .release .release .release .release) -}}
{{- end -}}
{{- end -}}

{{/*
Cluster-wide names. Two releases in two namespaces still share the cluster's ClusterRoles: dask-gateway names
its own api-/controller-/traefik-<dask-gateway.fullnameOverride> (fixed by our values), Zero to JupyterHub its
user scheduler's <release>-user-scheduler. Input: dict "release", "namespace", "gateway" (the fullnameOverride)
and "objects" (those ClusterRoles as `lookup` answers: "astrohub.clusterObjects"). Fails, naming what to
change, when one belongs to a release other than this one (name and namespace).
*/}}
{{- define "astrohub.clusterNames" -}}
{{- $gateway := .gateway | default "astrohub-dask-gateway" -}}
{{- $gatewayNames := list (printf "api-%s" $gateway) (printf "controller-%s" $gateway) (printf "traefik-%s" $gateway) -}}
{{- $conflicts := list -}}
{{- $fixes := list -}}
{{- range $o := .objects -}}
{{- $meta := $o.metadata | default dict -}}
{{- $notes := $meta.annotations | default dict -}}
{{- $owner := printf "%s/%s" (get $notes "meta.helm.sh/release-namespace" | default "?") (get $notes "meta.helm.sh/release-name" | default "?") -}}
{{- $ours := or (has $meta.name $gatewayNames) (eq $meta.name (printf "%s-user-scheduler" $.release)) -}}
{{- if and $ours (ne $owner (printf "%s/%s" $.namespace $.release)) -}}
{{- $conflicts = append $conflicts (printf "%s/%s (release %s)" $o.kind $meta.name $owner) -}}
{{- if has $meta.name $gatewayNames -}}
{{- $fixes = append $fixes (printf "set dask-gateway.fullnameOverride to a name of this release's own, e.g. %s-dask-gateway (the render then names the URLs to change with it)" $.namespace) -}}
{{- else -}}
{{- $fixes = append $fixes "give this release a name no other namespace's astrohub release has (Zero to JupyterHub names its user scheduler's ClusterRole after it)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $conflicts -}}
{{- fail (printf "the cluster already holds %s: cluster-wide objects of another astrohub (or dask-gateway, JupyterHub) release have the names this one would create; %s" (join ", " $conflicts) (join "; and " (uniq $fixes))) -}}
{{- end -}}
{{- end -}}

{{/* The ClusterRoles astrohub.clusterNames checks, from the cluster (none offline or in a dry run). */}}
{{- define "astrohub.clusterObjects" -}}
{{- $gateway := (index .Values "dask-gateway").fullnameOverride | default "astrohub-dask-gateway" -}}
{{- $objects := list -}}
{{- range $name := list (printf "api-%s" $gateway) (printf "controller-%s" $gateway) (printf "traefik-%s" $gateway) (printf "%s-user-scheduler" $.Release.Name) -}}
{{- $found := lookup "rbac.authorization.k8s.io/v1" "ClusterRole" "" $name -}}
{{- if $found -}}
{{- $objects = append $objects $found -}}
{{- end -}}
{{- end -}}
{{- toJson $objects -}}
{{- end -}}

{{/* The namespace's ConfigMaps and Services from the cluster (empty when rendering offline or in a dry run). */}}
{{- define "astrohub.namespaceObjects" -}}
{{- $objects := list -}}
{{- range $kind := list "ConfigMap" "Service" -}}
{{- $objects = concat $objects ((lookup "v1" $kind $.Release.Namespace "").items | default list) -}}
{{- end -}}
{{- toJson $objects -}}
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
{{- $baseUrl := ((.Values.jupyterhub.hub).baseUrl | default "/") -}}
{{- if and .Values.jupyterhub.enabled (ne $baseUrl "/") -}}
{{- fail (printf "jupyterhub.hub.baseUrl: %q is not supported, only \"/\": the archive, classes and dask-gateway services and their URLs (archive.*, dask-gateway.gateway.prefix, PLATFORM_ARCHIVE_URL) assume the hub at the root of its host; serve astrohub on a host name of its own instead" $baseUrl) -}}
{{- end -}}
{{- if .Values.jupyterhub.enabled -}}
{{- $nodeOptions := toString (get ((((.Values.jupyterhub.proxy).chp).extraEnv) | default dict) "NODE_OPTIONS" | default "") -}}
{{- if and $nodeOptions (not (hasPrefix "--import=data:text/javascript;base64,$(ASTROHUB_PROXY_GUARD)" $nodeOptions)) -}}
{{- fail (printf "jupyterhub.proxy.chp.extraEnv.NODE_OPTIONS: %q drops the proxy's guard (a malformed percent-escape would be answered 500); start it with --import=data:text/javascript;base64,$(ASTROHUB_PROXY_GUARD) and add your own node options after it (an empty string turns the guard off, for a proxy image whose node is older than 20.19)" $nodeOptions) -}}
{{- end -}}
{{- end -}}
{{- $auth := ($hub.auth | default dict) -}}
{{- $roster := ((((.Values.jupyterhub.hub).config) | default dict).RosterAuthenticator | default dict) -}}
{{- if and .Values.jupyterhub.enabled (eq ($auth.kind | default "roster") "roster") (not $auth.adminPassword) (not $auth.sharedPassword) (not $roster.admin_password) (not $roster.class_code) -}}
{{- fail "jupyterhub.custom.astrohub.auth: with kind roster and neither adminPassword nor sharedPassword nobody could ever sign in (admins sign in with adminPassword, 32+ characters; people on the roster register with the class code sharedPassword, 8+); set adminPassword (e.g. --set jupyterhub.custom.astrohub.auth.adminPassword=...) and sharedPassword, or choose kind native or external" -}}
{{- end -}}
{{- if eq ($hub.mode | default "") "kubernetes" -}}
{{- $cull := ($hub.cull | default dict) -}}
{{- range $key, $z2jh := dict "enabled" "enabled" "timeoutSeconds" "timeout" "everySeconds" "every" -}}
{{- if hasKey $cull $key -}}
{{- fail (printf "jupyterhub.custom.astrohub.cull.%s: used by `astrohub up` only; on Kubernetes Zero to JupyterHub's culler is set with jupyterhub.cull.%s (cull.warningSeconds and cull.activityIntervalSeconds do apply)" $key $z2jh) -}}
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
{{- $services := (.Values.jupyterhub.hub).services | default dict -}}
{{- $env := ($hub.environment | default dict) -}}
{{- if and .Values.jupyterhub.enabled .Values.archive.enabled -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.hub.services.archive.url" "url" (get $services "archive").url "service" "astrohub-archive" "port" .Values.archive.port "path" "" "scheme" "http") -}}
{{- if hasKey $env "PLATFORM_ARCHIVE_URL" -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.custom.astrohub.environment.PLATFORM_ARCHIVE_URL" "url" $env.PLATFORM_ARCHIVE_URL "service" "astrohub-archive" "port" .Values.archive.port "path" "/services/archive/" "scheme" "http") -}}
{{- end -}}
{{- end -}}
{{- if and .Values.jupyterhub.enabled .Values.classes.enabled (get $services "astrohub-classes") -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.hub.services.astrohub-classes.url" "url" (get $services "astrohub-classes").url "service" "astrohub-classes" "port" .Values.classes.port "path" "" "scheme" "http") -}}
{{- end -}}
{{- if and $gateway.enabled .Values.jupyterhub.enabled (get $services "dask-gateway") -}}
{{- $traefik := printf "traefik-%s" ($gateway.fullnameOverride | default "astrohub-dask-gateway") -}}
{{- $web := ((($gateway.traefik).service).ports).web | default dict -}}
{{- $webPort := $web.port | default 80 -}}
{{- $prefix := printf "%s/" (trimSuffix "/" ($gateway.gateway.prefix | default "/services/dask-gateway")) -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.hub.services.dask-gateway.url" "url" (get $services "dask-gateway").url "service" $traefik "port" $webPort "path" "" "scheme" "http") -}}
{{- $dg := $hub.daskGateway | default dict -}}
{{- if $dg.address -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.custom.astrohub.daskGateway.address" "url" $dg.address "service" $traefik "port" $webPort "path" $prefix "scheme" "http") -}}
{{- end -}}
{{- if $dg.proxyAddress -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "jupyterhub.custom.astrohub.daskGateway.proxyAddress" "url" $dg.proxyAddress "service" $traefik "port" $webPort "path" "" "scheme" "gateway") -}}
{{- end -}}
{{- $jh := (($gateway.gateway).auth).jupyterhub | default dict -}}
{{- if and (eq ((($gateway.gateway).auth).type | default "") "jupyterhub") $jh.apiUrl -}}
{{- include "astrohub.checkServiceUrl" (dict "key" "dask-gateway.gateway.auth.jupyterhub.apiUrl" "url" $jh.apiUrl "service" "hub" "port" 8081 "path" "/hub/api/" "scheme" "http") -}}
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

{{/*
A URL in the values that must reach one of the release's Services (values cannot be templated, so the
operator writes it; a changed port or name elsewhere would leave it pointing nowhere). Input: dict "key"
(the values key), "url", "service", "port", "path" (the path it must start with, "" for any), "scheme".
Fails naming the key, the URL and the one it should be. The Service may be written as <name>,
<name>.<namespace>, <name>.<namespace>.svc[.cluster.local].
*/}}
{{- define "astrohub.checkServiceUrl" -}}
{{- $u := urlParse (toString .url) -}}
{{- $port := trimPrefix ":" (trimPrefix $u.hostname $u.host) | default (ternary "443" "80" (eq $u.scheme "https")) -}}
{{- $service := first (splitList "." $u.hostname) -}}
{{- $want := printf "%s://%s:%v%s" .scheme .service .port .path -}}
{{- if or (ne $u.scheme .scheme) (ne $service .service) (ne $port (toString .port)) (not (hasPrefix .path (printf "%s/" (trimSuffix "/" $u.path) | replace "//" "/"))) -}}
{{- fail (printf "%s: %q does not reach the Service %s on port %v%s; set it to %q" .key (toString .url) .service .port (ternary "" (printf " under %s" .path) (eq .path "")) $want) -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of the classes service pod. */}}
{{- define "astrohub.classes.selectorLabels" -}}
app.kubernetes.io/name: astrohub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: classes
{{- end -}}

{{/*
The sample-data Job's plan (templates/sampledata.yaml), as JSON: {"render": bool, "why": text when not,
"registry", "datasets" (the loader's datasets folder: the mount holding the registry; skymaps/ and the
record go there), "images", "index", "writable": [names of the dataset volumes it mounts writable],
"archiveVolume": bool (it writes the archive's own volume, archive.proprietary)}.
The registry is the one users read: archive.registry, else PLATFORM_CATALOG_REGISTRY of
jupyterhub.custom.astrohub.environment, else <storage.datasets>/catalogs/registry.sqlite (platform_lib's
default); it must lie inside a mounted dataset (render error naming the keys otherwise).
*/}}
{{- define "astrohub.sampleData" -}}
{{- include "astrohub.validate" . -}}{{- /* its errors first, whichever template asks first */ -}}
{{- $hub := include "astrohub.hub" . | fromJson -}}
{{- $datasets := include "astrohub.datasets" . | fromJson -}}
{{- $root := trimSuffix "/" ((($hub.storage) | default dict).datasets | default "/datasets") -}}
{{- $mounts := $datasets.volumeMounts | default list -}}
{{- $plan := dict "render" false -}}
{{- if not .Values.sampleData.enabled -}}
{{- $_ := set $plan "why" "off (sampleData.enabled: false)" -}}
{{- else if not .Values.archive.enabled -}}
{{- $_ := set $plan "why" "off: it loads into the archive service's data (archive.enabled: false)" -}}
{{- else if not $mounts -}}
{{- $_ := set $plan "why" "not loaded: no dataset to load it into (jupyterhub.custom.astrohub.kubernetes.datasets is empty)" -}}
{{- else -}}
{{- $env := ($hub.environment | default dict) -}}
{{- $registry := .Values.archive.registry | default (get $env "PLATFORM_CATALOG_REGISTRY") | default (printf "%s/catalogs/registry.sqlite" $root) -}}
{{- $home := dict -}}
{{- $writable := list -}}
{{- range $m := $mounts -}}
{{- if hasPrefix (printf "%s/" $m.mountPath) $registry -}}
{{- $home = $m -}}
{{- $writable = append $writable $m.name -}}
{{- end -}}
{{- end -}}
{{- if not $home.name -}}
{{- $paths := list -}}
{{- range $m := $mounts -}}
{{- $paths = append $paths $m.mountPath -}}
{{- end -}}
{{- fail (printf "sampleData.enabled: the sample catalogues go into the catalogue registry users read, %q (archive.registry, else jupyterhub.custom.astrohub.environment.PLATFORM_CATALOG_REGISTRY, else <storage.datasets>/catalogs/registry.sqlite), which is not inside a mounted dataset (%s): set PLATFORM_CATALOG_REGISTRY to a path inside one, or sampleData.enabled: false" $registry (join ", " $paths)) -}}
{{- end -}}
{{- if not .Values.archive.proprietary -}}
{{- range $m := $mounts -}}
{{- range $path := list $.Values.archive.dataRoot $.Values.archive.index -}}
{{- if and (or (eq $path $m.mountPath) (hasPrefix (printf "%s/" $m.mountPath) $path)) (not (has $m.name $writable)) -}}
{{- $writable = append $writable $m.name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $plan "render" true -}}
{{- $_ := set $plan "registry" $registry -}}
{{- $_ := set $plan "datasets" $home.mountPath -}}
{{- $_ := set $plan "images" .Values.archive.dataRoot -}}
{{- $_ := set $plan "index" .Values.archive.index -}}
{{- $_ := set $plan "writable" $writable -}}
{{- $_ := set $plan "archiveVolume" (not (not .Values.archive.proprietary)) -}}
{{- end -}}
{{- toJson $plan -}}
{{- end -}}

{{/*
The image pull secrets of our pods (archive, classes, sample data), as a JSON list of {name}: the ones
Zero to JupyterHub's pods use, so one setting serves the whole release: jupyterhub.imagePullSecrets (names or
{name}), and z2jh's Secret image-pull-secret when jupyterhub.imagePullSecret.create injects it.
*/}}
{{- define "astrohub.imagePullSecrets" -}}
{{- $jh := .Values.jupyterhub | default dict -}}
{{- $secrets := list -}}
{{- $create := $jh.imagePullSecret | default dict -}}
{{- if and $create.create $create.automaticReferenceInjection -}}
{{- $secrets = append $secrets (dict "name" "image-pull-secret") -}}
{{- end -}}
{{- range $s := ($jh.imagePullSecrets | default list) -}}
{{- if kindIs "map" $s -}}
{{- $secrets = append $secrets (dict "name" $s.name) -}}
{{- else -}}
{{- $secrets = append $secrets (dict "name" $s) -}}
{{- end -}}
{{- end -}}
{{- toJson $secrets -}}
{{- end -}}

{{/*
The operator's own instrument mappings (archive.mappings), as JSON: {} when there are none, else {"dir": the folder
they are mounted at (read-only), "volume": the pod volume of their ConfigMap astrohub-archive-mappings, "files": file
name -> mapping object}. archive.mappings takes the forms operators write: a map of file name (<name>.json) to the
mapping as an object (YAML or JSON in a values file) or as the text of its file (JSON or YAML: what
`--set-file archive.mappings.<name>\.json=<name>.json` gives), or a list of mappings (objects or texts), each in the
file <its name>.json. The archive pod (ASTROHUB_ARCHIVE_MAPPINGS) and the sample-data Job (--mappings) mount it: each
derives image records. File names and texts are checked here (render error naming the entry), objects by the values
schema; a text is checked here for the keys and types the schema checks of an object (astrohub.mappingKeys).
*/}}
{{- define "astrohub.mappings" -}}
{{- $given := .Values.archive.mappings -}}
{{- if $given -}}
{{- $entries := list -}}
{{- if kindIs "slice" $given -}}
{{- range $i, $m := $given }}{{ $entries = append $entries (list (printf "archive.mappings[%d]" $i) "" $m) }}{{ end -}}
{{- else -}}
{{- range $file, $m := $given }}{{ $entries = append $entries (list (printf "archive.mappings.%s" $file) $file $m) }}{{ end -}}
{{- end -}}
{{- $files := dict -}}
{{- range $entries -}}
{{- $where := index . 0 -}}{{- $file := index . 1 -}}{{- $mapping := index . 2 -}}
{{- if kindIs "string" $mapping -}}
{{- $mapping = include "astrohub.mappingText" (list $where $mapping) | fromJson -}}
{{- end -}}
{{- $named := ternary "archive.mappings" $where (ne $file "") -}}
{{- if not $file -}}
{{- $file = printf "%s.json" $mapping.name -}}
{{- if hasKey $files $file -}}
{{- fail (printf "%s: a second mapping named %q (each mapping of the list is the file <name>.json; names must differ)" $where $mapping.name) -}}
{{- end -}}
{{- end -}}
{{- if or (not (regexMatch "^[A-Za-z0-9_-][A-Za-z0-9_.-]*\\.json$" $file)) (gt (len $file) 253) -}}
{{- fail (printf "%s: %q is not a mapping's file name: <name>.json, of letters, digits, '-', '_' and '.', not starting with '.' (a ConfigMap key; the archive reads *.json)" $named $file) -}}
{{- end -}}
{{- $_ := set $files $file $mapping -}}
{{- end -}}
{{- toJson (dict "dir" "/etc/astrohub/mappings" "volume" (dict "name" "mappings" "configMap" (dict "name" "astrohub-archive-mappings")) "files" $files) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
The keys of an instrument mapping and the kinds each takes (as the values schema's mapping object, helm/schema.py
_MAPPING, which a helm test compares with this list): a mapping given as text is checked against it.
*/}}
{{- define "astrohub.mappingKeys" -}}
{"name": ["string"], "description": ["string"], "match": ["map"], "columns": ["map"], "band": ["map", "invalid"], "pointing": ["map", "invalid"], "proprietary_months": ["float64", "int64", "int"], "hdu": ["float64", "int64", "int", "invalid"]}
{{- end -}}

{{/*
A mapping given as the text of its file (list: where, text), as JSON: parsed as JSON when it starts with "{", else as
YAML; a render error names the entry and what is wrong (not JSON/YAML, not an object, a missing name, an unknown key,
a value of the wrong kind).
*/}}
{{- define "astrohub.mappingText" -}}
{{- $where := index . 0 -}}{{- $text := trim (index . 1) -}}
{{- $form := ternary "JSON" "YAML" (hasPrefix "{" $text) -}}
{{- $mapping := ternary (fromJson $text) (fromYaml $text) (hasPrefix "{" $text) -}}
{{- if or (hasKey $mapping "Error") (not $text) -}}
{{- fail (printf "%s: the text given is not a mapping file (a %s object with a name and the mapping's keys, docs/archive.md \"A new instrument\"): %s" $where $form (get $mapping "Error" | default "it is empty")) -}}
{{- end -}}
{{- $keys := include "astrohub.mappingKeys" . | fromJson -}}
{{- if not (and (kindIs "string" $mapping.name) $mapping.name) -}}
{{- fail (printf "%s: the mapping has no name (a non-empty string; the file is <name>.json)" $where) -}}
{{- end -}}
{{- range $key, $value := $mapping -}}
{{- if not (hasKey $keys $key) -}}
{{- fail (printf "%s: %q is not a key of a mapping; allowed: %s" $where $key (keys $keys | sortAlpha | join ", ")) -}}
{{- end -}}
{{- if not (has (kindOf $value) (get $keys $key)) -}}
{{- fail (printf "%s: %s is a %s, want %s" $where $key (kindOf $value) (get $keys $key | join " or ")) -}}
{{- end -}}
{{- end -}}
{{- range $keyword, $pattern := ($mapping.match | default dict) -}}
{{- if not (kindIs "string" $pattern) -}}
{{- fail (printf "%s: match.%s is a %s, want string (a pattern for the header keyword %s)" $where $keyword (kindOf $pattern) $keyword) -}}
{{- end -}}
{{- end -}}
{{- range $column, $rule := ($mapping.columns | default dict) -}}
{{- if not (kindIs "map" $rule) -}}
{{- fail (printf "%s: columns.%s is a %s, want map (a column rule: value, keyword, ...)" $where $column (kindOf $rule)) -}}
{{- end -}}
{{- end -}}
{{- if or (and (hasKey $mapping "hdu") (not (kindIs "invalid" $mapping.hdu)) (or (lt (float64 $mapping.hdu) 0.0) (ne (float64 $mapping.hdu) (floor $mapping.hdu)))) (and (hasKey $mapping "proprietary_months") (lt (float64 $mapping.proprietary_months) 0.0)) -}}
{{- fail (printf "%s: hdu must be a whole number >= 0 (or null) and proprietary_months a number >= 0" $where) -}}
{{- end -}}
{{- toJson $mapping -}}
{{- end -}}
