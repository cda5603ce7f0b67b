package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/rollout"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/web"
)

// Sources are what the metrics are read from. Each is read at scrape time
// from the HTTP server's goroutines, so each must be safe for concurrent
// use.
type Sources struct {
	// Live is the live run's status (nil: the engine metrics stay zero).
	Live *live.Status
	// Exporter returns the OTLP exporter's counters (nil: no OTLP export,
	// and its metrics are absent).
	Exporter func() export.Stats
	// Viewer returns the viewer store's counters (nil: no viewer).
	Viewer func() web.Stats
	// Standby reports whether this replica waits for the leader election
	// lease (nil: it always leads).
	Standby func() bool
	// Checkpoint returns the checkpoint's counters, and false while there
	// is none (nil: no checkpoint).
	Checkpoint func() (checkpoint.Stats, bool)
}

// Metrics holds kspan's own Prometheus registry.
type Metrics struct {
	src   Sources
	reg   *prometheus.Registry
	delay prometheus.Histogram
}

// New builds the registry: kspan's collector, an export delay histogram, and
// the Go runtime and process collectors.
func New(src Sources) *Metrics {
	m := &Metrics{src: src, reg: prometheus.NewRegistry()}
	m.delay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "kspan_span_export_delay_seconds",
		Help: "Time from a span's end (its event's last timestamp, as the reporting component set it, 1s resolution) " +
			"to the engine handing it to the outputs. It includes the hold and linger; after a restart, old events relisted make a long tail.",
		Buckets: []float64{1, 2.5, 5, 10, 15, 30, 60, 120, 300, 900, 3600},
	})
	m.reg.MustRegister(collector{src}, m.delay,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is kspan's registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveExport records the export delay of spans handed to the outputs
// at at. It is live.Options.Exported.
func (m *Metrics) ObserveExport(spans []span.Span, at time.Time) {
	for i := range spans {
		if end := spans[i].End; !end.IsZero() {
			m.delay.Observe(max(at.Sub(end), 0).Seconds())
		}
	}
}

var (
	descEvents = prometheus.NewDesc("kspan_events_received_total",
		"Events received, by the API they were read from and their type.", []string{"api", "type"}, nil)
	descObjects = prometheus.NewDesc("kspan_objects_received_total",
		"Object metadata changes (owner index records) received.", nil, nil)
	descSpans = prometheus.NewDesc("kspan_spans_emitted_total",
		"Spans the engine handed to the outputs (event spans and synthetic roots).", nil, nil)
	descLate = prometheus.NewDesc("kspan_late_spans_total",
		"Spans that joined a trace already exported.", nil, nil)
	descDuplicates = prometheus.NewDesc("kspan_duplicate_events_total",
		"Event occurrences seen before (both APIs, a relist): not lost, not exported twice.", nil, nil)
	descFiltered = prometheus.NewDesc("kspan_filtered_events_total",
		"Event occurrences the filters left out of the export.", nil, nil)
	descDropped = prometheus.NewDesc("kspan_dropped_total",
		"What was given up, by component and reason: engine (suppressed_repeat, forgotten, evicted_object), "+
			"output (refused: spans of batches the outputs failed to take), otlp (queue_full, rejected, shutdown), viewer (evicted_span).", []string{"component", "reason"}, nil)
	descForced = prometheus.NewDesc("kspan_forced_total",
		"Early engine actions because a bound was reached: decision (max-held) and flush (max-open-spans). Nothing is lost, parents may be worse.",
		[]string{"reason"}, nil)
	descHeld = prometheus.NewDesc("kspan_held_events",
		"Event occurrences waiting for their hold.", nil, nil)
	descOpenTraces = prometheus.NewDesc("kspan_open_traces",
		"Traces not yet exported.", nil, nil)
	descOpenSpans = prometheus.NewDesc("kspan_open_spans",
		"Spans in traces not yet exported.", nil, nil)
	descIndex = prometheus.NewDesc("kspan_owner_index_entries",
		"Entries in the owner index, by state (object, tombstone).", []string{"state"}, nil)
	descWatchRestarts = prometheus.NewDesc("kspan_watch_restarts_total",
		"Watches that failed and were started again (relists), over every informer.", nil, nil)
	descUnchanged = prometheus.NewDesc("kspan_object_updates_unchanged_total",
		"Object updates not passed to the engine because nothing kspan reads changed (status updates).", nil, nil)
	descSynced = prometheus.NewDesc("kspan_caches_synced",
		"1 once the Event informer's cache has synced.", nil, nil)
	descLeader = prometheus.NewDesc("kspan_leader",
		"1 when this replica exports.", nil, nil)
	descTruncated = prometheus.NewDesc("kspan_truncated_messages_total",
		"Event messages cut to 4 kB in their span.", nil, nil)
	descFuture = prometheus.NewDesc("kspan_future_times_total",
		"Events dated over an hour after they were seen: dated by the observation instead.", nil, nil)
	descClamped = prometheus.NewDesc("kspan_clamped_times_total",
		"Spans whose times were outside what OTLP carries (before 1970 or after 2262-04-11): clamped to that range in every output.", nil, nil)
	descCheckpointed = prometheus.NewDesc("kspan_checkpointed_events_total",
		"Relisted occurrences that the checkpoint says an earlier run exported: not exported again.", nil, nil)
	descCheckpointEntries = prometheus.NewDesc("kspan_checkpoint_entries",
		"Events and root spans the checkpoint remembers as exported.", nil, nil)
	descCheckpointSaves = prometheus.NewDesc("kspan_checkpoint_saves_total",
		"Checkpoint saves, by result (ok, error).", []string{"result"}, nil)
	descCheckpointLastSave = prometheus.NewDesc("kspan_checkpoint_last_save_timestamp_seconds",
		"When the checkpoint was last saved.", nil, nil)
	descLastTick = prometheus.NewDesc("kspan_engine_last_tick_timestamp_seconds",
		"When the engine loop last published its counters.", nil, nil)
	descOTLPSent = prometheus.NewDesc("kspan_otlp_spans_sent_total",
		"Spans the OTLP backend accepted.", nil, nil)
	descOTLPRequests = prometheus.NewDesc("kspan_otlp_requests_total",
		"OTLP export requests delivered.", nil, nil)
	descOTLPRetries = prometheus.NewDesc("kspan_otlp_retries_total",
		"OTLP export requests sent again after a retryable failure.", nil, nil)
	descOTLPQueue = prometheus.NewDesc("kspan_otlp_queued_spans",
		"Spans queued or being sent to the OTLP backend.", nil, nil)
	descOTLPFailing = prometheus.NewDesc("kspan_otlp_failing_seconds",
		"How long OTLP uploads have been failing (0 while they succeed).", nil, nil)
	descRollouts = prometheus.NewDesc("kspan_rollouts_total",
		"Rollouts (a Deployment's, StatefulSet's, DaemonSet's or Job's spec change) by kind and outcome: complete, failed, superseded when it settled; unknown (no status seen) when exported.",
		[]string{"kind", "outcome"}, nil)
	descRolloutDuration = prometheus.NewDesc("kspan_rollout_duration_seconds",
		"Time from a rollout's spec change to its outcome, by kind and outcome.", []string{"kind", "outcome"}, nil)
	descRolloutsOpen = prometheus.NewDesc("kspan_rollouts_in_progress",
		"Rollouts whose status says they go on, by kind.", []string{"kind"}, nil)
	descRolloutsStuck = prometheus.NewDesc("kspan_rollouts_stuck",
		"Rollouts still in progress longer than -stuck-after after their change, by kind.", []string{"kind"}, nil)
	descViewerSpans = prometheus.NewDesc("kspan_viewer_spans",
		"Spans the viewer keeps.", nil, nil)
)

// collector reads the sources at scrape time.
type collector struct{ src Sources }

var _ prometheus.Collector = collector{}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEvents, descObjects, descSpans, descLate, descDuplicates,
		descFiltered, descDropped, descForced, descHeld, descOpenTraces, descOpenSpans, descIndex,
		descWatchRestarts, descUnchanged, descSynced, descLeader, descLastTick, descCheckpointed, descTruncated, descFuture, descClamped,
		descRollouts, descRolloutDuration, descRolloutsOpen, descRolloutsStuck} {
		ch <- d
	}
	if c.src.Checkpoint != nil {
		for _, d := range []*prometheus.Desc{descCheckpointEntries, descCheckpointSaves, descCheckpointLastSave} {
			ch <- d
		}
	}
	if c.src.Exporter != nil {
		for _, d := range []*prometheus.Desc{descOTLPSent, descOTLPRequests, descOTLPRetries, descOTLPQueue, descOTLPFailing} {
			ch <- d
		}
	}
	if c.src.Viewer != nil {
		ch <- descViewerSpans
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	var sn live.Snapshot
	if p := c.src.Live.Snapshot(); p != nil {
		sn = *p
	}
	for k, n := range sn.Events {
		counter(descEvents, float64(n), k.API, k.Type)
	}
	st := sn.Engine
	counter(descObjects, float64(st.Objects))
	counter(descSpans, float64(st.Spans))
	counter(descLate, float64(st.LateSpans))
	counter(descDuplicates, float64(st.Duplicates))
	counter(descFiltered, float64(st.Filtered))
	counter(descDropped, float64(st.Suppressed), "engine", "suppressed_repeat")
	counter(descDropped, float64(st.Forgotten), "engine", "forgotten")
	counter(descDropped, float64(st.Index.Evicted), "engine", "evicted_object")
	counter(descDropped, float64(st.Refused), "output", "refused")
	counter(descForced, float64(st.ForcedDecisions), "decision")
	counter(descForced, float64(st.ForcedFlushes), "flush")
	gauge(descHeld, float64(st.Held))
	gauge(descOpenTraces, float64(st.OpenTraces))
	gauge(descOpenSpans, float64(st.OpenSpans))
	gauge(descIndex, float64(st.Index.Objects), "object")
	gauge(descIndex, float64(st.Index.Tombstones), "tombstone")
	counter(descWatchRestarts, float64(c.src.Live.WatchRestarts()))
	counter(descUnchanged, float64(c.src.Live.UnchangedUpdates()))
	gauge(descSynced, boolValue(c.src.Live.Synced()))
	gauge(descLeader, boolValue(c.src.Standby == nil || !c.src.Standby()))
	counter(descCheckpointed, float64(st.Checkpointed))
	counter(descTruncated, float64(st.Truncated))
	counter(descFuture, float64(st.FutureTimes))
	counter(descClamped, float64(sn.ClampedTimes))
	c.rollouts(ch, &st.Rollouts)
	if c.src.Checkpoint != nil {
		if cs, ok := c.src.Checkpoint(); ok {
			gauge(descCheckpointEntries, float64(cs.Entries))
			counter(descCheckpointSaves, float64(cs.Saves), "ok")
			counter(descCheckpointSaves, float64(cs.Failures), "error")
			counter(descDropped, float64(cs.Evicted), "checkpoint", "evicted")
			if !cs.LastSave.IsZero() {
				gauge(descCheckpointLastSave, float64(cs.LastSave.UnixNano())/1e9)
			}
		}
	}
	if !sn.At.IsZero() {
		gauge(descLastTick, float64(sn.At.UnixNano())/1e9)
	}
	if c.src.Exporter != nil {
		x := c.src.Exporter()
		counter(descOTLPSent, float64(x.Sent))
		counter(descOTLPRequests, float64(x.Requests))
		counter(descOTLPRetries, float64(x.Retried))
		gauge(descOTLPQueue, float64(x.Queued))
		var failing time.Duration
		if !x.FailingSince.IsZero() {
			failing = time.Since(x.FailingSince)
		}
		gauge(descOTLPFailing, failing.Seconds())
		counter(descDropped, float64(x.DroppedFull), "otlp", "queue_full")
		counter(descDropped, float64(x.DroppedRejected), "otlp", "rejected")
		counter(descDropped, float64(x.DroppedShutdown), "otlp", "shutdown")
	}
	if c.src.Viewer != nil {
		v := c.src.Viewer()
		gauge(descViewerSpans, float64(v.Spans))
		counter(descDropped, float64(v.Evicted.Spans), "viewer", "evicted_span")
	}
}

// rollouts sends the rollout counters, histograms and gauges.
func (c collector) rollouts(ch chan<- prometheus.Metric, r *correlate.RolloutStats) {
	for k, kind := range correlate.RolloutKinds {
		ch <- prometheus.MustNewConstMetric(descRolloutsOpen, prometheus.GaugeValue, float64(r.Open[k]), kind)
		ch <- prometheus.MustNewConstMetric(descRolloutsStuck, prometheus.GaugeValue, float64(r.Stuck[k]), kind)
		for o, outcome := range correlate.RolloutOutcomes {
			if outcome == rollout.InProgress {
				continue
			}
			h := &r.Done[k][o]
			ch <- prometheus.MustNewConstMetric(descRollouts, prometheus.CounterValue, float64(h.Count), kind, string(outcome))
			if outcome == rollout.Unknown {
				continue // no outcome, no duration
			}
			buckets := make(map[float64]uint64, len(h.Buckets))
			for i, b := range correlate.RolloutBuckets {
				buckets[b] = h.Buckets[i]
			}
			ch <- prometheus.MustNewConstHistogram(descRolloutDuration, h.Count, h.Sum, buckets, kind, string(outcome))
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
