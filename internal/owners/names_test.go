package owners

import (
	"fmt"
	"testing"
)

// Names whose hashes clash are all found, and forgetting one leaves the
// others: every name clashes here.
func TestNamesClash(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 0} {
		n := newNames()
		n.mask = mask
		var es []*Entry
		for i := range 5 {
			e := &Entry{Kind: "Pod", Namespace: "ns", Name: fmt.Sprint("p", i)}
			n.set(NameKey{"Pod", "ns", e.Name}, e)
			es = append(es, e)
		}
		check := func(when string, gone map[int]bool) {
			t.Helper()
			for i, e := range es {
				got := n.get(NameKey{"Pod", "ns", e.Name})
				if want := map[bool]*Entry{false: e, true: nil}[gone[i]]; got != want {
					t.Errorf("mask %x, %s: get(%s) = %p, want %p", mask, when, e.Name, got, want)
				}
			}
			if n.len() != len(es)-len(gone) {
				t.Errorf("mask %x, %s: %d names held, want %d", mask, when, n.len(), len(es)-len(gone))
			}
		}
		check("all set", nil)
		n.del(NameKey{"Pod", "ns", "p0"}, es[0])
		n.del(NameKey{"Pod", "ns", "p3"}, es[3])
		n.del(NameKey{"Pod", "ns", "p1"}, es[2]) // not its holder: kept
		check("two forgotten", map[int]bool{0: true, 3: true})
		// A new holder of a name takes it over.
		e := &Entry{Kind: "Pod", Namespace: "ns", Name: "p2"}
		n.set(NameKey{"Pod", "ns", "p2"}, e)
		es[2] = e
		check("p2 held anew", map[int]bool{0: true, 3: true})
		if got := n.get(NameKey{"Pod", "other", "p2"}); got != nil {
			t.Errorf("mask %x: another namespace's p2 found", mask)
		}
	}
}
