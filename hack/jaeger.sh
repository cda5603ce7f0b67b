#!/usr/bin/env bash
# Jaeger v2 on 127.0.0.1 with in-memory storage (config: hack/jaeger/config.yaml):
#   OTLP gRPC 127.0.0.1:4317, OTLP HTTP 127.0.0.1:4318, query API http://127.0.0.1:16686
#   (each port plus PORT_OFFSET, so that several instances can run side by side)
#
# Usage: hack/jaeger.sh up|down|status [DIR]
#   DIR  state folder for the pid file and log (default: <repo>/.cache/jaeger)
#   up   builds the binary if needed (hack/build-tools.sh jaeger; SKIP_BUILD=1 skips that),
#        starts Jaeger and waits until the query API answers.
# Env: BIN_DIR (default <repo>/.cache/bin), UP_TIMEOUT (default 60), DOWN_TIMEOUT (default 20),
#      PORT_OFFSET (default 0), STORAGE (memory, the default, or badger: spans kept on disk in
#      DIR/badger, so they survive a restart of the same DIR). Both are recorded in DIR by up;
#      later commands on the same DIR reuse them unless set.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT_DIR/.cache/bin}
mkdir -p "$BIN_DIR"
BIN_DIR=$(cd "$BIN_DIR" && pwd -P)
CONFIG=$HACK_DIR/jaeger/config.yaml
UP_TIMEOUT=${UP_TIMEOUT:-60}
DOWN_TIMEOUT=${DOWN_TIMEOUT:-20}

# set_ports PORT_OFFSET: the ports of this instance; a non-zero offset gets its own copy of the
# config in the state folder with every port moved.
set_ports() {
	local off=$1
	if ! [[ $off =~ ^[0-9]+$ ]] || ((off + 16686 > 65535)); then
		die "PORT_OFFSET=$off: want a number from 0 to $((65535 - 16686))"
	fi
	GRPC_PORT=$((4317 + off)) HTTP_PORT=$((4318 + off))
	QUERY_GRPC_PORT=$((16685 + off)) QUERY_PORT=$((16686 + off))
	QUERY_URL=http://127.0.0.1:$QUERY_PORT
	PORTS=("$GRPC_PORT" "$HTTP_PORT" "$QUERY_GRPC_PORT" "$QUERY_PORT")
	if ((off != 0)) || [[ $STORAGE != memory ]]; then
		CONFIG=$STATE/config.yaml
	fi
}

write_config() {
	[[ $CONFIG == "$HACK_DIR/jaeger/config.yaml" ]] && return 0
	sed -e "s/127\.0\.0\.1:4317\b/127.0.0.1:$GRPC_PORT/g" -e "s/127\.0\.0\.1:4318\b/127.0.0.1:$HTTP_PORT/g" \
		-e "s/127\.0\.0\.1:16685\b/127.0.0.1:$QUERY_GRPC_PORT/g" -e "s/127\.0\.0\.1:16686\b/127.0.0.1:$QUERY_PORT/g" \
		"$HACK_DIR/jaeger/config.yaml" >"$CONFIG.tmp"
	if [[ $STORAGE == badger ]]; then
		# Replace the memory backend (two lines) with badger; the backend keeps its name.
		sed -i -e '/^        memory:$/{N;c\
        badger:\
          directories:\
            keys: '"$STATE"'/badger/keys\
            values: '"$STATE"'/badger/values\
          ephemeral: false\
          ttl:\
            spans: 24h
}' "$CONFIG.tmp"
		grep -q '^        badger:$' "$CONFIG.tmp" || die "could not switch $CONFIG to badger storage"
	fi
	mv -f "$CONFIG.tmp" "$CONFIG"
}

