package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// collector is one OpenTelemetry Collector under measurement: the contrib
// k8s_events receiver writing logs, or kspan's receiver writing traces,
// each through a batch processor and the contrib file exporter (OTLP/JSON
// lines), which the harness reads to tell when each has delivered every
// Event.
type collector struct {
	name   string
	p      *proc
	sink   *fileSink
	ready  string // the log line that says it is watching
	series bool   // whether it reports an Event series' count
	cpu0   float64
}

// startCollectors starts the k8s_events distribution and kspan's, when
// their binaries are given.
func startCollectors(o options, dir, kubeconfig string) ([]*collector, error) {
	if o.otelcolK8sEvents == "" && o.otelcolKspan == "" {
		return nil, nil
	}
	if o.otelcolK8sEvents == "" || o.otelcolKspan == "" {
		return nil, fmt.Errorf("-otelcol-k8sevents and -otelcol-kspan go together")
	}
	stream := strings.Contains(" "+o.kspanFlags+" ", " -stream ")
	specs := []struct {
		name, bin, receiver, pipeline, ready string
		series                               bool
	}{
		{"k8s_events receiver", o.otelcolK8sEvents, "k8s_events:\n    auth_type: kubeConfig\n", "logs", "Everything is ready", false},
		{"kspan receiver", o.otelcolKspan, fmt.Sprintf("kspan:\n    kubeconfig: %s\n    hold: %s\n    stream: %t\n", kubeconfig, o.hold, stream), "traces", "watching events", true},
	}
	var out []*collector
	for i, sp := range specs {
		s := newFileSink(filepath.Join(dir, fmt.Sprintf("otelcol-%d.jsonl", i)))
		recv := strings.SplitN(sp.receiver, ":", 2)[0]
		cfg := fmt.Sprintf(`receivers:
  %sprocessors:
  batch:
exporters:
  file:
    path: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    %s:
      receivers: [%s]
      processors: [batch]
      exporters: [file]
`, sp.receiver, s.path, sp.pipeline, recv)
		path := filepath.Join(dir, fmt.Sprintf("otelcol-%d.yaml", i))
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			stopCollectors(out)
			return nil, err
		}
		p, err := startProcEnv([]string{"KUBECONFIG=" + kubeconfig}, filepath.Join(dir, fmt.Sprintf("otelcol-%d.log", i)), sp.bin, "--config", path)
		if err != nil {
			stopCollectors(out)
			return nil, err
		}
		out = append(out, &collector{name: sp.name, p: p, sink: s, ready: sp.ready, series: sp.series})
	}
	return out, nil
}

func stopCollectors(cs []*collector) {
	for _, c := range cs {
		c.p.kill()
	}
}

// delivered says whether a Collector has delivered every Event.
func (c *collector) delivered(events []corev1.Event) (bool, error) {
	have, _ := c.sink.covered()
	return len(uncovered(events, have, c.series)) == 0, c.p.exited()
}

// collectorRow is one process's figures over the burst.
type collectorRow struct {
	name      string
	cpu, rss  float64
	items     int64
	undeliver int
}

// reportCollectors prints the Collector comparison: CPU per Event and peak
// RSS of kspan's receiver against the contrib k8s_events receiver's, with
// standalone kspan beside them.
func reportCollectors(w io.Writer, rows []collectorRow, events int) {
	if len(rows) < 3 {
		return
	}
	base, recv := rows[0], rows[1]
	fmt.Fprintf(w, "== Collector: the same burst through the contrib k8s_events receiver (logs), kspan's receiver (traces), standalone kspan\n")
	fmt.Fprintf(w, "%-44s", "figure")
	for _, r := range rows {
		fmt.Fprintf(w, " %20s", r.name)
	}
	fmt.Fprintf(w, " %8s %s\n", "ratio", "target")
	fmt.Fprintf(w, "%-44s", "CPU µs per Event over the burst")
	for _, r := range rows {
		fmt.Fprintf(w, " %20.1f", r.cpu/float64(events)*1e6)
	}
	ratio := recv.cpu / base.cpu
	v := verdict(ratio <= 1.5)
	if base.undeliver > 0 || recv.undeliver > 0 {
		v = "INCOMPLETE (a Collector did not deliver every Event)"
	}
	fmt.Fprintf(w, " %8.2f %s %s\n", ratio, "kspan receiver ≤ 1.5× k8s_events", v)
	fmt.Fprintf(w, "%-44s", "peak RSS MB")
	for _, r := range rows {
		fmt.Fprintf(w, " %20.1f", r.rss)
	}
	fmt.Fprintf(w, " %8.2f\n", recv.rss/base.rss)
	fmt.Fprintf(w, "%-44s", "log records / spans delivered")
	for _, r := range rows {
		fmt.Fprintf(w, " %20d", r.items)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-44s", "Events not delivered")
	for _, r := range rows {
		fmt.Fprintf(w, " %20d", r.undeliver)
	}
	fmt.Fprintf(w, " %8s %s %s\n", "", "0", verdict(base.undeliver == 0 && recv.undeliver == 0))
}
