package otlp

import "github.com/kspan-project/kspan/internal/span"

// Resource is what spans are sent under: Attrs, one resource for every
// span (service.name among them), or with ByComponent a resource per
// reporting component.
type Resource struct {
	Attrs []span.Attr
	// ByComponent sends each span of an Event that names its reporting
	// component (kubelet, default-scheduler, deployment-controller...)
	// under that component as service.name, so that backends colour and
	// group spans by it; spans without one (the roots kspan makes) keep
	// Attrs' service.name.
	ByComponent bool
}

// Fixed is the Resource of attrs for every span.
func Fixed(attrs []span.Attr) Resource { return Resource{Attrs: attrs} }

// group is the spans sent under one resource: their indexes in the
// request's spans (nil: all of them).
type group struct {
	attrs []span.Attr
	sel   []int
}

// groups splits spans by resource, in order of each resource's first span.
func (r Resource) groups(spans []span.Span) []group {
	if !r.ByComponent {
		return []group{{attrs: r.Attrs}}
	}
	var gs []group
	at := map[string]int{}
	for i := range spans {
		c := spans[i].Attr(span.KeyEventComponent)
		g, ok := at[c]
		if !ok {
			g = len(gs)
			at[c] = g
			gs = append(gs, group{attrs: r.withService(c)})
		}
		gs[g].sel = append(gs[g].sel, i)
	}
	return gs
}

// withService is Attrs with service.name set to name ("": as it is).
func (r Resource) withService(name string) []span.Attr {
	if name == "" {
		return r.Attrs
	}
	out := make([]span.Attr, 0, len(r.Attrs)+1)
	out = append(out, span.Str(span.KeyServiceName, name))
	for _, a := range r.Attrs {
		if a.Key != span.KeyServiceName {
			out = append(out, a)
		}
	}
	return out
}

// each calls f with the index of every span of g, in order.
func (g group) each(n int, f func(i int)) {
	if g.sel == nil {
		for i := range n {
			f(i)
		}
		return
	}
	for _, i := range g.sel {
		f(i)
	}
}

// len is how many of n spans g holds.
func (g group) len(n int) int {
	if g.sel == nil {
		return n
	}
	return len(g.sel)
}
