package rules

import "testing"

func TestMatch(t *testing.T) {
	tab := NewTable(Default)
	cases := []struct {
		kind, reason, msg string
		want              Mention
		ok                bool
	}{
		{"Deployment", "ScalingReplicaSet", "Scaled up replica set web-7bfb4bc78d from 0 to 3", Mention{SubKind: "ReplicaSet", Name: "web-7bfb4bc78d", Verb: ScaleUp}, true},
		{"Deployment", "ScalingReplicaSet", "Scaled down replica set px-7df978b9bf to 1", Mention{SubKind: "ReplicaSet", Name: "px-7df978b9bf", Verb: ScaleDown}, true},
		{"Deployment", "ScalingReplicaSet", "Scaled down replica set px-7df978b9bf from 2 to 1", Mention{SubKind: "ReplicaSet", Name: "px-7df978b9bf", Verb: ScaleDown}, true},
		{"ReplicaSet", "SuccessfulCreate", "Created pod: web-7bfb4bc78d-2xpnt", Mention{SubKind: "Pod", Name: "web-7bfb4bc78d-2xpnt", Verb: Create}, true},
		{"ReplicaSet", "SuccessfulDelete", "Deleted pod: px-7df978b9bf-jm22q", Mention{SubKind: "Pod", Name: "px-7df978b9bf-jm22q", Verb: Delete}, true},
		{"ReplicaSet", "FailedCreate", "Error creating: pods \"x\" is forbidden", Mention{}, false},
		{"StatefulSet", "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful", Mention{SubKind: "Pod", Name: "db-0", Verb: Create}, true},
		{"StatefulSet", "SuccessfulCreate", "create Claim data-db-0 Pod db-0 in StatefulSet db success", Mention{SubKind: "PersistentVolumeClaim", Name: "data-db-0", Verb: Create}, true},
		{"StatefulSet", "SuccessfulDelete", "delete Pod db-2 in StatefulSet db successful", Mention{SubKind: "Pod", Name: "db-2", Verb: Delete}, true},
		{"StatefulSet", "SuccessfulCreate", "Create Pod db-0 in StatefulSet db successful", Mention{SubKind: "Pod", Name: "db-0", Verb: Create}, true},
		{"StatefulSet", "SuccessfulDelete", "Delete Pod db-1 in StatefulSet db successful", Mention{SubKind: "Pod", Name: "db-1", Verb: Delete}, true},
		{"DaemonSet", "SuccessfulCreate", "Created pod: agent-x7k2p", Mention{SubKind: "Pod", Name: "agent-x7k2p", Verb: Create}, true},
		{"Job", "SuccessfulCreate", "Created pod: pi-abcde", Mention{SubKind: "Pod", Name: "pi-abcde", Verb: Create}, true},
		{"CronJob", "SuccessfulCreate", "Created job hello-29000000", Mention{SubKind: "Job", Name: "hello-29000000", Verb: Create, Episode: "Run"}, true},
		{"CronJob", "SawCompletedJob", "Saw completed job: hello-29000000, status: Complete", Mention{SubKind: "Job", Name: "hello-29000000"}, true},
		{"CronJob", "SuccessfulDelete", "Deleted job hello-28999990", Mention{SubKind: "Job", Name: "hello-28999990", Verb: Delete}, true},
		{"Pod", "SuccessfulCreate", "Created pod: x", Mention{}, false},
		{"Deployment", "ScalingReplicaSet", "(combined from similar events): Scaled up replica set web-56897f48f6 from 1 to 2", Mention{SubKind: "ReplicaSet", Name: "web-56897f48f6", Verb: ScaleUp}, true},
		{"ReplicaSet", "SuccessfulCreate", "Created pod: ", Mention{}, false},
	}
	for _, c := range cases {
		got, ok := tab.Match(c.kind, c.reason, c.msg)
		if ok != c.ok || got != c.want {
			t.Errorf("Match(%q, %q, %q) = %+v, %v; want %+v, %v", c.kind, c.reason, c.msg, got, ok, c.want, c.ok)
		}
	}
}

func FuzzMatch(f *testing.F) {
	tab := NewTable(Default)
	f.Add("ReplicaSet", "SuccessfulCreate", "Created pod: a")
	f.Add("CronJob", "SawCompletedJob", "Saw completed job: j, status: Complete")
	f.Add("ReplicaSet", "SuccessfulCreate", "Created pod: a b")
	f.Add("ReplicaSet", "SuccessfulCreate", "Created pod: a\x85")
	f.Fuzz(func(t *testing.T, kind, reason, msg string) {
		if m, ok := tab.Match(kind, reason, msg); ok && m.Name == "" {
			t.Fatalf("empty name from %q", msg)
		}
		checkLiteral(t, msg)
	})
}

// The literal fast path of ^<literal>(\S+)$ rules agrees with the regexp.
func checkLiteral(t *testing.T, msg string) {
	t.Helper()
	for _, r := range NewTable(Default).byKey[key{"ReplicaSet", "SuccessfulCreate"}] {
		if !r.simple {
			t.Fatalf("%s: not taken as a literal", r.Pattern)
		}
		got, ok := r.find(msg)
		var want string
		m := r.Pattern.FindStringSubmatch(msg)
		if m != nil {
			want = m[1]
		}
		if ok != (m != nil) || got != want {
			t.Errorf("%q: literal path %q %v, regexp %q %v", msg, got, ok, want, m != nil)
		}
	}
}

func TestLiteralRules(t *testing.T) {
	for _, msg := range []string{"Created pod: web-1", "Created pod: ", "Created pod: a b", "Created pod: a\tb", "Created pod: a\n",
		"Created pod: é\u00a0x", "created pod: a", "xCreated pod: a", "Created pod: a\x85", "Created pod: \xff"} {
		checkLiteral(t, msg)
	}
	simple := 0
	for _, rs := range NewTable(Default).byKey {
		for _, r := range rs {
			if r.simple {
				simple++
			}
		}
	}
	if simple < 8 {
		t.Errorf("%d rules on the literal path, want the Created/Deleted ones", simple)
	}
}
