package web

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/printable"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

// What the pages show (render.go writes them). Everything is computed here
// so the renderers hold no logic beyond loops and conditions.

const timeLayout = "2006-01-02 15:04:05 UTC"

type listView struct {
	Filter   Filter
	Filtered bool
	Rows     []listRow
	Stats    Stats
	Live     bool
	// Suggestions for the filter inputs, from every stored trace.
	Namespaces, Kinds, Reasons []string
	// Rollouts says the page of rollouts in progress exists (live mode);
	// Open and Stuck count them.
	Rollouts    bool
	Open, Stuck int
}

type listRow struct {
	ID, Object, RootName, Namespace string
	Start, StartExact, Duration     string
	Spans, Errors                   int
	// Outcome is the root's rollout outcome (a CSS class), Rollout says
	// it in words with its duration; both empty for other traces.
	Outcome, Rollout string
}

// rollout is the outcome of the rollout root stands for, and in words.
func rollout(root *span.Span) (outcome, text string) {
	if root == nil {
		return "", ""
	}
	outcome = root.Attr(span.KeyRolloutOutcome)
	text = strings.TrimPrefix(tree.RolloutOutcome(root), "rollout ")
	if outcome == "unknown" {
		text = "unknown"
	}
	return outcome, text
}

func newListView(st *Store, f Filter, live bool) listView {
	v := listView{Filter: f, Filtered: !f.IsZero(), Stats: st.Stats(), Live: live}
	ns, kinds, reasons := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range st.List(Filter{}) {
		if t.Namespace != "" {
			ns[t.Namespace] = true
		}
		for _, o := range t.Objects {
			if o.Kind != "" {
				kinds[o.Kind] = true
			}
		}
		for _, r := range t.Reasons {
			reasons[r] = true
		}
		if !f.Match(t) {
			continue
		}
		row := listRow{
			ID: t.ID.String(), Object: t.Object, RootName: printable.Line(t.Root.Name), Namespace: t.Namespace,
			Start: t.Start.UTC().Format(timeLayout), StartExact: t.Start.UTC().Format(time.RFC3339Nano),
			Duration: tree.Duration(t.End.Sub(t.Start)), Spans: len(t.Spans), Errors: t.Errors,
		}
		row.Outcome, row.Rollout = rollout(t.Root)
		v.Rows = append(v.Rows, row)
	}
	v.Namespaces, v.Kinds, v.Reasons = sorted(ns), sorted(kinds), sorted(reasons)
	return v
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type traceView struct {
	ID, Object, RootName string
	Start, Duration      string
	Spans, Warnings      int
	Orphans              int
	// Outcome and Rollout: see listRow.
	Outcome, Rollout string
	Ticks            []tick
	// TickWidth is the ruler's step as a share of the axis (CSS), for the
	// grid lines behind the bars.
	TickWidth  string
	TotalNanos int64
	Nodes      []*nodeView
	Components []component
	Stats      Stats
}

type tick struct{ Left, Label string }

type component struct {
	Name  string
	Color string
}

type nodeView struct {
	ID, Parent           string
	Name, Message        string
	FullMessage          string // as the cluster wrote it, for the panel
	Warn, Orphan, Root   bool
	Depth                int
	Off, Dur             string
	OffNanos, DurNanos   int64
	Left, Width          string // the bar on the axis (CSS percentages)
	Color                string // a CSS class
	Component            string
	Status               string
	StartTime, EndTime   string
	Attrs                []attrView
	Links                []linkView
	Object, ObjectFilter string
	OtherTraces          int
	Children             []*nodeView
	Descendants          int
}

type attrView struct{ Key, Value string }

type linkView struct {
	TraceID, SpanID string
	Attrs           []attrView
}

func newTraceView(st *Store, t *Trace) traceView {
	roots, start, end := tree.Layout(t.Spans)
	total := end.Sub(start)
	v := traceView{
		ID: t.ID.String(), Object: t.Object, RootName: printable.Line(t.Root.Name),
		Start: start.UTC().Format(timeLayout), Duration: tree.Duration(total),
		Spans: len(t.Spans), Warnings: t.Errors, Stats: st.Stats(), TotalNanos: int64(total),
	}
	v.Ticks, v.TickWidth = ruler(total)
	v.Outcome, v.Rollout = rollout(t.Root)

	// How many stored traces each object appears in, for the links to its
	// other traces.
	traces := make(map[ObjectRef]int)
	for _, o := range st.List(Filter{}) {
		for _, ref := range o.Objects {
			traces[ref]++
		}
	}
	comps := make(map[string]bool)
	var conv func(n *tree.Node, depth int) *nodeView
	conv = func(n *tree.Node, depth int) *nodeView {
		nv := newNodeView(n.Span, start, total, depth)
		nv.Orphan = n.Orphan
		ref := objectOf(n.Span)
		if nv.Object = objectLabel(ref); nv.Object != "" {
			nv.ObjectFilter = objectFilter(ref)
			nv.OtherTraces = max(traces[ref]-1, 0)
		}
		if nv.Component != "" && !comps[nv.Component] {
			comps[nv.Component] = true
			v.Components = append(v.Components, component{nv.Component, nv.Color})
		}
		for _, c := range n.Children {
			cv := conv(c, depth+1)
			nv.Children = append(nv.Children, cv)
			nv.Descendants += 1 + cv.Descendants
		}
		return nv
	}
	for _, r := range roots {
		if r.Orphan {
			v.Orphans++
		}
		v.Nodes = append(v.Nodes, conv(r, 0))
	}
	slices.SortFunc(v.Components, func(a, b component) int { return strings.Compare(a.Name, b.Name) })
	return v
}

func newNodeView(s *span.Span, start time.Time, total time.Duration, depth int) *nodeView {
	off, dur := max(s.Start.Sub(start), 0), max(s.End.Sub(s.Start), 0)
	nv := &nodeView{
		ID: s.SpanID.String(), Name: printable.Line(s.Name), Message: printable.Line(s.Attr(span.KeyEventMessage)),
		Warn: s.Error, Root: s.Parent.IsZero(), Depth: depth,
		Off: "+" + tree.Duration(off), Dur: tree.Duration(dur), OffNanos: int64(off), DurNanos: int64(dur),
		Component: s.Attr(span.KeyEventComponent), Status: s.StatusMessage,
		StartTime: s.Start.UTC().Format(time.RFC3339Nano), EndTime: s.End.UTC().Format(time.RFC3339Nano),
		Color: "c-none",
	}
	nv.FullMessage = s.Attr(span.KeyEventMessage)
	if nv.Message == "" {
		nv.Message = printable.Line(s.Attr(span.KeyObjectName))
	}
	if !s.Parent.IsZero() {
		nv.Parent = s.Parent.String()
	}
	if i := tree.ColorIndex(nv.Component); i >= 0 {
		nv.Color = "c" + strconv.Itoa(i)
	}
	left, width := 0.0, 0.0
	if total > 0 {
		left = min(float64(off)/float64(total), 1)
		width = min(float64(dur)/float64(total), 1-left)
	}
	nv.Left, nv.Width = percent(left), percent(width)
	nv.Attrs = attrViews(s.AllAttrs())
	for _, l := range s.Links {
		nv.Links = append(nv.Links, linkView{TraceID: l.TraceID.String(), SpanID: l.SpanID.String(), Attrs: attrViews(l.Attrs)})
	}
	return nv
}

func attrViews(attrs []span.Attr) []attrView {
	out := make([]attrView, 0, len(attrs))
	for _, a := range attrs {
		var v string
		switch a.Kind {
		case span.Int:
			v = strconv.FormatInt(a.Int, 10)
		case span.Bool:
			v = strconv.FormatBool(a.Bool)
		default:
			v = a.Str
		}
		out = append(out, attrView{a.Key, v})
	}
	return out
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 4, 64) + "%" }

