package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// DefaultWatchBatch is kspan's -watch-batch: in the live benchmark it
// halves kspan's CPU, for at most 100ms more latency.
const DefaultWatchBatch = 100 * time.Millisecond

// Options configures a live run.
type Options struct {
	Client ClientOptions
	Engine correlate.Config
	// Sink receives every batch of spans from the engine goroutine (the
	// command's output.Pipeline, which knows what was delivered).
	Sink sink.Sink
	// Capture, when set, receives kspan's capture of every record, in the
	// order the engine saw them; CaptureFields go into its header.
	Capture       io.Writer
	CaptureFields map[string]string
	Log           *slog.Logger
	// Queue bounds records between the watches and the engine (default
	// 10000); when full, the watches wait, and behind them the apiserver's
	// connection (HTTP/2 flow control). Nothing is dropped.
	Queue int
	// WatchBatch, when positive, paces the reads of the apiserver
	// connection once the caches have synced: after a read drains it, the
	// next waits until WatchBatch has passed, so that watch events are
	// read in batches (see pacer). 0 reads each as it comes. The command
	// line's default is DefaultWatchBatch.
	WatchBatch time.Duration
	// Tick is how often the engine's clock advances without records
	// (default 500ms).
	Tick time.Duration
	// ShutdownTimeout bounds the final flush of the sinks (default 10s).
	ShutdownTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Status, when set, is told when the caches have synced and receives a
	// copy of the engine's counters on every tick.
	Status *Status
	// Checkpoint, when set, says what earlier runs exported (see
	// correlate.Config.Checkpoint).
	Checkpoint correlate.Checkpoint
}

// ErrAbort, as the cause of Run's context's cancellation, makes Run stop
// without exporting what it holds and without waiting for the sinks: another
// process takes over (leadership was lost) and exports it instead.
var ErrAbort = errors.New("live run aborted")

// Run watches the cluster until ctx is done, then exports everything held
// and closes the sink. It fails early when the cluster cannot be reached.
func Run(ctx context.Context, opt Options) error {
	if opt.Queue <= 0 {
		opt.Queue = 10000
	}
	if opt.Tick <= 0 {
		opt.Tick = 500 * time.Millisecond
	}
	if opt.ShutdownTimeout <= 0 {
		opt.ShutdownTimeout = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	clamp := &sink.Clamp{Next: opt.Sink, Log: opt.Log}
	opt.Sink = clamp
	cfg, err := RESTConfig(opt.Client)
	if err != nil {
		return err
	}
	var cw *capture.Writer
	if opt.Capture != nil {
		if cw, err = capture.NewWriter(opt.Capture, capture.Header{Started: opt.Now(), Fields: opt.CaptureFields}); err != nil {
			return fmt.Errorf("starting the capture: %w", err)
		}
	}
	items := make(chan item, opt.Queue)
	src, err := newSource(cfg, items, opt.Status, opt.Log, newPacer(opt.WatchBatch))
	if err != nil {
		return err
	}
	src.labelKeys = opt.Engine.Index.LabelKeys

	srcCtx, stopSource := context.WithCancel(ctx)
	defer stopSource()
	var wg sync.WaitGroup
	srcErr := make(chan error, 1)
	wg.Go(func() { srcErr <- src.run(srcCtx) })

	ecfg := opt.Engine
	ecfg.Checkpoint = opt.Checkpoint
	ecfg.Out = correlate.ConsumerFunc(func(spans []span.Span) error { return opt.Sink.Export(ctx, spans) })
	l := &loop{opt: opt, eng: correlate.New(ecfg), clamp: clamp, capture: cw, events: map[EventKind]uint64{}}
	l.publish()

	tick := time.NewTicker(opt.Tick)
	defer tick.Stop()
	var runErr error
wait:
	for {
		select {
		case it := <-items:
			l.add(it)
		case <-tick.C:
			l.tick()
		case err := <-srcErr:
			runErr = err
			break wait
		case <-ctx.Done():
			break wait
		}
	}

	// Shut down in order: the source, then what it had queued, then the
	// engine's held events and open traces, then the sinks.
	stopSource()
	wg.Wait()
	if errors.Is(context.Cause(ctx), ErrAbort) {
		st := l.eng.Stats()
		opt.Log.Warn("stopped without exporting what was held", "held_events", st.Held+len(items), "open_spans", st.OpenSpans)
		closeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancel() // the sinks drop what they queued: it is not this process's to send any more
		return errors.Join(runErr, l.eng.Err(), opt.Sink.Close(closeCtx))
	}
	l.shutdown(items)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opt.ShutdownTimeout)
	defer cancel()
	return errors.Join(runErr, l.eng.Err(), opt.Sink.Close(closeCtx))
}

