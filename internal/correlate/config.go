package correlate

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
)

// Config tunes the engine. Zero values mean the defaults in Defaults.
type Config struct {
	// Window is how recent a controller or owner event must be to become a
	// parent, and the quiet gap that ends an episode of a root object's
	// activity.
	Window time.Duration
	// Hold is how long an occurrence waits for records that may still
	// arrive out of order before its parent is chosen.
	Hold time.Duration
	// Linger is how long a trace stays open after its last span joined,
	// before it is exported.
	Linger time.Duration
	// MaxTraceAge, when positive, exports a trace this long after it was
	// opened even while spans still join it: those come after it as late
	// spans, and the parents exported then are not stretched over them.
	// Zero waits for the trace to be quiet for Linger, however long that
	// takes (a long rollout is seen only once it has settled).
	MaxTraceAge time.Duration
	// MaxRolloutWait is how long the trace of a rollout whose status says
	// it goes on waits for its outcome past Linger (counted from its first
	// span); it is then exported with the outcome in_progress.
	MaxRolloutWait time.Duration
	// StuckAfter is how long a rollout waits for its outcome before
	// Stats.Rollouts counts it stuck.
	StuckAfter time.Duration
	// Stream exports each span soon after it is decided (in batches at
	// most StreamEvery apart) instead of with its whole trace: the spans
	// reach the backend a hold after their Events, not after the rollout
	// settles, and no parent is stretched over its children (exported
	// spans never change): a synthetic root is sent with its trace's first
	// span, at the change's time (a rollout's at its outcome, see
	// outcome.go). Linger and MaxTraceAge do not apply.
	Stream bool
	// MaxHeld bounds occurrences waiting for their hold; beyond it the
	// oldest is decided early (counted in Stats.ForcedDecisions).
	MaxHeld int
	// MaxOpenSpans bounds spans in traces not yet exported; beyond it the
	// least recently active trace is exported early (Stats.ForcedFlushes).
	MaxOpenSpans int
	// MaxTracked bounds objects, mention targets and event UIDs the engine
	// remembers activity for; the oldest are forgotten (Stats.Forgotten).
	MaxTracked int
	// MaxRepeats bounds spans per Event object: further occurrences (count
	// bumps of a crash loop) are counted in Stats.Suppressed, not exported.
	MaxRepeats int
	// MaxDepth bounds owner walks (Stats.DeepChains counts cut walks).
	MaxDepth int
	// Index bounds the object index.
	Index owners.Config
	// Rules is the controller message table (nil: rules.Default).
	Rules []rules.Rule
	// Keep says which Events get a span (nil: all). The others are still
	// decided and still cause their children, which hang from the nearest
	// exported ancestor instead (Stats.Filtered counts them).
	Keep func(*record.Event) bool
	// Selector, when set, exports only Events whose involved object, or an
	// owner up its controller chain, has matching labels (among those the
	// index keeps: set Index.LabelKeys to the selector's keys). The others
	// are treated as Keep treats the ones it leaves out.
	Selector labels.Selector
	// Checkpoint, when set, says what an earlier run already exported (a
	// restart's relist, a new leader). Such occurrences are decided and
	// cause their children as usual, but are not exported again, and count
	// as part of the trace they were exported in (a relist shows objects in
	// their latest state only, so the engine might now place them
	// elsewhere); nor is a root span exported before. Stats.Checkpointed
	// counts them.
	Checkpoint Checkpoint
	// Out receives each exported batch (nil: the spans are dropped).
	Out Consumer
}

// Consumer takes the engine's exported spans.
type Consumer interface {
	// Consume takes one batch: the spans of one trace (or late spans of
	// an exported trace; with Stream, the spans of one trace decided since
	// the last batch). It is called synchronously from Add, Advance and
	// Flush, from the engine's goroutine, and must not retain the slice.
	// An error says the batch was not taken: the engine counts its spans
	// (Stats.Refused), keeps the first error (Engine.Err) and goes on; a
	// batch is never offered again (exported spans never change).
	Consume(spans []span.Span) error
}

// ConsumerFunc is a function as a Consumer.
type ConsumerFunc func(spans []span.Span) error

