package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/flags.md")

// docs/flags.md is what FlagsReference writes from the flag definitions.
func TestFlagsReference(t *testing.T) {
	var b bytes.Buffer
	if err := FlagsReference(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "flags.md")
	if *updateDocs {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/cli -run TestFlagsReference -update writes it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s is out of date with the flag definitions: go test ./internal/cli -run TestFlagsReference -update", path)
	}
	for _, name := range []string{"-kubeconfig", "-reorder-window", "-otlp-endpoint", "-window"} {
		if !bytes.Contains(want, []byte("`"+name+"`")) {
			t.Errorf("%s lacks %s", path, name)
		}
	}
}