START=$SECONDS
log() { printf '[jaeger %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=hack/lib.sh
source "$HACK_DIR/lib.sh"

pid_of() {
	local f=$STATE/jaeger.pid pid exe
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$BIN_DIR/jaeger" ]] || return 1
	echo "$pid"
}

# still_running: whether the process just started lives. Unlike pid_of it does not insist
# on the binary: for a moment after the start the process is still the subshell, then
# setsid, before they exec jaeger (a false "exited during startup" on a loaded machine, as
# hack/cluster.sh saw too). The pid was written by this script a moment ago.
still_running() {
	local f=$STATE/jaeger.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# A zombie (exited, not yet reaped) is not running.
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

tail_log() {
	echo "----- last 40 lines of $STATE/jaeger.log -----" >&2
	tail -n 40 "$STATE/jaeger.log" >&2 || true
	echo "-----" >&2
}

cmd_up() {
	if pid=$(pid_of); then die "already running (pid $pid); run: $0 down $STATE"; fi
	local busy=() p
	for p in "${PORTS[@]}"; do
		if port_in_use "$p"; then busy+=("$p"); fi
	done
	((${#busy[@]} == 0)) || die "ports already in use on 127.0.0.1: ${busy[*]}"
	if [[ ${SKIP_BUILD:-0} != 1 ]]; then
		"$HACK_DIR/build-tools.sh" jaeger >&2
	fi
	START=$SECONDS
	[[ -x $BIN_DIR/jaeger ]] || die "missing $BIN_DIR/jaeger (run hack/build-tools.sh jaeger)"
	write_config
	printf 'PORT_OFFSET=%s\nSTORAGE=%s\n' "$PORT_OFFSET" "$STORAGE" >"$STATE/instance"

	(cd "$STATE" && exec setsid "$BIN_DIR/jaeger" --config "$CONFIG" </dev/null >"$STATE/jaeger.log" 2>&1) &
	echo $! >"$STATE/jaeger.pid"
	log "started jaeger (pid $!), log $STATE/jaeger.log"

	local deadline=$((SECONDS + UP_TIMEOUT))
	until curl -fsS --max-time 2 "$QUERY_URL/api/services" >/dev/null 2>&1 &&
		port_in_use "$GRPC_PORT" && port_in_use "$HTTP_PORT"; do
		if ! still_running; then
			tail_log
			die "jaeger exited during startup"
		fi
		if ((SECONDS >= deadline)); then
			tail_log
			die "jaeger not ready after ${UP_TIMEOUT}s"
		fi
		sleep 0.2
	done
	log "jaeger ready in $((SECONDS - START))s: OTLP grpc 127.0.0.1:$GRPC_PORT, http 127.0.0.1:$HTTP_PORT, query $QUERY_URL"
}

cmd_down() {
	local pid
	if ! pid=$(pid_of); then
		rm -f "$STATE/jaeger.pid"
		log "jaeger not running"
		return 0
	fi
	stop_pid jaeger "$pid"
	rm -f "$STATE/jaeger.pid"
	log "stopped jaeger (pid $pid) in $((SECONDS - START))s"
}

cmd_status() {
	local pid
	pid=$(pid_of) || { echo "jaeger not running"; return 1; }
	printf 'jaeger pid %s, query API: ' "$pid"
	curl -fsS --max-time 2 "$QUERY_URL/api/services"
	echo
}

main() {
	[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 up|down|status [DIR]"
	STATE=${2:-$ROOT_DIR/.cache/jaeger}
	mkdir -p "$STATE"
	STATE=$(cd "$STATE" && pwd)
	if [[ -f $STATE/instance ]]; then
		local line
		while IFS= read -r line; do
			case $line in
			PORT_OFFSET=*) PORT_OFFSET=${PORT_OFFSET:-${line#*=}} ;;
			STORAGE=*) STORAGE=${STORAGE:-${line#*=}} ;;
			esac
		done <"$STATE/instance"
	fi
	PORT_OFFSET=${PORT_OFFSET:-0}
	STORAGE=${STORAGE:-memory}
	[[ $STORAGE == memory || $STORAGE == badger ]] || die "STORAGE=$STORAGE: want memory or badger"
	set_ports "$PORT_OFFSET"
	case $1 in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	*) die "usage: $0 up|down|status [DIR]" ;;
	esac
}

main "$@"
