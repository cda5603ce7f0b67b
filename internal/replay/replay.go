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
	"strings"
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
	Files []string
	Stdin io.Reader
	// Records are more records read whole, as kubectl output is (those a
	// caller listed from the apiserver): ordered and dated with it.
	Records []record.Record
	// Window is how far out of order a capture's records may come and
	// still be replayed in order (DefaultWindow when zero).
	Window time.Duration
	Engine correlate.Config
	Sink   sink.Sink
	Log    *slog.Logger
}

// MaxProblems is how many Problems a Result keeps and the log shows one by
// one; the rest are counted.
const MaxProblems = 1000

// Result summarises a replay.
type Result struct {
	Records int
	// Problems are the first MaxProblems parts of the input skipped;
	// Skipped counts them all.
	Problems []decode.Problem
	Skipped  int
	// OutOfWindow counts the records of captures that came further out of
	// order than the window: they were replayed late, out of order.
	OutOfWindow int
	Stats       correlate.Stats
	// ClampedTimes counts the spans whose times were outside what OTLP
	// carries, clamped in every output (sink.Clamp).
	ClampedTimes uint64
}

// Run replays the inputs into the sink, in the order Sort gives, holding
// only what that order needs: the inputs that are kubectl output are read
// whole and sorted together (their records are dated against one another),
// and each kspan capture is read as it is replayed, merged with the rest
// within opt.Window, so that a capture of any length takes the memory of a
// window of it. Unreadable files and undecodable parts are reported in
// Result.Problems and logged; the rest is replayed. The error is for
// failures of the sink or a cancelled ctx, which stops Run promptly
// whatever it waits on (opening a FIFO, reading a pipe) and says what was
// cut off; the spans handed to the sink before stay there for its Close to
// deliver.
func Run(ctx context.Context, opt Options) (res Result, err error) {
	window := opt.Window
	if window <= 0 {
		window = DefaultWindow
	}
	rep := &reporter{log: opt.Log, res: &res, ctx: ctx}
	defer rep.summary()
	var whole []record.Record
	srcs := []*source{{}}
	stdin := opt.Stdin
	for i, f := range opt.Files {
		in, probs, release := openInput(ctx, f, stdin)
		if f == "-" {
			stdin = strings.NewReader("") // read once: a second "-" is empty, as it was at its end
		}
		defer release()
		rep.add(probs)
		if in != nil {
			rep.add(in.Problems())
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("interrupted while reading %s (%d more file(s) not read): nothing was replayed, as records are ordered across the input before any is decided: %w",
				rep.cut(displayName(f)), len(opt.Files)-i-1, ctx.Err())
		}
		if in == nil {
			continue
		}
		if in.Streamed() {
			srcs = append(srcs, &source{in: in})
			continue
		}
		for r, ok := in.Next(); ok; r, ok = in.Next() {
			whole = append(whole, r)
		}
	}
	whole = append(whole, opt.Records...)
	InferObserved(whole)
	Sort(whole)
	srcs[0].recs = whole

	out := &sink.Clamp{Next: opt.Sink, Log: opt.Log}
	defer func() { res.ClampedTimes = out.Clamped() }()
	cfg := opt.Engine
	cfg.Out = correlate.ConsumerFunc(func(spans []span.Span) error { return out.Export(ctx, spans) })
	eng := correlate.New(cfg)
	m := newMerger(srcs, window)
	defer func() { res.OutOfWindow = m.late }()
	for {
		r, ok := m.next(func(s *source) {
			if s.in != nil {
				rep.add(s.in.Problems())
			}
		})
		if ctx.Err() != nil {
			return res, fmt.Errorf("interrupted while reading %s after %d records: the spans decided before were exported, the events still held and the open traces were not: %w",
				rep.cut("the input"), res.Records, ctx.Err())
		}
		if !ok {
			break
		}
		res.Records++
		now := r.Observed
		if r.Inferred {
			now = time.Time{} // an inferred time dates a generation; it is not a clock reading
		}
		eng.Add(r, now)
		if err := eng.Err(); err != nil {
			return res, fmt.Errorf("exporting spans: %w", err)
		}
	}
	eng.Flush()
	res.Stats = eng.Stats()
	if m.late > 0 {
		opt.Log.Warn("records of a capture came further out of order than -reorder-window and were replayed late, out of order; a longer window orders them",
			"out_of_window", m.late, "window", window)
	}
	if err := eng.Err(); err != nil {
		return res, fmt.Errorf("exporting spans: %w", err)
	}
	return res, nil
}

// reporter logs and keeps the Problems met, up to MaxProblems, and counts
// them all.
type reporter struct {
	log *slog.Logger
	res *Result
	ctx context.Context
	// cutAt is the input whose reading ctx cut.
	cutAt string
}

func (p *reporter) add(probs []decode.Problem) {
	for _, pr := range probs {
		if p.ctx.Err() != nil && errors.Is(pr.Err, p.ctx.Err()) {
			p.cutAt = pr.Source // "name" or "name:LINE"
			if i := strings.LastIndexByte(pr.Source, ':'); i > 0 {
				p.cutAt = pr.Source[:i]
			}
			continue // said by Run's error
		}
		p.res.Skipped++
		if len(p.res.Problems) < MaxProblems {
			p.res.Problems = append(p.res.Problems, pr)
			p.log.Warn("skipped input", "where", pr.Source, "error", pr.Err)
		}
	}
}

// cut names the input ctx cut, or else orElse.
func (p *reporter) cut(orElse string) string {
	if p.cutAt != "" {
		return p.cutAt
	}
	return orElse
}

func (p *reporter) summary() {
	if n := p.res.Skipped - len(p.res.Problems); n > 0 {
		p.log.Warn("more parts of the input were skipped than are logged one by one", "not_logged", n, "skipped", p.res.Skipped)
	}
}

// Sort orders records by observed time, objects before events at the same
// time, then by content and source, so that the same records in any order
// sort the same.
func Sort(recs []record.Record) { slices.SortStableFunc(recs, compare) }

// compare is Sort's order.
func compare(a, b record.Record) int {
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
