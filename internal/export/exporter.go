package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// Exporter is the OTLP sink. Export queues and returns at once (or, with
// WaitWhenFull, waits for room); one sender goroutine, started by New and
// joined by Close, batches and uploads.
type Exporter struct {
	cfg    Config
	client otlptrace.Client
	log    *slog.Logger

	mu       sync.Mutex
	queue    []span.Span
	inflight int // spans taken by the sender and not yet settled
	closing  bool
	dropLog  rateLog
	// failLog and rejectLog are the sender's own.
	failLog, rejectLog rateLog

	wake chan struct{} // spans queued, or closing
	room chan struct{} // the sender took spans from the queue
	done chan struct{} // the sender returned
	// sendCtx bounds every upload; abort cancels it when Close's deadline
	// passes.
	sendCtx context.Context
	abort   context.CancelFunc

	sent, requests, retried              atomic.Int64
	droppedFull, droppedRejected, unsent atomic.Int64
	// failingSince is when the current run of failed uploads began (unix
	// nanoseconds; zero when the last upload was delivered).
	failingSince atomic.Int64
}

var _ sink.Sink = (*Exporter)(nil)

// New starts an exporter to cfg's endpoint. It does not contact the
// backend (gRPC connects lazily, HTTP per request): a backend that is down
// at start is an outage like any other.
func New(ctx context.Context, cfg Config) (*Exporter, error) {
	if !cfg.Enabled() {
		return nil, errors.New("otlp export: no endpoint configured")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	e, err := start(ctx, cfg, client)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("exporting spans over OTLP", "endpoint", cfg.Describe(), "compression", cfg.Compression,
		"queue_size", cfg.QueueSize, "batch_size", cfg.BatchSize, "batch_timeout", cfg.BatchTimeout)
	return e, nil
}

// start runs an exporter on any client (tests pass recording fakes).
func start(ctx context.Context, cfg Config, client otlptrace.Client) (*Exporter, error) {
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting the otlp client: %w", err)
	}
	e := &Exporter{
		cfg:    cfg,
		client: client,
		log:    cfg.Log,
		wake:   make(chan struct{}, 1),
		room:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	e.sendCtx, e.abort = context.WithCancel(context.WithoutCancel(ctx))
	go e.run()
	return e, nil
}

var errClosed = errors.New("otlp export: exporter closed")

// Export implements sink.Sink. It copies the spans into the queue. What
// does not fit is dropped and counted, unless WaitWhenFull, when it waits
// for room until ctx is done.
func (e *Exporter) Export(ctx context.Context, spans []span.Span) error {
	for {
		e.mu.Lock()
		if e.closing {
			e.mu.Unlock()
			return errClosed
		}
		n := min(len(spans), e.cfg.QueueSize-len(e.queue)-e.inflight)
		e.queue = append(e.queue, spans[:n]...)
		spans = spans[n:]
		e.mu.Unlock()
		if n > 0 {
			signal(e.wake)
		}
		if len(spans) == 0 {
			return nil
		}
		if !e.cfg.WaitWhenFull {
			e.drop(len(spans))
			return nil
		}
		select {
		case <-e.room:
		case <-ctx.Done():
			e.drop(len(spans))
			return fmt.Errorf("otlp export: waiting for room in the queue: %w", ctx.Err())
		}
	}
}

// drop counts spans refused for want of room, and logs at most once per
// interval.
func (e *Exporter) drop(n int) {
	total := e.droppedFull.Add(int64(n))
	e.mu.Lock()
	k, ok := e.dropLog.add(n, time.Now(), e.cfg.LogInterval)
	e.mu.Unlock()
	if ok {
		e.log.Warn("otlp export queue full; spans dropped", "dropped", k, "dropped_total", total,
			"queue_size", e.cfg.QueueSize, "since", e.cfg.LogInterval)
	}
}

// Close implements sink.Sink: it sends what is queued, retrying as usual,
// until ctx's deadline or ShutdownTimeout, whichever is first; then it
// stops the client and logs the counters. Spans still unsent then are
// counted, and make the error. Closing again does nothing.
func (e *Exporter) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil
	}
	e.closing = true
	e.mu.Unlock()
	signal(e.wake)

	ctx, cancel := context.WithTimeout(ctx, e.cfg.ShutdownTimeout)
	defer cancel()
	select {
	case <-e.done:
	case <-ctx.Done():
		e.abort()
		<-e.done
	}
	e.abort()
	stopCtx := ctx
	if ctx.Err() != nil {
		var c context.CancelFunc
		stopCtx, c = context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer c()
	}
	err := e.client.Stop(stopCtx)
	if err != nil {
		err = fmt.Errorf("stopping the otlp client: %w", err)
	}
	st := e.Stats()
	e.log.Info("otlp export stopped", "sent", st.Sent, "requests", st.Requests, "retried", st.Retried,
		"dropped", st.Dropped, "dropped_queue_full", st.DroppedFull, "dropped_rejected", st.DroppedRejected,
		"dropped_shutdown", st.DroppedShutdown)
	if st.DroppedShutdown > 0 {
		err = errors.Join(err, fmt.Errorf("otlp export: %d spans not sent before the shutdown deadline", st.DroppedShutdown))
	}
	return err
}

