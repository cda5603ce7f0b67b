package tree

import (
	"hash/fnv"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/printable"
	"github.com/kspan-project/kspan/internal/span"
)

// What follows is the part of the drawing that the web viewer shares, so
// the browser and the terminal tell the same story: the same roots, the
// same order of siblings, the same names, durations and colours.

// Node is a span placed in its trace's tree as Render draws it.
type Node struct {
	Span *span.Span
	// Orphan marks a span drawn as an extra root: its parent is not among
	// the spans, or it sits in a parent cycle.
	Orphan   bool
	Children []*Node
}

// Layout arranges the spans of one trace (at least one span; all of the
// same trace) exactly as Render draws them: the roots are the spans without
// a parent, then the orphans, each group by start; siblings are ordered by
// start, then by input order (the engine's causal order). Every span is in
// the result exactly once. start and end bound all the spans.
func Layout(spans []span.Span) (roots []*Node, start, end time.Time) {
	t := build(spans)
	return layout(t), t.start, t.end
}

// layout converts the linked trace into Nodes, visiting each span once even
// when duplicate IDs or cycles would reach it twice.
func layout(t *trace) []*Node {
	var conv func(n *node) *Node
	conv = func(n *node) *Node {
		n.done = true
		out := &Node{Span: n.s, Orphan: n.orphan}
		kids := n.children[:0:0]
		for _, c := range n.children {
			if !c.done {
				kids = append(kids, c)
			}
		}
		for _, c := range kids {
			if !c.done {
				out.Children = append(out.Children, conv(c))
			}
		}
		return out
	}
	var roots []*Node
	for _, r := range t.roots {
		if !r.done {
			roots = append(roots, conv(r))
		}
	}
	for _, n := range t.nodes {
		n.done = false
	}
	return roots
}

// Object names a span's involved object as a trace's header does:
// "Deployment default/web" (parts that are missing are left out).
func Object(s *span.Span) string {
	object := printable.Line(s.Attr(span.KeyObjectName))
	if ns := printable.Line(s.Attr(span.KeyNamespace)); ns != "" && object != "" {
		object = ns + "/" + object
	}
	if kind := printable.Line(s.Attr(span.KeyObjectKind)); kind != "" {
		object = strings.TrimSpace(kind + " " + object)
	}
	return object
}

// Duration formats d as the tree does: at most six characters for anything
// under 100 days ("0.41s", "2m05s", "3h10m").
func Duration(d time.Duration) string { return human(d) }

// Palette is the number of colours bars are painted in.
const Palette = len(palette)

// ColorIndex is the colour of a reporting component's bars, an index into
// a palette of Palette colours, or -1 for spans without a component
// (synthetic roots), which are drawn without colour.
func ColorIndex(component string) int {
	if component == "" {
		return -1
	}
	h := fnv.New32a()
	h.Write([]byte(component))
	return int(h.Sum32() % uint32(len(palette)))
}
