package cli

import (
	"strings"
	"testing"
)

// TestReplayDevZero: an endless input without a newline ends the replay
// with a clear error and the exit status of skipped input, not out of
// memory.
func TestReplayDevZero(t *testing.T) {
	_, errs, code := run(t, nil, "replay", "/dev/zero", v0)
	if code != ExitSkipped {
		t.Errorf("exit %d, want %d", code, ExitSkipped)
	}
	if !strings.Contains(errs, "where=/dev/zero:1 error=\"binary data") {
		t.Errorf("stderr does not say /dev/zero is binary data:\n%s", errs)
	}
}
