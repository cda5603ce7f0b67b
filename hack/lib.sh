# shellcheck shell=bash
# Helpers shared by hack/cluster.sh and hack/jaeger.sh (sourced; they define log and DOWN_TIMEOUT).

# alive PID: the process exists and is not a zombie. (PID 1 here reaps orphans only after ~2s,
# and `kill -0` succeeds on a zombie.)
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pid NAME PID: SIGTERM, wait DOWN_TIMEOUT seconds, then SIGKILL and wait up to 5s more.
stop_pid() {
	local name=$1 pid=$2
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + DOWN_TIMEOUT))
	while alive "$pid"; do
		if ((SECONDS >= deadline)); then
			log "$name (pid $pid) still running after ${DOWN_TIMEOUT}s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 5))
			while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
			break
		fi
		sleep 0.1
	done
}
