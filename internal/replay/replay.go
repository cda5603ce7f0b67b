package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// Options says what to replay and where the spans go.
type Options struct {
	// Files are paths; "-" is Stdin.
	Files  []string
	Stdin  io.Reader
	Engine correlate.Config
	Sink   sink.Sink
	Log    *slog.Logger
}

// Result summarises a replay.
type Result struct {
	Records  int
	Problems []decode.Problem
	Stats    correlate.Stats
	// ClampedTimes counts the spans whose times were outside what OTLP
	// carries, clamped in every output (sink.Clamp).
	ClampedTimes uint64
}

// Run replays the files into the sink. Unreadable files and undecodable
// parts are reported in Result.Problems and logged; the rest is replayed.
// The error is for failures of the sink or a cancelled ctx, which stops Run
// promptly whatever it waits on (opening a FIFO, reading a pipe) and says
// what was cut off: while reading, nothing is replayed; after, the spans
// handed to the sink stay there for its Close to deliver.
func Run(ctx context.Context, opt Options) (res Result, err error) {
	var recs []record.Record
	for i, f := range opt.Files {
		got, problems := readFile(ctx, f, opt.Stdin)
		if ctx.Err() != nil {
			return res, interrupted(ctx, problems, opt.Files[i+1:])
		}
		recs = append(recs, got...)
		res.Problems = append(res.Problems, problems...)
	}
	for _, p := range res.Problems {
		opt.Log.Warn("skipped input", "where", p.Source, "error", p.Err)
	}
	InferObserved(recs)
	Sort(recs)
	res.Records = len(recs)

	var sinkErr error
	out := &sink.Clamp{Next: opt.Sink, Log: opt.Log}
	defer func() { res.ClampedTimes = out.Clamped() }()
	cfg := opt.Engine
	cfg.Out = func(spans []span.Span) {
		if sinkErr == nil {
			sinkErr = out.Export(ctx, spans)
		}
	}
	eng := correlate.New(cfg)
	for i, r := range recs {
		if i%1024 == 0 && ctx.Err() != nil {
			return res, fmt.Errorf("interrupted after %d of %d records: the spans decided before were exported, the events still held and the open traces were not: %w",
				i, len(recs), ctx.Err())
		}
		now := r.Observed
		if r.Inferred {
			now = time.Time{} // an inferred time dates a generation; it is not a clock reading
		}
		eng.Add(r, now)
		if sinkErr != nil {
			return res, fmt.Errorf("exporting spans: %w", sinkErr)
		}
	}
	eng.Flush()
	res.Stats = eng.Stats()
	if sinkErr != nil {
		return res, fmt.Errorf("exporting spans: %w", sinkErr)
	}
	return res, nil
}

// interrupted is the error of a replay stopped while reading: records are
// ordered across every input before any is decided, so nothing was.
func interrupted(ctx context.Context, problems []decode.Problem, unread []string) error {
	where := "the input"
	for _, p := range problems {
		if errors.Is(p.Err, ctx.Err()) {
			where = p.Source
		}
	}
	return fmt.Errorf("interrupted while reading %s (%d more file(s) not read): nothing was replayed, as records are ordered across all the input before any is decided: %w",
		where, len(unread), ctx.Err())
}

// Sort orders records by observed time, objects before events at the same
// time, then by content and source, so that the same records in any order
// sort the same.
func Sort(recs []record.Record) {
	at := func(r record.Record) time.Time {
		if r.Inferred {
			return time.Time{}
		}
		return r.Observed
	}
	slices.SortStableFunc(recs, func(a, b record.Record) int {
		if c := at(a).Compare(at(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(kindRank(a), kindRank(b)); c != 0 {
			return c
		}
		if a.Event != nil {
			x, y := a.Event, b.Event
			if c := x.Last.Compare(y.Last); c != 0 {
				return c
			}
			if c := cmp.Compare(x.UID, y.UID); c != 0 {
				return c
			}
			if c := cmp.Compare(x.Count, y.Count); c != 0 {
				return c
			}
			if c := cmp.Compare(x.API, y.API); c != 0 {
				return c
			}
		} else {
			x, y := a.Object, b.Object
			if c := cmp.Compare(x.UID, y.UID); c != 0 {
				return c
			}
			if c := cmp.Compare(x.Generation, y.Generation); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return cmp.Compare(a.Source, b.Source)
	})
}

func kindRank(r record.Record) int {
	if r.Object != nil {
		return 0
	}
	return 1
}

// InferObserved dates object versions that were read without an observation
// time (kubectl output) by the first Event that etcd stored after them: both
// carry etcd revisions as resourceVersion, and an object version existed no
// later than an Event written after it. That tells apart spec changes that
// managedFields cannot (kubectl scale writes an entry with no time). Records
// with non-numeric resourceVersions are left alone.
func InferObserved(recs []record.Record) {
	type stamp struct {
		rv uint64
		t  time.Time
	}
	var evs []stamp
	for _, r := range recs {
		if r.Event != nil {
			if rv, err := strconv.ParseUint(r.Event.ResourceVersion, 10, 64); err == nil {
				evs = append(evs, stamp{rv, r.Event.Last})
			}
		}
	}
	if len(evs) == 0 {
		return
	}
	slices.SortFunc(evs, func(a, b stamp) int { return cmp.Compare(a.rv, b.rv) })
	for i := range recs {
		r := &recs[i]
		if r.Object == nil || !r.Observed.IsZero() || r.Op == record.Delete {
			continue
		}
		rv, err := strconv.ParseUint(r.Object.ResourceVersion, 10, 64)
		if err != nil {
			continue
		}
		j, _ := slices.BinarySearchFunc(evs, rv, func(s stamp, rv uint64) int { return cmp.Compare(s.rv, rv+1) })
		if j < len(evs) {
			r.Observed, r.Inferred = evs[j].t, true
		}
	}
}
