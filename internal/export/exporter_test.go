package export

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/kspan-project/kspan/internal/span"
)

// newFake starts an exporter on a fake client with test-sized settings
// (fields of cfg that are set win).
func newFake(t *testing.T, f *fakeClient, cfg Config, logs *logBuffer) *Exporter {
	t.Helper()
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 100
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 10
	}
	if logs != nil {
		cfg.Log = testLogger(logs)
	}
	e, err := start(t.Context(), cfg.withDefaults(), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after a failure; else a no-op
		if err := e.Close(context.Background()); err != nil {
			t.Log(err)
		}
	})
	return e
}

func TestBatchesBySizeAndTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{}
		e := newFake(t, f, Config{BatchSize: 3, BatchTimeout: time.Second}, nil)
		if err := e.Export(t.Context(), testSpans(0, 7)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := f.sizes(); !slices.Equal(got, []int{3, 3}) {
			t.Fatalf("full batches sent at once: %v, want [3 3]", got)
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if got := f.sizes(); len(got) != 2 {
			t.Fatalf("the last span did not wait for the batch timeout: %v", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := f.sizes(); !slices.Equal(got, []int{3, 3, 1}) {
			t.Fatalf("after the batch timeout: %v, want [3 3 1]", got)
		}
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.Sent != 7 || st.Requests != 3 || st.Dropped != 0 || st.Queued != 0 || !f.stopped {
			t.Errorf("stats %+v, client stopped %v", st, f.stopped)
		}
		if err := e.Export(t.Context(), testSpans(0, 1)); err == nil {
			t.Error("Export after Close succeeded")
		}
	})
}

func TestRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{respond: func(call int) codes.Code {
			if call < 3 {
				return codes.Unavailable
			}
			return codes.OK
		}}
		var logs logBuffer
		e := newFake(t, f, Config{RetryInitial: time.Second, RetryMax: 2 * time.Second}, &logs)
		start := time.Now()
		if err := e.Export(t.Context(), testSpans(0, 10)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if fs := e.Stats().FailingSince; !fs.Equal(start) {
			t.Errorf("FailingSince = %v while the first upload failed, want %v", fs, start)
		}
		for e.Stats().Sent == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		if fs := e.Stats().FailingSince; !fs.IsZero() {
			t.Errorf("FailingSince = %v after a delivery, want zero", fs)
		}
		// Pauses of [0.5,1], [1,2] and [1,2] seconds.
		if d := time.Since(start); d < 2500*time.Millisecond || d > 5100*time.Millisecond {
			t.Errorf("three retries took %v", d)
		}
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.Sent != 10 || st.Retried != 3 || st.Requests != 1 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
		if n := logs.count(`level=WARN msg="otlp export failed`); n != 1 {
			t.Errorf("%d failure warnings in one interval, want 1:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "otlp export recovered") {
			t.Errorf("no recovery logged:\n%s", logs.String())
		}
	})
}

func TestPermanentErrorDropsTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{respond: func(call int) codes.Code {
			if call == 0 {
				return codes.InvalidArgument
			}
			return codes.OK
		}}
		e := newFake(t, f, Config{BatchSize: 4}, nil)
		mustExport(t, e, testSpans(0, 4))
		synctest.Wait()
		mustExport(t, e, testSpans(4, 4))
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.DroppedRejected != 4 || st.Sent != 4 || st.Retried != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// The queue holds QueueSize spans, counting the batch being retried; what
// does not fit is dropped, counted, and logged once per interval; what fits
// arrives once the backend is back.
func TestQueueFullDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := true
		f := &fakeClient{}
		f.respond = func(int) codes.Code {
			if down {
				return codes.Unavailable
			}
			return codes.OK
		}
		var logs logBuffer
		e := newFake(t, f, Config{QueueSize: 10, BatchSize: 5, LogInterval: time.Minute}, &logs)
		mustExport(t, e, testSpans(0, 8))
		synctest.Wait() // the sender holds 5, retrying; 3 queued
		mustExport(t, e, testSpans(8, 5))
		if st := e.Stats(); st.DroppedFull != 3 || st.Queued != 10 {
			t.Fatalf("stats %+v, want 3 dropped, 10 queued", st)
		}
		mustExport(t, e, testSpans(13, 4))
		if n := logs.count("queue full"); n != 1 {
			t.Fatalf("%d queue-full warnings within one interval, want 1", n)
		}
		time.Sleep(time.Minute)
		mustExport(t, e, testSpans(17, 1))
		if n := logs.count("queue full"); n != 2 || !strings.Contains(logs.String(), "dropped=5 dropped_total=8") {
			t.Fatalf("after an interval, want a second warning counting 5 more:\n%s", logs.String())
		}
		synctest.Wait()
		f.mu.Lock()
		down = false
		f.mu.Unlock()
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.Sent != 10 || st.DroppedFull != 8 || st.Dropped != 8 || st.Retried == 0 {
			t.Errorf("stats %+v: want the 10 that fit sent, 8 dropped", st)
		}
		var got []string
		for _, r := range f.requests {
			got = append(got, spanNames(r)...)
		}
		want := []string{"Pod.Event0", "Pod.Event1", "Pod.Event2", "Pod.Event3", "Pod.Event4",
			"Pod.Event5", "Pod.Event6", "Pod.Event7", "Pod.Event8", "Pod.Event9"}
		if !slices.Equal(got, want) {
			t.Errorf("received %v, want the first 10 in order", got)
		}
	})
}

func TestWaitWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{gate: make(chan struct{})}
		e := newFake(t, f, Config{QueueSize: 4, BatchSize: 2, WaitWhenFull: true}, nil)
		done := make(chan error)
		go func() { done <- e.Export(t.Context(), testSpans(0, 9)) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Export returned while the queue was full")
		default:
		}
		close(f.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// A cancelled wait gives up, counted.
		time.Sleep(Defaults.BatchTimeout)
		synctest.Wait()
		if st := e.Stats(); st.Sent != 9 {
			t.Fatalf("stats %+v", st)
		}
		f.gate = make(chan struct{})
		mustExport(t, e, testSpans(9, 4)) // fills the queue
		ctx, cancel := context.WithCancel(t.Context())
		go func() { done <- e.Export(ctx, testSpans(13, 3)) }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Export: %v", err)
		}
		close(f.gate)
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Sent != 13 || st.DroppedFull != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestCloseFlushesWithoutWaitingForTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{}
		e := newFake(t, f, Config{BatchTimeout: time.Hour}, nil)
		mustExport(t, e, testSpans(0, 3))
		start := time.Now()
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v", d)
		}
		if got := f.sizes(); !slices.Equal(got, []int{3}) {
			t.Errorf("sent %v", got)
		}
	})
}

func TestCloseGivesUpAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{respond: func(int) codes.Code { return codes.Unavailable }}
		e := newFake(t, f, Config{QueueSize: 50, BatchSize: 10, ShutdownTimeout: time.Hour}, nil)
		mustExport(t, e, testSpans(0, 25))
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		err := e.Close(ctx)
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("Close took %v, want its 3s deadline", d)
		}
		if err == nil || !strings.Contains(err.Error(), "25 spans not sent") {
			t.Errorf("Close: %v", err)
		}
		if st := e.Stats(); st.DroppedShutdown != 25 || st.Sent != 0 || st.Queued != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	// Without a deadline on ctx, ShutdownTimeout bounds it.
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{respond: func(int) codes.Code { return codes.Unavailable }}
		e := newFake(t, f, Config{ShutdownTimeout: 5 * time.Second}, nil)
		mustExport(t, e, testSpans(0, 1))
		start := time.Now()
		if err := e.Close(context.Background()); err == nil {
			t.Error("Close succeeded with a span unsent")
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("Close took %v, want ShutdownTimeout 5s", d)
		}
	})
}

func TestRateLog(t *testing.T) {
	var r rateLog
	t0 := time.Unix(0, 0)
	for i, c := range []struct {
		at   time.Duration
		n    int
		want int64
		ok   bool
	}{
		{0, 2, 2, true}, {time.Second, 3, 0, false}, {9 * time.Second, 1, 0, false},
		{10 * time.Second, 1, 5, true}, {11 * time.Second, 1, 0, false},
	} {
		got, ok := r.add(c.n, t0.Add(c.at), 10*time.Second)
		if got != c.want || ok != c.ok {
			t.Errorf("%d: add = %d, %v; want %d, %v", i, got, ok, c.want, c.ok)
		}
	}
}

func mustExport(t *testing.T, e *Exporter, spans []span.Span) {
	t.Helper()
	if err := e.Export(t.Context(), spans); err != nil {
		t.Fatal(err)
	}
}

// Delivered hears of each accepted batch, and only of those.
func TestDeliveredHearsOfAcceptedBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{respond: func(call int) codes.Code {
			if call == 0 {
				return codes.InvalidArgument
			}
			return codes.OK
		}}
		var got int
		e := newFake(t, f, Config{BatchSize: 4, Delivered: func(s []span.Span) { got += len(s) }}, nil)
		mustExport(t, e, testSpans(0, 4)) // rejected
		synctest.Wait()
		mustExport(t, e, testSpans(4, 6))
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got != 6 {
			t.Errorf("Delivered heard of %d spans, want the 6 accepted", got)
		}
	})
}
