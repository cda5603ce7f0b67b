package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestViewerRule(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ui        string
		output    string
		file      string
		live      bool
		addr      string
		wantAsked bool
	}{
		{"live, nothing asked", "auto", "tree", "", true, DefaultUIAddr, false},
		{"live, otlp-json", "auto", "otlp-json", "", true, "", false},
		{"live, output file", "auto", "tree", "out.txt", true, "", false},
		{"live, off", "off", "tree", "", true, "", false},
		{"live, OTLP export", "auto", "tree", "", true, "", false},
		{"live, asked beside otlp-json", "127.0.0.1:9000", "otlp-json", "", true, "127.0.0.1:9000", true},
		{"live, a port", "9000", "tree", "", true, "127.0.0.1:9000", true},
		{"live, every interface", ":9000", "tree", "", true, ":9000", true},
		{"replay, nothing asked", "auto", "tree", "", false, "", false},
		{"replay, asked", "localhost:0", "tree", "", false, "localhost:0", true},
	} {
		cfg := defaultConfig(func(string) string { return "" })
		cfg.UI.Addr, cfg.Output, cfg.OutputFile = tc.ui, tc.output, tc.file
		if strings.Contains(tc.name, "OTLP") {
			cfg.OTLP.Endpoint = "http://127.0.0.1:4318"
		}
		if err := cfg.complete(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		addr, asked := viewerAddr(cfg, tc.live)
		if addr != tc.addr || asked != tc.wantAsked {
			t.Errorf("%s: %q asked=%v, want %q asked=%v", tc.name, addr, asked, tc.addr, tc.wantAsked)
		}
	}
	for _, bad := range []string{"nope", "127.0.0.1", "99999", "host:"} {
		cfg := defaultConfig(func(string) string { return "" })
		cfg.UI.Addr = bad
		if err := cfg.complete(); err == nil {
			t.Errorf("-ui %q accepted", bad)
		}
	}
	for _, bad := range []string{"http://kspan.example.com", "kspan.example.com:7380", "a b"} {
		cfg := defaultConfig(func(string) string { return "" })
		cfg.UI.AllowedHosts = bad
		if err := cfg.complete(); err == nil || !strings.Contains(err.Error(), "-ui-allowed-hosts") {
			t.Errorf("-ui-allowed-hosts %q: %v", bad, err)
		}
	}
}

// syncBuffer is written by the command while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// kspan replay --ui replays, prints the tree as before, serves the viewer
// until interrupted, and exits cleanly.
func TestReplayServesViewerUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"replay", "--ui", "127.0.0.1:0", "-ui-allowed-hosts", "kspan.example.com", v0}, Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	}()

	urlRE := regexp.MustCompile(`serving the viewer until interrupted" url=(http://127\.0\.0\.1:\d+/)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("kspan stopped before serving: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no viewer URL logged:\n%s", stderr.String())
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Deployment default/px") {
		t.Errorf("GET %s: %d %v\n%.500s", url, resp.StatusCode, err, body)
	}
	// The Host check is on, with the names given.
	for host, want := range map[string]int{"evil.example.com": http.StatusMisdirectedRequest, "kspan.example.com:7380": http.StatusOK, "localhost:8080": http.StatusOK} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
	if !strings.Contains(stdout.String(), "● Deployment default/px") {
		t.Errorf("the tree was not printed:\n%s", stdout.String())
	}

	cancel()
	select {
	case err := <-done:
		if code := ExitCode(err); code != ExitOK {
			t.Errorf("exit %d: %v", code, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kspan did not stop when interrupted")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the viewer still answers after kspan stopped")
	}
}

func TestReplayViewerAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out bytes.Buffer
	err = Run(t.Context(), []string{"replay", "-ui", ln.Addr().String(), v0}, Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	if ExitCode(err) != ExitFailed || !strings.Contains(fmt.Sprint(err), "listening for the viewer") || out.Len() > 0 {
		t.Errorf("exit %d (%v), %d bytes of output", ExitCode(err), err, out.Len())
	}
}