// signal wakes a goroutine waiting on c without blocking; one pending
// signal is enough, as the waiter rechecks the state.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run is the sender: it sends a batch when BatchSize spans are queued, when
// the oldest waited BatchTimeout, or when closing; it returns once closing
// and empty.
func (e *Exporter) run() {
	defer close(e.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed, due := false, false
	for {
		e.mu.Lock()
		n, closing := len(e.queue), e.closing
		e.mu.Unlock()
		if n >= e.cfg.BatchSize || n > 0 && (due || closing) {
			batch := e.take()
			e.send(batch)
			e.settle(len(batch))
			// The timer runs for the oldest span queued; those left are
			// younger, so it stands for them too.
			if e.depth() == 0 {
				timer.Stop()
				armed, due = false, false
			}
			continue
		}
		if n == 0 && closing {
			return
		}
		if n > 0 && !armed {
			timer.Reset(e.cfg.BatchTimeout)
			armed = true
		}
		select {
		case <-e.wake:
		case <-timer.C:
			armed, due = false, true
		}
	}
}

// take moves up to BatchSize spans from the queue to the sender.
func (e *Exporter) take() []span.Span {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := min(len(e.queue), e.cfg.BatchSize)
	batch := slices.Clone(e.queue[:n])
	clear(e.queue[:n])
	e.queue = e.queue[n:]
	if len(e.queue) == 0 {
		e.queue = nil
	}
	e.inflight += n
	return batch
}

// settle releases a sent (or given up) batch's room.
func (e *Exporter) settle(n int) {
	e.mu.Lock()
	e.inflight -= n
	e.mu.Unlock()
	signal(e.room)
}

func (e *Exporter) depth() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue) + e.inflight
}

// send uploads one batch, retrying transient failures with backoff until
// it is delivered, rejected, or Close's deadline passes.
func (e *Exporter) send(batch []span.Span) {
	n := int64(len(batch))
	req := otlp.Request(e.cfg.Resource, e.cfg.Scope, batch).ResourceSpans
	b := backoff{initial: e.cfg.RetryInitial, max: e.cfg.RetryMax}
	for attempt := 0; ; attempt++ {
		if e.sendCtx.Err() != nil {
			e.unsent.Add(n)
			return
		}
		if attempt > 0 {
			e.retried.Add(1)
		}
		o := &outcome{}
		ctx, cancel := context.WithTimeout(withOutcome(e.sendCtx, o), e.cfg.Timeout)
		err := e.client.UploadTraces(ctx, req)
		cancel()
		v, throttle := classify(err, o)
		if v == delivered {
			rej := min(partlyRejected(err), n)
			e.failingSince.Store(0)
			e.sent.Add(n - rej)
			e.droppedRejected.Add(rej)
			e.requests.Add(1)
			if err != nil {
				e.log.Warn("otlp export partly rejected", "spans", n, "rejected", rej, "error", err)
			}
			if attempt > 0 {
				e.log.Info("otlp export recovered", "retries", attempt)
			}
			if e.cfg.Delivered != nil {
				e.cfg.Delivered(batch)
			}
			return
		}
		if e.sendCtx.Err() != nil {
			e.unsent.Add(n)
			return
		}
		if v == rejected {
			total := e.droppedRejected.Add(n)
			if k, ok := e.rejectLog.add(1, time.Now(), e.cfg.LogInterval); ok {
				e.log.Error("otlp export rejected; spans dropped", "requests", k, "dropped_total", total, "error", err)
			}
			return
		}
		e.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		pause := b.pause(throttle)
		if k, ok := e.failLog.add(1, time.Now(), e.cfg.LogInterval); ok {
			e.log.Warn("otlp export failed; retrying until it succeeds (new spans are dropped once the queue is full)",
				"failures", k, "queued", e.depth(), "retry_in", pause.Round(time.Millisecond), "error", err)
		} else {
			e.log.Debug("otlp export failed", "attempt", attempt, "retry_in", pause.Round(time.Millisecond), "error", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-e.sendCtx.Done():
			t.Stop()
		}
	}
}

// Stats are the exporter's counters.
type Stats struct {
	// Queued is the number of spans held now, queued or being sent.
	Queued int
	// Sent is the number of spans the backend accepted, in Requests requests.
	Sent, Requests int64
	// Retried is the number of requests sent again after a retryable failure.
	Retried int64
	// Dropped is every span given up: DroppedFull (refused by Export, the
	// queue being full), DroppedRejected (a permanent error from the
	// backend) and DroppedShutdown (unsent at Close's deadline).
	Dropped, DroppedFull, DroppedRejected, DroppedShutdown int64
	// FailingSince is when uploads began failing with retryable errors (the
	// backend unreachable or overloaded); zero while they succeed.
	// Rejected batches do not count: the backend answered.
	FailingSince time.Time
}

// Stats returns the counters; it may be called at any time.
func (e *Exporter) Stats() Stats {
	s := Stats{
		Queued:          e.depth(),
		Sent:            e.sent.Load(),
		Requests:        e.requests.Load(),
		Retried:         e.retried.Load(),
		DroppedFull:     e.droppedFull.Load(),
		DroppedRejected: e.droppedRejected.Load(),
		DroppedShutdown: e.unsent.Load(),
	}
	s.Dropped = s.DroppedFull + s.DroppedRejected + s.DroppedShutdown
	if ns := e.failingSince.Load(); ns != 0 {
		s.FailingSince = time.Unix(0, ns)
	}
	return s
}

// rateLog lets a repeated message through at most once per interval, with
// the count of what happened since it last did.
type rateLog struct {
	last    time.Time
	pending int64
}

func (r *rateLog) add(n int, now time.Time, every time.Duration) (int64, bool) {
	r.pending += int64(n)
	if !r.last.IsZero() && now.Sub(r.last) < every {
		return 0, false
	}
	k := r.pending
	r.last, r.pending = now, 0
	return k, true
}