// loop is what the engine's goroutine keeps between records: the engine,
// its clock, the capture and the counters. Its steps are add (a record),
// tick (the clock moves) and shutdown; Run drives them.
type loop struct {
	opt     Options
	eng     *correlate.Engine
	clamp   *sink.Clamp
	capture *capture.Writer // nil: no capture, or it failed
	// last is the engine's clock: monotonic, and read in this goroutine
	// when a record is taken, so ticks and records are ordered in the
	// capture exactly as the engine saw them and a replay decides the same.
	last      time.Time
	events    map[EventKind]uint64
	outFailed bool // the first refused batch was logged
}

func (l *loop) clock() time.Time {
	if n := l.opt.Now(); n.After(l.last) {
		l.last = n
	}
	return l.last
}

// add observes a record now, captures it and hands it to the engine.
func (l *loop) add(it item) {
	it.rec.Observed = l.clock()
	if l.capture != nil {
		if err := l.capture.Write(it.rec.Observed, it.typ, it.raw); err != nil {
			l.opt.Log.Error("writing the capture failed; capture stopped", "error", err)
			l.capture = nil
		}
	}
	if ev := it.rec.Event; ev != nil {
		l.events[EventKind{API: apiOf(it.raw), Type: ev.Type}]++
	}
	l.eng.Add(it.rec, it.rec.Observed)
}

// tick moves the engine's clock without a record and publishes the
// counters.
func (l *loop) tick() {
	l.eng.Advance(l.clock())
	l.publish()
}

// publish logs the outputs' first failure and sends the counters to
// Options.Status.
func (l *loop) publish() {
	if err := l.eng.Err(); err != nil && !l.outFailed {
		l.outFailed = true // the spans of every refused batch are counted
		l.opt.Log.Error("exporting spans failed", "error", err)
	}
	if l.opt.Status == nil {
		return
	}
	l.opt.Status.Publish(Snapshot{At: l.opt.Now(), Engine: l.eng.Stats(), Events: l.events, ClampedTimes: l.clamp.Clamped(),
		Rollouts: l.eng.OpenRollouts(MaxOpenRollouts)})
}

// shutdown adds what the stopped source had queued, then decides every
// held occurrence and exports every open trace.
func (l *loop) shutdown(items <-chan item) {
	for drained := false; !drained; {
		select {
		case it := <-items:
			l.add(it)
		default:
			drained = true
		}
	}
	l.eng.Flush()
	l.publish()
	st := l.eng.Stats()
	l.opt.Log.Info("stopped", "events", st.Events, "objects", st.Objects, "spans", st.Spans, "filtered", st.Filtered,
		"refused_spans", st.Refused, "checkpointed", st.Checkpointed, "duplicates", st.Duplicates, "suppressed_repeats", st.Suppressed, "late_spans", st.LateSpans,
		"forced_decisions", st.ForcedDecisions, "forced_flushes", st.ForcedFlushes, "forgotten", st.Forgotten,
		"evicted_objects", st.Index.Evicted, "owner_cycles", st.Cycles,
		"deep_chains", st.DeepChains, "truncated_messages", st.Truncated, "future_times", st.FutureTimes,
		"clamped_times", l.clamp.Clamped())
}

// LeadContext is the context a live run under leader election works with:
// it ends when ctx (the leader's work context) does, with ErrAbort as its
// cause when ctx's cause is lost (the lease was lost: the run stops
// without exporting what it holds, the next leader does), else
// context.Canceled (a shutdown: the run exports what it holds). Call stop
// when the run has returned.
func LeadContext(ctx context.Context, lost error) (runCtx context.Context, stop func()) {
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	go func() {
		<-ctx.Done()
		if errors.Is(context.Cause(ctx), lost) {
			cancel(ErrAbort)
		} else {
			cancel(context.Canceled)
		}
	}()
	return runCtx, func() { cancel(nil) }
}
