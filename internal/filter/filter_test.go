package filter

import (
	"testing"

	"github.com/kspan-project/kspan/internal/record"
)

func TestKeep(t *testing.T) {
	ev := func(ns, kind, reason, typ string) *record.Event {
		return &record.Event{Namespace: ns, Regarding: record.Ref{Namespace: ns, Kind: kind}, Reason: reason, Type: typ}
	}
	cases := []struct {
		name string
		f    Filter
		ev   *record.Event
		want bool
	}{
		{"empty keeps all", Filter{}, ev("a", "Pod", "Started", "Normal"), true},
		{"namespace included", Filter{Namespaces: []string{"a"}}, ev("a", "Pod", "Started", "Normal"), true},
		{"namespace not included", Filter{Namespaces: []string{"a"}}, ev("b", "Pod", "Started", "Normal"), false},
		{"exclude wins", Filter{Namespaces: []string{"a"}, ExcludeNamespaces: []string{"a"}}, ev("a", "Pod", "Started", "Normal"), false},
		{"cluster-scoped uses the event's namespace", Filter{Namespaces: []string{"default"}}, &record.Event{Namespace: "default", Regarding: record.Ref{Kind: "Node"}}, true},
		{"kind excluded", Filter{ExcludeKinds: []string{"Node"}}, ev("", "Node", "NodeReady", "Normal"), false},
		{"reason included", Filter{Reasons: []string{"BackOff"}}, ev("a", "Pod", "Started", "Normal"), false},
		{"reason excluded", Filter{ExcludeReasons: []string{"Pulled"}}, ev("a", "Pod", "Pulled", "Normal"), false},
		{"warnings only", Filter{Types: []string{"Warning"}}, ev("a", "Pod", "FailedScheduling", "Warning"), true},
		{"warnings only drops Normal", Filter{Types: []string{"Warning"}}, ev("a", "Pod", "Started", "Normal"), false},
	}
	for _, c := range cases {
		if got := c.f.Keep(c.ev); got != c.want {
			t.Errorf("%s: Keep = %v, want %v", c.name, got, c.want)
		}
	}
	if err := (&Filter{Types: []string{"Error"}}).Validate(); err == nil {
		t.Error("type Error accepted")
	}
}

func TestList(t *testing.T) {
	var v []string
	l := List{&v}
	_ = l.Set("a, b")
	_ = l.Set("c")
	if l.String() != "a,b,c" {
		t.Errorf("%q", l.String())
	}
}
