package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// Store makes a Set durable.
//
// Load returns what was saved: nothing, and no error, when nothing was saved
// yet; an error wrapping ErrTruncated with the entries before a cut-short
// write. Save is called from one goroutine at a time with the entries
// recorded since the last successful Save (added) and the whole set (all):
// a journal appends added, a snapshot writes all. Synchronous stores are
// saved after every delivered batch, before the next is delivered; the
// others every interval and on Close.
type Store interface {
	Load(ctx context.Context) ([]Entry, error)
	Save(ctx context.Context, added, all []Entry) error
	Synchronous() bool
	String() string
}

// Checkpoint is a Set and the Store that keeps it.
type Checkpoint struct {
	set      *Set
	store    Store
	interval time.Duration
	log      *slog.Logger

	saveMu            sync.Mutex
	saves, failures   atomic.Int64
	lastSave, loadedN atomic.Int64
}

// Options tune a Checkpoint.
type Options struct {
	// Max bounds the entries (DefaultMax when zero).
	Max int
	// Interval is how often an asynchronous store is saved (1s when zero).
	Interval time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	Log *slog.Logger
}

// Open loads what store holds.
func Open(ctx context.Context, store Store, opt Options) (*Checkpoint, error) {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	c := &Checkpoint{set: NewSet(opt.Max), store: store, interval: opt.Interval, log: opt.Log}
	es, err := store.Load(ctx)
	switch {
	case errors.Is(err, ErrTruncated):
		opt.Log.Warn("checkpoint ends in a cut-short write (a crash); using the entries before it", "checkpoint", store.String(), "error", err)
	case err != nil:
		return nil, fmt.Errorf("loading the checkpoint %s: %w", store, err)
	}
	c.set.Merge(es)
	c.set.Prune(opt.Now())
	c.set.take() // what was loaded is saved already
	c.loadedN.Store(int64(c.set.Len()))
	opt.Log.Info("checkpoint loaded", "checkpoint", store.String(), "exported_events", c.set.Len())
	return c, nil
}

// Exported reports whether an earlier run (or this one) exported the
// occurrence: correlate.Checkpoint's Exported.
func (c *Checkpoint) Exported(uid string, count int32) (span.TraceID, bool) {
	return c.set.Exported(uid, count)
}

// ExportedRoot reports whether a root span was exported.
func (c *Checkpoint) ExportedRoot(id span.ID) bool { return c.set.ExportedRoot(id) }

// Delivered records a batch the output delivered; for a synchronous store
// it is saved before Delivered returns. Safe for concurrent use.
func (c *Checkpoint) Delivered(spans []span.Span, now time.Time) {
	if c.set.Record(spans, now) > 0 && c.store.Synchronous() {
		if err := c.Save(context.Background()); err != nil {
			c.log.Error("saving the checkpoint failed; after a restart these events may be exported again", "checkpoint", c.store.String(), "error", err)
		}
	}
}

// Save writes what changed since the last save.
func (c *Checkpoint) Save(ctx context.Context) error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	added, all, dirty := c.set.take()
	if !dirty {
		return nil
	}
	if err := c.store.Save(ctx, added, all); err != nil {
		c.set.undo(added)
		c.failures.Add(1)
		return err
	}
	c.saves.Add(1)
	c.lastSave.Store(time.Now().UnixNano())
	return nil
}

// Run saves every interval (and prunes old entries) until ctx is done; it
// does not make the final save (Close does, once the outputs are done).
func (c *Checkpoint) Run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.set.Prune(now)
			if err := c.Save(ctx); err != nil && ctx.Err() == nil {
				if err.Error() != lastErr {
					c.log.Error("saving the checkpoint failed; retrying", "checkpoint", c.store.String(), "error", err)
				}
				lastErr = err.Error()
			} else {
				lastErr = ""
			}
		}
	}
}

// Close makes the final save, within ctx.
func (c *Checkpoint) Close(ctx context.Context) error {
	if err := c.Save(ctx); err != nil {
		return fmt.Errorf("saving the checkpoint %s: %w", c.store, err)
	}
	c.log.Info("checkpoint saved", "checkpoint", c.store.String(), "exported_events", c.set.Len())
	return nil
}

// Stats are a checkpoint's counters.
type Stats struct {
	Entries, Loaded int
	Evicted         uint64
	Saves, Failures int64
	LastSave        time.Time
}

// Stats returns the counters; safe at any time.
func (c *Checkpoint) Stats() Stats {
	s := Stats{Entries: c.set.Len(), Loaded: int(c.loadedN.Load()), Evicted: c.set.Evicted(),
		Saves: c.saves.Load(), Failures: c.failures.Load()}
	if ns := c.lastSave.Load(); ns != 0 {
		s.LastSave = time.Unix(0, ns)
	}
	return s
}