// objectLabel is "Pod default/web-1" (or what of it is known).
func objectLabel(o ObjectRef) string {
	name := o.Name
	if o.Namespace != "" && name != "" {
		name = o.Namespace + "/" + name
	}
	if o.Kind != "" && name != "" {
		return o.Kind + " " + name
	}
	return name
}

// objectFilter is the list's query for the traces of an object: by UID
// when known, else by kind, namespace and name.
func objectFilter(o ObjectRef) string {
	f := Filter{UID: o.UID}
	if o.UID == "" {
		f = Filter{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	}
	return "/?" + f.Query().Encode()
}

// ruler chooses ticks 1, 2 or 5 times a power of ten apart, at most eight
// steps over the axis, and returns them with the step's share of the axis.
func ruler(total time.Duration) ([]tick, string) {
	if total <= 0 {
		return []tick{{Left: "0%", Label: "0s"}}, "100%"
	}
	step := rulerStep(total)
	var ticks []tick
	for at := time.Duration(0); at <= total; at += step {
		ticks = append(ticks, tick{Left: percent(float64(at) / float64(total)), Label: rulerLabel(at, step)})
	}
	return ticks, percent(float64(step) / float64(total))
}

func rulerStep(total time.Duration) time.Duration {
	for p := time.Duration(1); ; p *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if total <= 8*m*p {
				return m * p
			}
		}
	}
}

// rulerLabel formats a tick with no more precision than the step needs.
func rulerLabel(at, step time.Duration) string {
	switch {
	case at == 0:
		return "0s"
	case step >= time.Minute || at >= 100*time.Second:
		return tree.Duration(at)
	case step >= time.Second:
		return fmt.Sprintf("%ds", at/time.Second)
	case step >= 100*time.Millisecond:
		return strconv.FormatFloat(at.Seconds(), 'f', 1, 64) + "s"
	case step >= 10*time.Millisecond:
		return strconv.FormatFloat(at.Seconds(), 'f', 2, 64) + "s"
	case step >= time.Millisecond:
		return strconv.FormatFloat(float64(at)/float64(time.Millisecond), 'f', 0, 64) + "ms"
	}
	return at.String()
}

// parseTraceID reads 32 hex digits.
func parseTraceID(s string) (span.TraceID, bool) {
	var id span.TraceID
	if len(s) != 2*len(id) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, false
	}
	return id, !id.IsZero()
}
