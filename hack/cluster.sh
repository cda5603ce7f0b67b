#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) plus kwok, which simulates nodes and the kubelet's pod lifecycle (including
# the kubelet's Events, see hack/kwok/). No containers run; everything is a local process.
#
# Usage: hack/cluster.sh up|down|env|status|restart-apiserver [DIR]
#   DIR   throwaway state folder (default: <repo>/.cache/cluster); `up` wipes its etcd data,
#         logs and pid files, and keeps its PKI.
#   up      builds missing binaries (hack/build-tools.sh cluster; SKIP_BUILD=1 skips that),
#           starts everything, creates fake nodes kwok-node-0..N-1 and waits until they are
#           Ready and the default ServiceAccount exists. Prints `export KUBECONFIG=...`.
#   down    stops kwok, scheduler, controller-manager, apiserver, etcd, in that order.
#   env     prints `export KUBECONFIG=DIR/kubeconfig`.
#   status  prints each component's pid and health.
#   restart-apiserver  stops and starts kube-apiserver (COMPACT=1: compacts etcd while it is
#           down, so watches resumed from before get 410 Gone and relist).
# Env: KWOK_NODES (default 3), BIN_DIR (default <repo>/.cache/bin),
#      UP_TIMEOUT seconds per component (default 60), DOWN_TIMEOUT seconds (default 20),
#      KEEP_ON_FAILURE=1 keeps the components a failed `up` started (default: stops them).
#
# Ports (all 127.0.0.1): etcd 12379/12380/12381, apiserver 16443, controller-manager 10257,
# scheduler 10259, kwok 10247; `up` checks they are free. PORT_OFFSET=N (at `up`) shifts them all
# by N so a second cluster can run beside the first; other commands read it from DIR/ports.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT_DIR/.cache/bin}
mkdir -p "$BIN_DIR"
BIN_DIR=$(cd "$BIN_DIR" && pwd -P)
KWOK_STAGES_DIR=$HACK_DIR/kwok
KWOK_NODES=${KWOK_NODES:-3}
UP_TIMEOUT=${UP_TIMEOUT:-60}
DOWN_TIMEOUT=${DOWN_TIMEOUT:-20}

# set_ports OFFSET: the fixed ports, shifted by OFFSET (PORT_OFFSET at `up`, saved in DIR/ports).
set_ports() {
	local off=$1
	[[ $off =~ ^[0-9]+$ ]] || die "PORT_OFFSET must be a number, got '$off'"
	ETCD_PORT=$((12379 + off))
	ETCD_PEER_PORT=$((12380 + off))
	ETCD_METRICS_PORT=$((12381 + off))
	APISERVER_PORT=$((16443 + off))
	KCM_PORT=$((10257 + off))
	SCHEDULER_PORT=$((10259 + off))
	KWOK_PORT=$((10247 + off))
	ALL_PORTS=("$ETCD_PORT" "$ETCD_PEER_PORT" "$ETCD_METRICS_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_PORT")
}

# Start order; `down` uses the reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

