package tree

import (
	"slices"
	"testing"
)

// Layout is what the viewer draws: each span once, in the tree's order,
// the orphan last among the roots.
func TestLayout(t *testing.T) {
	spans := webTrace()
	// A parent cycle hangs off no root: Layout still places both once.
	a := ev(spans[0].TraceID, "a", "b", "Pod.A", 3, 3, "kubelet", "x", "")
	b := ev(spans[0].TraceID, "b", "a", "Pod.B", 4, 4, "kubelet", "x", "")
	spans = append(spans, a, b)
	roots, start, end := Layout(spans)
	if !start.Equal(at(0)) || !end.Equal(at(12.3)) {
		t.Errorf("axis %v..%v", start, end)
	}
	var order []string
	var orphans []string
	var walk func(n *Node)
	walk = func(n *Node) {
		order = append(order, n.Span.Name)
		if n.Orphan {
			orphans = append(orphans, n.Span.Name)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	want := []string{"Deployment.Create", "Deployment.ScalingReplicaSet", "ReplicaSet.SuccessfulCreate",
		"Pod.Scheduled", "Pod.Pulling", "Pod.Failed", "Pod.Started", "Pod.BackOff", "Pod.A", "Pod.B"}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if !slices.Equal(orphans, []string{"Pod.BackOff", "Pod.A"}) {
		t.Errorf("orphans %v", orphans)
	}
	if got := Object(&spans[0]); got != "Deployment default/web" {
		t.Errorf("Object %q", got)
	}
	if ColorIndex("") != -1 || ColorIndex("kubelet") < 0 || ColorIndex("kubelet") >= Palette {
		t.Error("ColorIndex out of the palette")
	}
}