// Consume calls f.
func (f ConsumerFunc) Consume(spans []span.Span) error { return f(spans) }

// Checkpoint is what earlier runs exported. Its methods are called from
// the engine's goroutine and must not block.
type Checkpoint interface {
	// Exported reports whether occurrence count of the Event was exported,
	// and the trace the Event's latest exported occurrence went to (zero
	// when not known).
	Exported(uid string, count int32) (span.TraceID, bool)
	// ExportedRoot reports whether the synthetic root span was exported.
	ExportedRoot(id span.ID) bool
}

// Defaults are the values used for zero fields.
var Defaults = Config{
	Window:         5 * time.Minute,
	Hold:           5 * time.Second,
	Linger:         10 * time.Second,
	MaxRolloutWait: time.Hour,
	StuckAfter:     15 * time.Minute,
	MaxHeld:        10000,
	MaxOpenSpans:   100000,
	MaxTracked:     200000,
	MaxRepeats:     10,
	MaxDepth:       10,
}

func (c Config) withDefaults() Config {
	d := Defaults
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.Hold <= 0 {
		c.Hold = d.Hold
	}
	if c.Linger <= 0 {
		c.Linger = d.Linger
	}
	if c.MaxRolloutWait <= 0 {
		c.MaxRolloutWait = d.MaxRolloutWait
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = d.StuckAfter
	}
	if c.MaxHeld <= 0 {
		c.MaxHeld = d.MaxHeld
	}
	if c.MaxOpenSpans <= 0 {
		c.MaxOpenSpans = d.MaxOpenSpans
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = d.MaxTracked
	}
	if c.MaxRepeats <= 0 {
		c.MaxRepeats = d.MaxRepeats
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = d.MaxDepth
	}
	if c.Rules == nil {
		c.Rules = rules.Default
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Window < 0 || c.Hold < 0 || c.Linger < 0 || c.MaxTraceAge < 0 || c.MaxRolloutWait < 0 || c.StuckAfter < 0 {
		errs = append(errs, errors.New("window, hold, linger, max trace age, max rollout wait and stuck after must not be negative"))
	}
	if c.Window > 0 && c.Window < time.Second {
		errs = append(errs, fmt.Errorf("window %v is shorter than the 1s resolution of event timestamps", c.Window))
	}
	if c.MaxHeld < 0 || c.MaxOpenSpans < 0 || c.MaxTracked < 0 || c.MaxRepeats < 0 || c.MaxDepth < 0 {
		errs = append(errs, errors.New("bounds must not be negative"))
	}
	return errors.Join(errs...)
}

// Stats counts what the engine received, produced and dropped.
type Stats struct {
	Events, Objects uint64
	// Duplicates are occurrences seen before (the same Event through both
	// APIs, a relist) or older than one already exported: not lost.
	Duplicates uint64
	// Suppressed are occurrences beyond MaxRepeats for one Event object.
	Suppressed uint64
	// Filtered are occurrences Config.Keep left out.
	Filtered uint64
	// Checkpointed are occurrences Config.Checkpoint said an earlier run
	// exported.
	Checkpointed uint64
	// Spans were exported (event spans plus synthetic roots).
	Spans uint64
	// Refused are spans in batches Config.Out returned an error for.
	Refused uint64
	// LateSpans joined a trace that had already been exported.
	LateSpans uint64
	// ForcedDecisions were decided before their hold because of MaxHeld.
	ForcedDecisions uint64
	// ForcedFlushes were traces exported early because of MaxOpenSpans.
	ForcedFlushes uint64
	// Forgotten counts activity records dropped because of MaxTracked.
	Forgotten uint64
	// Truncated counts Event messages cut to MaxMessage bytes in their span.
	Truncated uint64
	// FutureTimes counts occurrences dated over an hour after they were
	// observed: the observation was used instead.
	FutureTimes uint64
	// Cycles counts owner walks cut by an owner-reference cycle, DeepChains
	// those cut by MaxDepth.
	Cycles, DeepChains uint64
	// Held, OpenTraces and OpenSpans are current depths.
	Held, OpenTraces, OpenSpans int
	Index                       owners.Stats
	Rollouts                    RolloutStats
}
