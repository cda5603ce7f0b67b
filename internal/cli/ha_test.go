package cli

import (
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/leader"
)

func TestParseCheckpoint(t *testing.T) {
	for _, c := range []struct{ in, kind, target string }{
		{"none", "none", ""},
		{"", "none", ""},
		{"file:/var/lib/kspan/checkpoint", "file", "/var/lib/kspan/checkpoint"},
		{"configmap:kspan/kspan-checkpoint", "configmap", "kspan/kspan-checkpoint"},
		{"file:", "", ""},
		{"configmap:kspan", "", ""},
		{"configmap:/name", "", ""},
		{"configmap:a/b/c", "", ""},
		{"s3://bucket", "", ""},
	} {
		kind, target, err := parseCheckpoint(c.in)
		if kind != c.kind || target != c.target || (err != nil) != (c.kind == "") {
			t.Errorf("parseCheckpoint(%q) = %q, %q, %v; want %q, %q", c.in, kind, target, err, c.kind, c.target)
		}
	}
}

func TestHAFlagsComplete(t *testing.T) {
	ok := haFlags{Checkpoint: "none", CheckpointInterval: time.Second, CheckpointMax: 10, LeaderElect: true, Lease: leader.Defaults}
	ok.Lease.Namespace = "kspan"
	if err := ok.complete(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	file := ok
	file.Checkpoint = "file:/var/lib/kspan/journal"
	if err := file.complete(); err != nil || file.checkpointKind != "file" || file.checkpointTarget != "/var/lib/kspan/journal" {
		t.Errorf("-checkpoint %s: %v, kind %q, target %q", file.Checkpoint, err, file.checkpointKind, file.checkpointTarget)
	}
	bad := ok
	bad.Lease.LeaseDuration = bad.Lease.RenewDeadline
	if bad.complete() == nil {
		t.Error("a lease no longer than the renew deadline was accepted")
	}
	bad = ok
	bad.Checkpoint = "configmap:x"
	if bad.complete() == nil {
		t.Error("a bad -checkpoint was accepted")
	}
}

func TestSelectorFlag(t *testing.T) {
	c := defaultConfig(func(string) string { return "" })
	c.Selector = "app in (web,api),tier!=cache"
	if err := c.complete(); err != nil {
		t.Fatal(err)
	}
	if c.Engine.Selector == nil || len(c.Engine.Index.LabelKeys) != 2 {
		t.Errorf("selector %v, label keys %v: want the selector and its keys app, tier", c.Engine.Selector, c.Engine.Index.LabelKeys)
	}
	c = defaultConfig(func(string) string { return "" })
	c.Selector = "app in web"
	if err := c.complete(); err == nil {
		t.Error("a malformed -selector was accepted")
	}
}
