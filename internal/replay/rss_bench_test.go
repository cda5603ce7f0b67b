package replay_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/synth"
)

// BenchmarkReplayPeakRSS replays synthetic captures of 10^5 and 10^6 Events
// (Deployments of 10 pods rolling out in rounds, then deleted: a day of a
// busy cluster) with the kspan binary, to each output, and reports the
// process's peak resident memory and its rate. `make bench-replay` runs it
// and checks the target: under 100 MB at 10^6 Events. KSPAN_BIN names the
// binary; without it the benchmark builds one.
func BenchmarkReplayPeakRSS(b *testing.B) {
	bin := kspanBinary(b)
	outer := b // the captures outlive each sub-benchmark
	for _, n := range []int{100_000, 1_000_000} {
		var path string
		var events, records int
		for _, out := range []string{"otlp-json", "tree"} {
			b.Run(fmt.Sprintf("events=%d/o=%s", n, out), func(b *testing.B) {
				if path == "" {
					path, events, records = writeSynthetic(outer, n)
				}
				var peak int64
				var took time.Duration
				for b.Loop() {
					cmd := exec.Command(bin, "replay", "-o", out, "-output-file", os.DevNull, "-log-level", "warn", path)
					cmd.Stderr = os.Stderr
					start := time.Now()
					if err := cmd.Run(); err != nil {
						b.Fatalf("kspan replay: %v", err)
					}
					took = time.Since(start)
					peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB on Linux
				}
				b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
				b.ReportMetric(float64(events)/took.Seconds(), "events/s")
				b.ReportMetric(float64(records), "records")
			})
		}
	}
}

// writeSynthetic writes a capture of at least n Events.
func writeSynthetic(tb testing.TB, n int) (path string, events, records int) {
	tb.Helper()
	path = filepath.Join(tb.TempDir(), fmt.Sprintf("synthetic-%d.jsonl", n))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	events, records, err = synth.WriteCapture(w, n, 40, 10, 90*time.Second)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path, events, records
}

func kspanBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("KSPAN_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(tb.TempDir(), "kspan")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/kspan-project/kspan/cmd/kspan")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("building kspan: %v", err)
	}
	return bin
}
