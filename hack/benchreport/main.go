// Command benchreport reads `go test -bench` output of internal/correlate's
// benchmarks on standard input and prints the figures of issue 7 as ratios
// against the baseline measured in the same run, each with its target and
// PASS or MISS. The targets are judged on BenchmarkEngineWarm (an engine
// that has run for a while, as a daemon's has) and its own ratios to the
// decoders timed on the same rounds, on the Events as kube-apiserver sends
// them (managedFields included): encoding/json alone (the least any watcher
// pays) and client-go's deserializer (what an informer pays). Beside them:
// the ratio to encoding/json of the Events as kspan's capture holds them
// (managedFields dropped: the earlier, trimmed baseline, for comparison)
// and the new engine's figures. With several runs, each ratio is the median of the per-run
// ratios (engine and baseline run back to back, so they share the machine's
// load of the moment) and each absolute figure the median over the runs. A miss is
// reported, not an error: machines are noisy. It fails only when a figure is
// missing from the input.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// metrics holds every value of each "benchmark unit" pair seen.
type metrics map[string][]float64

// parse reads benchmark result lines: "BenchmarkName[-P] N value unit ...".
func parse(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parse %q: %w", sc.Text(), err)
			}
			k := name + " " + f[i+1]
			m[k] = append(m[k], v)
		}
	}
	return m, sc.Err()
}

func (m metrics) median(name, unit string) (float64, error) {
	v := slices.Clone(m[name+" "+unit])
	if len(v) == 0 {
		return 0, fmt.Errorf("no %s of Benchmark%s in the input", unit, name)
	}
	slices.Sort(v)
	return v[len(v)/2], nil
}

// ratio is the median over runs of a/b, pairing the i-th values; with
// unequal counts, the ratio of the medians.
func (m metrics) ratio(a, b, unit string) (float64, error) {
	x, y := m[a+" "+unit], m[b+" "+unit]
	if len(x) == 0 || len(x) != len(y) {
		ma, err := m.median(a, unit)
		if err != nil {
			return 0, err
		}
		mb, err := m.median(b, unit)
		return ma / mb, err
	}
	r := make([]float64, len(x))
	for i := range x {
		r[i] = x[i] / y[i]
	}
	slices.Sort(r)
	return r[len(r)/2], nil
}

func run(in io.Reader, out io.Writer) error {
	m, err := parse(in)
	if err != nil {
		return err
	}
	var firstErr error
	get := func(name, unit string) float64 {
		v, err := m.median(name, unit)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	ratio := func(a, unit string) float64 {
		v, err := m.ratio(a, "DecodeEvent", unit)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	// The targets are judged on the warm engine, a daemon's steady state,
	// against the decoders timed on the same rounds (BenchmarkEngineWarm's
	// own ratios); the new engine's figures (every map growing from empty)
	// are shown too, against the separate decoding benchmarks.
	warmJSON, warmCodec := get("EngineWarm", "engine/decode"), get("EngineWarm", "engine/client-go")
	streamJSON, streamCodec := get("EngineWarmStream", "engine/decode"), get("EngineWarmStream", "engine/client-go")
	cold, coldStream := ratio("Engine", "ns/event"), ratio("EngineStream", "ns/event")
	warmNs, jsonNs, codecNs := get("EngineWarm", "ns/event"), get("EngineWarm", "decode-ns/event"), get("EngineWarm", "client-go-ns/event")
	warmTrimmed, trimmedNs := get("EngineWarm", "engine/trimmed-decode"), get("EngineWarm", "trimmed-decode-ns/event")
	coldNs, decNs := get("Engine", "ns/event"), get("DecodeEvent", "ns/event")
	warmRate, coldRate := get("EngineWarm", "events/s"), get("Engine", "events/s")
	perObj, perHeld := get("Retained", "B/object"), get("Retained", "B/held-event")
	engAllocs, decAllocs := get("EngineWarm", "allocs/event"), get("DecodeEvent", "allocs/event")
	engBytes, decBytes := get("EngineWarm", "B/event"), get("DecodeEvent", "B/event")
	if firstErr != nil {
		return firstErr
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	const w, n = "%-52s %8.2f   ", "%-52s %8.0f   "
	fmt.Fprintf(out, "runs: %d (medians; each ratio paired within its run)\n", len(m["EngineWarm ns/event"]))
	fmt.Fprintf(out, w+"target <= 0.50     %s   (%.0f / %.0f ns)\n",
		"engine / decoding, encoding/json", warmJSON, verdict(warmJSON <= 0.5), warmNs, jsonNs)
	fmt.Fprintf(out, w+"target <= 0.50     %s   (%.0f / %.0f ns)\n",
		"engine / decoding, client-go's deserializer", warmCodec, verdict(warmCodec <= 0.5), warmNs, codecNs)
	fmt.Fprintf(out, w+"target <= 0.50     %s   (client-go: %.2f %s)\n",
		"the same with -stream (the chart's setting)", streamJSON, verdict(streamJSON <= 0.5),
		streamCodec, verdict(streamCodec <= 0.5))
	fmt.Fprintf(out, w+"(no target; %.0f / %.0f ns; the earlier, trimmed baseline)\n",
		"engine / encoding/json, no managedFields", warmTrimmed, warmNs, trimmedNs)
	fmt.Fprintf(out, w+"(no target; encoding/json; %.0f / %.0f ns; -stream %.2f)\n",
		"the same on a new engine (maps growing)", cold, coldNs, decNs, coldStream)
	fmt.Fprintf(out, n+"target >= 100000   %s   (new engine %.0f)\n",
		"engine events/s, one core", warmRate, verdict(warmRate >= 100000), coldRate)
	fmt.Fprintf(out, n+"target < 1024      %s\n",
		"retained bytes per object (50,000)", perObj, verdict(perObj < 1024))
	fmt.Fprintf(out, n+"(no target)\n", "retained bytes per held event (10,000)", perHeld)
	fmt.Fprintf(out, w+"(no target; %.1f / %.1f)\n",
		"engine allocs/event / encoding/json allocs/event", engAllocs/decAllocs, engAllocs, decAllocs)
	fmt.Fprintf(out, w+"(no target; %.0f / %.0f)\n",
		"engine bytes/event / encoding/json bytes/event", engBytes/decBytes, engBytes, decBytes)
	return nil
}
