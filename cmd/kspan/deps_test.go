package main

import (
	"os/exec"
	"strings"
	"testing"
)

// kspan must not link text/template (html/template uses it): it calls
// methods by name through reflection, and then the linker keeps every
// exported method of every linked type, which doubled the binary and added
// 12 MB to kspan's resident memory (internal/web/render.go). gRPC links it
// through golang.org/x/net/trace unless built with -tags grpcnotrace, as the
// Makefile, the Dockerfile and the live benchmark build it.
func TestNoTextTemplate(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "grpcnotrace", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "text/template" {
			t.Fatal("kspan links text/template: see internal/web/render.go for why it must not")
		}
	}
}
