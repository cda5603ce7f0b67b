package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// A replay collects garbage at ReplayGCPercent unless GOGC says otherwise.
func TestReplayMemory(t *testing.T) {
	rate := runtime.MemProfileRate
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig); runtime.MemProfileRate = rate })

	replayMemory(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != ReplayGCPercent {
		t.Errorf("GC percent without GOGC = %d, want %d", got, ReplayGCPercent)
	}
	if runtime.MemProfileRate != 0 {
		t.Errorf("heap profile sampling left on (rate %d)", runtime.MemProfileRate)
	}
	replayMemory(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent with GOGC set = %d, want it left as it was (100)", got)
	}
}
