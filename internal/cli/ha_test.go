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

func TestHAFlagsValidate(t *testing.T) {
	ok := haFlags{Checkpoint: "none", CheckpointInterval: time.Second, CheckpointMax: 10, LeaderElect: true, Lease: leader.Defaults}
	ok.Lease.Namespace = "kspan"
	if err := ok.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := ok
	bad.Lease.LeaseDuration = bad.Lease.RenewDeadline
	if bad.validate() == nil {
		t.Error("a lease no longer than the renew deadline was accepted")
	}
	bad = ok
	bad.Checkpoint = "configmap:x"
	if bad.validate() == nil {
		t.Error("a bad -checkpoint was accepted")
	}
}

func TestSelectorFlag(t *testing.T) {
	c := defaultConfig(func(string) string { return "" })
	c.Selector = "app in (web,api),tier!=cache"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Engine.Selector == nil || len(c.Engine.Index.LabelKeys) != 2 {
		t.Errorf("selector %v, label keys %v: want the selector and its keys app, tier", c.Engine.Selector, c.Engine.Index.LabelKeys)
	}
	c = defaultConfig(func(string) string { return "" })
	c.Selector = "app in web"
	if err := c.Validate(); err == nil {
		t.Error("a malformed -selector was accepted")
	}
}
