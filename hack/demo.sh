#!/usr/bin/env bash
# make demo: start the local control plane (building it the first time), run kspan live with
# its web viewer (and the terminal tree), and play a sample rollout. Ctrl-C stops kspan and
# the control plane. KSPAN_UI chooses the viewer's address (default 127.0.0.1:7380).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DEMO_DIR:-$ROOT/.cache/demo-cluster}
GOPROXY=$(go env GOPROXY); export GOPROXY=${GOPROXY%%,direct*}

echo "== building the control plane if needed (about 22 minutes the first time)"
"$ROOT/hack/build-tools.sh" cluster
echo "== starting the control plane"
"$ROOT/hack/cluster.sh" up "$DIR"
export KUBECONFIG=$DIR/kubeconfig
cleanup() {
	[[ -n ${KSPAN_PID:-} ]] && kill "$KSPAN_PID" 2>/dev/null && wait "$KSPAN_PID" 2>/dev/null || true
	"$ROOT/hack/cluster.sh" down "$DIR" || true
}
trap cleanup EXIT

go build -tags grpcnotrace -o "$ROOT/bin/kspan" "$ROOT/cmd/kspan"
UI=${KSPAN_UI:-127.0.0.1:7380}
"$ROOT/bin/kspan" -hold 2s -linger 4s -color always -ui "$UI" &
KSPAN_PID=$!
URL="http://$UI/"
until curl -fsS -o /dev/null "$URL" 2>/dev/null; do
	kill -0 "$KSPAN_PID" 2>/dev/null || { echo "kspan stopped; see above" >&2; exit 1; }
	sleep 0.2
done
echo "== kspan is watching; open the viewer at $URL (a sample rollout follows; Ctrl-C to stop)"
if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] && command -v xdg-open >/dev/null; then
	xdg-open "$URL" >/dev/null 2>&1 || true
fi

k() { kubectl "$@" >/dev/null; }
sleep_until() { # wait on a condition, not a clock
	kubectl rollout status "$@" --timeout=120s >/dev/null
}
kubectl create namespace demo >/dev/null
until kubectl -n demo get serviceaccount default >/dev/null 2>&1; do sleep 0.2; done
k -n demo create deployment web --image=nginx:1.25 --replicas=3
sleep_until -n demo deployment/web
k -n demo scale deployment web --replicas=5
sleep_until -n demo deployment/web
k -n demo set image deployment/web nginx=nginx:1.26
sleep_until -n demo deployment/web
echo "== rollout played; its traces are at $URL; kspan keeps watching (Ctrl-C to stop)" >&2
wait "$KSPAN_PID"
