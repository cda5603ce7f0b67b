package filter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kspan-project/kspan/internal/record"
)

// Filter selects Events. An empty include list includes everything; an
// exclude list wins over an include list.
type Filter struct {
	Namespaces, ExcludeNamespaces []string
	Kinds, ExcludeKinds           []string
	Reasons, ExcludeReasons       []string
	// Types are "Normal" and "Warning".
	Types []string
}

// Empty reports whether the filter keeps every Event.
func (f *Filter) Empty() bool {
	return len(f.Namespaces)+len(f.ExcludeNamespaces)+len(f.Kinds)+len(f.ExcludeKinds)+
		len(f.Reasons)+len(f.ExcludeReasons)+len(f.Types) == 0
}

// Keep reports whether ev is exported.
func (f *Filter) Keep(ev *record.Event) bool {
	ns := ev.Regarding.Namespace
	if ns == "" {
		ns = ev.Namespace
	}
	return pass(f.Namespaces, f.ExcludeNamespaces, ns) &&
		pass(f.Kinds, f.ExcludeKinds, ev.Regarding.Kind) &&
		pass(f.Reasons, f.ExcludeReasons, ev.Reason) &&
		pass(f.Types, nil, ev.Type)
}

func pass(include, exclude []string, v string) bool {
	if slices.Contains(exclude, v) {
		return false
	}
	return len(include) == 0 || slices.Contains(include, v)
}

// Validate rejects types other than Normal and Warning.
func (f *Filter) Validate() error {
	for _, t := range f.Types {
		if t != "Normal" && t != "Warning" {
			return fmt.Errorf("-type %q: want Normal or Warning", t)
		}
	}
	return nil
}

// List is a flag.Value collecting comma-separated, repeatable values.
type List struct{ Values *[]string }

func (l List) String() string {
	if l.Values == nil {
		return ""
	}
	return strings.Join(*l.Values, ",")
}

// Set adds the comma-separated values of one flag occurrence.
func (l List) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l.Values = append(*l.Values, v)
		}
	}
	return nil
}
