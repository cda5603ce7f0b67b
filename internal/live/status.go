package live

import (
	"maps"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"

	"github.com/kspan-project/kspan/internal/correlate"
)

// Status is what a live run tells the rest of the process about itself:
// whether the caches have synced, and a copy of the engine's counters. The
// engine belongs to the run's one goroutine, so nothing else reads it;
// instead the run publishes a Snapshot on every tick. Safe for concurrent
// use; the zero value is ready (nothing synced, nothing published).
type Status struct {
	synced        atomic.Bool
	watchRestarts atomic.Uint64
	unchanged     atomic.Uint64
	snap          atomic.Pointer[Snapshot]
}

// Snapshot is a copy of the engine's state at one moment.
type Snapshot struct {
	// At is when it was taken (the run's wall clock): the engine loop was
	// alive then.
	At     time.Time
	Engine correlate.Stats
	// Events counts the Events received by API (events.k8s.io/v1 or v1) and
	// type (Normal, Warning, ...).
	Events map[EventKind]uint64
	// ClampedTimes counts the spans whose times were outside what OTLP
	// carries, clamped in every output (sink.Clamp).
	ClampedTimes uint64
	// Rollouts are the rollouts waiting for their outcome, the longest
	// waiting first (at most MaxOpenRollouts).
	Rollouts []correlate.OpenRollout
}

// MaxOpenRollouts bounds the rollouts in progress a Snapshot lists.
const MaxOpenRollouts = 200

// EventKind is the API an Event was read from and its type.
type EventKind struct{ API, Type string }

// Synced reports whether the Event informer's cache has synced (the object
// caches were waited for before it started).
func (s *Status) Synced() bool { return s != nil && s.synced.Load() }

// WatchRestarts counts the watches that failed and were started again (a
// relist), over every informer.
func (s *Status) WatchRestarts() uint64 {
	if s == nil {
		return 0
	}
	return s.watchRestarts.Load()
}

// UnchangedUpdates counts the object updates not passed on because nothing
// kspan reads changed (a pod's status, a ReplicaSet's replica counts).
func (s *Status) UnchangedUpdates() uint64 {
	if s == nil {
		return 0
	}
	return s.unchanged.Load()
}

// Snapshot returns the last published snapshot, or nil before the first.
// The caller must not modify it.
func (s *Status) Snapshot() *Snapshot {
	if s == nil {
		return nil
	}
	return s.snap.Load()
}

// Publish replaces the snapshot. The run calls it; tests may too.
func (s *Status) Publish(sn Snapshot) {
	if s == nil {
		return
	}
	sn.Events = maps.Clone(sn.Events)
	s.snap.Store(&sn)
}

// SetSynced marks the caches synced (the source calls it; tests may too).
func (s *Status) SetSynced() {
	if s != nil {
		s.synced.Store(true)
	}
}

func (s *Status) skippedUnchanged() {
	if s != nil {
		s.unchanged.Add(1)
	}
}

func (s *Status) watchRestarted() {
	if s != nil {
		s.watchRestarts.Add(1)
	}
}

// apiOf names the API an Event as served came from.
func apiOf(raw any) string {
	switch raw.(type) {
	case *eventsv1.Event:
		return "events.k8s.io/v1"
	case *corev1.Event:
		return "v1"
	}
	return ""
}
