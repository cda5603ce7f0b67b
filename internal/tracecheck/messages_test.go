package tracecheck

import "testing"

func TestParseMention(t *testing.T) {
	for _, c := range []struct {
		kind, msg string
		want      mention
		ok        bool
	}{
		{"ReplicaSet", "Created pod: web-1-a", mention{create, "Pod", "web-1-a"}, true},
		{"ReplicaSet", "Deleted pod: web-1-a", mention{remove, "Pod", "web-1-a"}, true},
		{"ReplicationController", "Created pod: rc-x", mention{create, "Pod", "rc-x"}, true},
		{"DaemonSet", "Created pod: agent-x", mention{create, "Pod", "agent-x"}, true},
		{"Job", "Created pod: once-x", mention{create, "Pod", "once-x"}, true},
		{"StatefulSet", "create Pod db-0 in StatefulSet db successful", mention{create, "Pod", "db-0"}, true},
		{"StatefulSet", "Create Pod db-1 in StatefulSet db successful", mention{create, "Pod", "db-1"}, true},
		{"StatefulSet", "delete Pod db-2 in StatefulSet db successful", mention{remove, "Pod", "db-2"}, true},
		{"CronJob", "Created job tick-29924397", mention{create, "Job", "tick-29924397"}, true},
		{"CronJob", "Deleted job tick-29924397", mention{remove, "Job", "tick-29924397"}, true},
		{"Deployment", "Scaled up replica set web-1 from 0 to 3", mention{scaleUp, "ReplicaSet", "web-1"}, true},
		{"Deployment", "Scaled down replica set px-7df978b9bf to 1", mention{scaleDown, "ReplicaSet", "px-7df978b9bf"}, true},
		{"Deployment", "(combined from similar events): Scaled up replica set web-2 from 1 to 2", mention{scaleUp, "ReplicaSet", "web-2"}, true},
		{"ReplicaSet", "(combined from similar events): Created pod: web-1-z", mention{create, "Pod", "web-1-z"}, true},
		// the right words on the wrong kind, or other messages
		{"Pod", "Created pod: web-1-a", mention{}, false},
		{"Deployment", "Created pod: web-1-a", mention{}, false},
		{"CronJob", "Saw completed job: tick-1, condition: Complete", mention{}, false},
		{"StatefulSet", "create Pod db-0 in StatefulSet db failed error: quota", mention{}, false},
		{"Pod", "Created container: nginx", mention{}, false},
	} {
		got, ok := parseMention(c.kind, c.msg)
		if ok != c.ok || got != c.want {
			t.Errorf("parseMention(%q, %q) = %+v, %v; want %+v, %v", c.kind, c.msg, got, ok, c.want, c.ok)
		}
	}
}
