package replay

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
)

// runUntilDone runs Run in a goroutine and fails if it has not returned a
// minute after ctx is done: the test is that it returns at all.
func runUntilDone(t *testing.T, ctx context.Context, opt Options) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, opt)
		done <- err
	}()
	<-ctx.Done()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute): // a bound on a hang, not a wait
		t.Fatal("Run did not return after its context was cancelled")
		return nil
	}
}

// A signal while stdin is open but silent stops the replay, which says
// where the input was cut.
func TestInterruptReadingStdin(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Write returns once the replay has read the line: it is blocked
		// on the open pipe then.
		_, _ = pw.Write([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}` + "\n"))
		cancel()
	}()
	err := runUntilDone(t, ctx, Options{Files: []string{"-"}, Stdin: pr, Engine: correlate.Defaults, Sink: &collect{},
		Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "interrupted while reading <stdin>") || !strings.Contains(err.Error(), "nothing was replayed") {
		t.Errorf("error %v, want one saying the reading of <stdin> was interrupted", err)
	}
}

// A signal while opening a FIFO that no writer opens stops the replay.
func TestInterruptOpeningFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Let the goroutine blocked opening it go (if it got that far).
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := runUntilDone(t, ctx, Options{Files: []string{fifo, "other.json"}, Engine: correlate.Defaults, Sink: &collect{},
		Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "interrupted while reading "+fifo+" (1 more file(s) not read)") {
		t.Errorf("error %v, want one saying the FIFO was being read and one file was not", err)
	}
}

// A signal while a FIFO's writer keeps it open but silent stops the
// replay, and the reading goroutine is released by closing the FIFO.
func TestInterruptReadingFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once the replay opened it
		if err != nil {
			cancel()
			return
		}
		t.Cleanup(func() { w.Close() })
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}` + "\n"))
		cancel()
	}()
	err := runUntilDone(t, ctx, Options{Files: []string{fifo}, Engine: correlate.Defaults, Sink: &collect{},
		Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "interrupted while reading "+fifo) {
		t.Errorf("error %v, want one saying the reading of the FIFO was interrupted", err)
	}
}

// A signal while a capture on stdin is open but silent stops the replay
// where it is: the capture is replayed as it is read, so what came before
// was decided, and the error says how far it got.
func TestInterruptStreamingCapture(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := &readCalls{r: pr, second: make(chan struct{})}
	go func() {
		_, _ = pw.Write([]byte(`{"kspan":"capture","version":1,"started":"2026-12-01T00:00:00Z"}` + "\n" +
			`{"t":"2026-12-01T00:00:01Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u1"}}}` + "\n" +
			`{"t":"2026-12-01T00:10:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q","namespace":"n","uid":"u2"}}}` + "\n"))
		<-r.second // the lines were handed to the replay, which waits for more
		cancel()
	}()
	err := runUntilDone(t, ctx, Options{Files: []string{"-"}, Stdin: r, Engine: correlate.Defaults, Sink: &collect{},
		Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "interrupted while reading <stdin> after 1 records") {
		t.Errorf("error %v, want one saying <stdin> was cut after the record decided before", err)
	}
}

// readCalls closes second when Read is called a second time: the reading
// goroutine has handed on what the first call read.
type readCalls struct {
	r      io.Reader
	n      int
	second chan struct{}
}

func (c *readCalls) Read(p []byte) (int, error) {
	if c.n++; c.n == 2 {
		close(c.second)
	}
	return c.r.Read(p)
}