START=$SECONDS
log() { printf '[cluster %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { die "usage: $0 up|down|env|status|restart-apiserver [DIR]"; }

# ---------------------------------------------------------------------------------------------
# helpers

# shellcheck source=hack/lib.sh
source "$HACK_DIR/lib.sh"

pid_of() {
	local f=$STATE/pids/$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	# Only trust the pid if it is still our binary (pids get reused).
	local exe
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$BIN_DIR/$1" ]] || return 1
	echo "$pid"
}

# still_running COMPONENT: whether the process just started for it lives. Unlike pid_of it
# does not insist on the binary: for a moment after the start the process is still the
# subshell, then setsid, before they exec it (seen as a false "exited during startup" on a
# loaded machine). The pid was written by this script a moment ago, so it cannot be reused.
still_running() {
	local f=$STATE/pids/$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# A zombie (exited, not yet reaped) is not running.
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

tail_log() {
	local f=$STATE/logs/$1.log
	[[ -f $f ]] || return 0
	echo "----- last 40 lines of $f -----" >&2
	tail -n 40 "$f" >&2
	echo "-----" >&2
}

curl_admin() {
	curl -fsS --max-time 5 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" "$@"
}

# wait_for COMPONENT WHAT CHECK_CMD...: polls CHECK_CMD until it succeeds, the component dies,
# or UP_TIMEOUT passes. On failure prints the component's log tail and exits.
wait_for() {
	local component=$1 what=$2
	shift 2
	local deadline=$((SECONDS + UP_TIMEOUT)) t0=$SECONDS
	until "$@" >/dev/null 2>&1; do
		if ! still_running "$component"; then
			tail_log "$component"
			die "$component exited during startup (log: $STATE/logs/$component.log)"
		fi
		if ((SECONDS >= deadline)); then
			tail_log "$component"
			die "$component: $what: not after ${UP_TIMEOUT}s (log: $STATE/logs/$component.log)"
		fi
		sleep 0.2
	done
	log "$component: $what ($((SECONDS - t0))s)"
}

# start COMPONENT ARGS...: starts BIN_DIR/COMPONENT in its own session, logs to DIR/logs.
start() {
	local component=$1
	shift
	local bin=$BIN_DIR/$component
	[[ -x $bin ]] || die "missing $bin (run hack/build-tools.sh cluster)"
	# setsid: detach from the caller's process group so a Ctrl-C there does not kill it.
	(cd "$STATE" && exec setsid "$bin" "$@" </dev/null >"$STATE/logs/$component.log" 2>&1) &
	echo $! >"$STATE/pids/$component.pid"
	log "started $component (pid $!)"
}

# ---------------------------------------------------------------------------------------------
# PKI and kubeconfigs

# sign NAME SUBJECT EXTENSIONS: a key + certificate signed by the local CA.
sign() {
	local name=$1 subj=$2 ext=$3 pki=$STATE/pki
	printf '%s\n' "$ext" >"$pki/$name.ext"
	openssl req -new -newkey rsa:2048 -nodes -subj "$subj" \
		-keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
	openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
	rm -f "$pki/$name.csr" "$pki/$name.ext"
}

gen_pki() {
	local pki=$STATE/pki
	if [[ -f $pki/.complete ]]; then
		return 0
	fi
	log "generating PKI in $pki"
	rm -rf "$pki"
	mkdir -p "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=kspan-local-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
	local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
	sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	sign admin "/O=system:masters/CN=kubernetes-admin" "$client"
	sign controller-manager "/CN=system:kube-controller-manager" "$client"
	sign scheduler "/CN=system:kube-scheduler" "$client"
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	touch "$pki/.complete"
}

# kubeconfig FILE USER: a kubeconfig with paths relative to its own folder (DIR).
kubeconfig() {
	cat >"$STATE/$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: pki/ca.crt
users:
- name: $2
  user:
    client-certificate: pki/$2.crt
    client-key: pki/$2.key
contexts:
- name: local
  context:
    cluster: local
    user: $2
current-context: local
EOF
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
	local running=() c
	for c in "${COMPONENTS[@]}"; do
		if pid_of "$c" >/dev/null; then running+=("$c"); fi
	done
	((${#running[@]} == 0)) || die "already running in $STATE: ${running[*]} (run: $0 down $STATE)"
	local busy=() p
	for p in "${ALL_PORTS[@]}"; do
		if port_in_use "$p"; then busy+=("$p"); fi
	done
	((${#busy[@]} == 0)) || die "ports already in use on 127.0.0.1: ${busy[*]} (another cluster running? PORT_OFFSET=N shifts all ports)"
	command -v kubectl >/dev/null || die "kubectl is not on PATH"

	if [[ ${SKIP_BUILD:-0} != 1 ]]; then
		"$HACK_DIR/build-tools.sh" cluster >&2
	fi
	START=$SECONDS
	for c in "${COMPONENTS[@]}"; do
		[[ -x $BIN_DIR/$c ]] || die "missing $BIN_DIR/$c (run hack/build-tools.sh cluster)"
	done

	# From here on, a failure stops whatever this `up` started (KEEP_ON_FAILURE=1 keeps it).
	trap up_failed EXIT
	rm -rf "$STATE/etcd" "$STATE/logs" "$STATE/pids"
	mkdir -p "$STATE/logs" "$STATE/pids"
	echo "${PORT_OFFSET:-0}" >"$STATE/ports"
	gen_pki
	kubeconfig kubeconfig admin
	kubeconfig controller-manager.kubeconfig controller-manager
	kubeconfig scheduler.kubeconfig scheduler
	export KUBECONFIG=$STATE/kubeconfig

	start etcd --name=kspan-local --data-dir="$STATE/etcd" --unsafe-no-fsync \
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster="kspan-local=http://127.0.0.1:$ETCD_PEER_PORT" \
		--listen-metrics-urls="http://127.0.0.1:$ETCD_METRICS_PORT" --log-level=warn
	wait_for etcd healthy curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

	# An audit log (metadata only) lets tests count who asked the apiserver for what.
	cat >"$STATE/audit-policy.yaml" <<-'POLICY'
	apiVersion: audit.k8s.io/v1
	kind: Policy
	omitStages: [RequestReceived]
	rules:
	- level: Metadata
	POLICY
	start_apiserver

	start kube-controller-manager --kubeconfig=controller-manager.kubeconfig \
		--authentication-kubeconfig=controller-manager.kubeconfig --authorization-kubeconfig=controller-manager.kubeconfig \
		--bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false --use-service-account-credentials=true \
		--service-account-private-key-file=pki/sa.key --root-ca-file=pki/ca.crt \
		--cluster-signing-cert-file=pki/ca.crt --cluster-signing-key-file=pki/ca.key --profiling=false
	start kube-scheduler --kubeconfig=scheduler.kubeconfig \
		--authentication-kubeconfig=scheduler.kubeconfig --authorization-kubeconfig=scheduler.kubeconfig \
		--bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --leader-elect=false --profiling=false
	local stages=() f
	for f in "$KWOK_STAGES_DIR"/*.yaml; do stages+=("--config=$f"); done
	((${#stages[@]} > 0)) || die "no kwok stage files in $KWOK_STAGES_DIR"
	start kwok --kubeconfig=kubeconfig --manage-all-nodes=false \
		--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--server-address="127.0.0.1:$KWOK_PORT" --node-ip=127.0.0.2 --cidr=127.1.0.0/16 "${stages[@]}"
	wait_for kube-controller-manager healthy curl -kfsS --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz"
	wait_for kube-scheduler healthy curl -kfsS --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz"
	wait_for kwok healthy curl -fsS --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz"

	create_nodes
	wait_for kwok "$KWOK_NODES nodes Ready" nodes_ready
	wait_for kube-controller-manager "ServiceAccount default/default exists" kubectl get serviceaccount default --namespace default
	trap - EXIT
	log "cluster ready in $((SECONDS - START))s; state in $STATE"
	cmd_env
}

up_failed() {
	local rc=$?
	trap - EXIT
	((rc != 0)) || return 0
	if [[ ${KEEP_ON_FAILURE:-0} == 1 ]]; then
		log "up failed; KEEP_ON_FAILURE=1, leaving started components running (logs: $STATE/logs)"
	else
		log "up failed; stopping what was started (logs kept in $STATE/logs)"
		cmd_down || true
	fi
	exit "$rc"
}

create_nodes() {
	local i manifest=""
	for ((i = 0; i < KWOK_NODES; i++)); do
		manifest+="---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: \"0\"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/agent: \"\"
spec: {}
status:
  allocatable: {cpu: \"32\", memory: 256Gi, pods: \"110\"}
  capacity: {cpu: \"32\", memory: 256Gi, pods: \"110\"}
"
	done
	printf '%s' "$manifest" | kubectl apply -f - >/dev/null
	log "created $KWOK_NODES kwok nodes (kwok-node-0..$((KWOK_NODES - 1)), no taints, label type=kwok)"
}

nodes_ready() {
	local ready
	ready=$(kubectl get nodes -l type=kwok \
		-o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')
	((ready >= KWOK_NODES))
}

# stop COMPONENT: SIGTERM, wait DOWN_TIMEOUT seconds, then SIGKILL.
stop() {
	local component=$1 pid t0=$SECONDS
	if ! pid=$(pid_of "$component"); then
		rm -f "$STATE/pids/$component.pid"
		return 0
	fi
	stop_pid "$component" "$pid"
	rm -f "$STATE/pids/$component.pid"
	log "stopped $component (pid $pid, $((SECONDS - t0))s)"
}

cmd_down() {
	local i
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		stop "${COMPONENTS[i]}"
	done
	local busy=() p
	for p in "${ALL_PORTS[@]}"; do
		if port_in_use "$p"; then busy+=("$p"); fi
	done
	((${#busy[@]} == 0)) || die "stopped, but ports still in use: ${busy[*]}"
	log "cluster down ($((SECONDS - START))s)"
}

# start_apiserver: starts kube-apiserver and waits until it is ready.
start_apiserver() {
	start kube-apiserver --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
		--audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$STATE/audit.log" \
		--audit-log-maxsize=200 --audit-log-maxbackup=1 \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
		--tls-cert-file=pki/apiserver.crt --tls-private-key-file=pki/apiserver.key --client-ca-file=pki/ca.crt \
		--service-account-issuer="https://127.0.0.1:$APISERVER_PORT" --service-account-key-file=pki/sa.pub \
		--service-account-signing-key-file=pki/sa.key --service-cluster-ip-range=10.0.0.0/24 \
		--endpoint-reconciler-type=none --authorization-mode=RBAC --allow-privileged=true --profiling=false
	wait_for kube-apiserver healthy curl_admin "https://127.0.0.1:$APISERVER_PORT/readyz"
}

# cmd_restart_apiserver: stops the apiserver (the other components and the clients' watches see
# it go away), compacts etcd to its current revision while it is down when COMPACT=1 (so that a
# watch resumed from an older resourceVersion gets 410 Gone and relists), and starts it again.
cmd_restart_apiserver() {
	pid_of kube-apiserver >/dev/null || die "kube-apiserver is not running in $STATE"
	stop kube-apiserver
	if [[ ${COMPACT:-0} == 1 ]]; then
		local rev
		rev=$(curl -fsS --max-time 5 -X POST -d '{"key":"AA=="}' "http://127.0.0.1:$ETCD_PORT/v3/kv/range" |
			sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
		[[ $rev =~ ^[0-9]+$ ]] || die "could not read etcd's revision"
		curl -fsS --max-time 30 -X POST -d "{\"revision\":\"$rev\",\"physical\":true}" \
			"http://127.0.0.1:$ETCD_PORT/v3/kv/compaction" >/dev/null || die "etcd compaction failed"
		log "etcd compacted to revision $rev"
	fi
	start_apiserver
}

cmd_env() {
	printf 'export KUBECONFIG=%q\n' "$STATE/kubeconfig"
}

cmd_status() {
	local c pid rc=0 health
	for c in "${COMPONENTS[@]}"; do
		if pid=$(pid_of "$c"); then
			case $c in
			etcd) health=$(curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>&1) || rc=1 ;;
			kube-apiserver) health=$(curl_admin "https://127.0.0.1:$APISERVER_PORT/readyz" 2>&1) || rc=1 ;;
			kube-controller-manager) health=$(curl -kfsS --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" 2>&1) || rc=1 ;;
			kube-scheduler) health=$(curl -kfsS --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz" 2>&1) || rc=1 ;;
			kwok) health=$(curl -fsS --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz" 2>&1) || rc=1 ;;
			esac
			printf '%-24s pid %-8s %s\n' "$c" "$pid" "$health"
		else
			printf '%-24s not running\n' "$c"
			rc=1
		fi
	done
	return "$rc"
}

main() {
	[[ $# -ge 1 && $# -le 2 ]] || usage
	local cmd=$1
	STATE=${2:-$ROOT_DIR/.cache/cluster}
	mkdir -p "$STATE"
	STATE=$(cd "$STATE" && pwd)
	if [[ $cmd == up ]]; then
		set_ports "${PORT_OFFSET:-0}"
	else
		set_ports "$(cat "$STATE/ports" 2>/dev/null || echo 0)"
	fi
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	env) cmd_env ;;
	status) cmd_status ;;
	restart-apiserver) cmd_restart_apiserver ;;
	*) usage ;;
	esac
}

main "$@"
