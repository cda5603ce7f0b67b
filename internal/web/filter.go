package web

import (
	"net/url"
	"slices"
	"strings"

	"github.com/kspan-project/kspan/internal/span"
)

// Filter selects traces for the list. Its zero value matches every trace.
// It is read from and written to the list page's query parameters.
type Filter struct {
	// Namespace is the trace's namespace, exactly.
	Namespace string
	// Kind (case-insensitive), Name (a case-insensitive substring) and UID
	// (exactly) must all hold for one involved object of the trace.
	Kind, Name, UID string
	// Reason is the reason of one of the trace's events (case-insensitive).
	Reason string
	// Errors keeps only traces with a Warning span.
	Errors bool
	// Outcome is the outcome of the rollout the trace's root stands for
	// (complete, failed, superseded, in_progress, unknown), exactly.
	Outcome string
}

// ParseFilter reads the query parameters namespace, kind, name, uid,
// reason, outcome and errors (any non-empty value but "0" and "false").
func ParseFilter(q url.Values) Filter {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	e := get("errors")
	return Filter{
		Namespace: get("namespace"), Kind: get("kind"), Name: get("name"), UID: get("uid"),
		Reason: get("reason"), Outcome: get("outcome"),
		Errors: e != "" && e != "0" && !strings.EqualFold(e, "false"),
	}
}

// Query is the filter as query parameters (empty ones left out).
func (f Filter) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"namespace": f.Namespace, "kind": f.Kind, "name": f.Name, "uid": f.UID, "reason": f.Reason, "outcome": f.Outcome} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Errors {
		q.Set("errors", "1")
	}
	return q
}

// IsZero reports whether the filter matches everything.
func (f Filter) IsZero() bool { return f == Filter{} }

// Match reports whether t passes the filter.
func (f Filter) Match(t *Trace) bool {
	if f.Errors && t.Errors == 0 {
		return false
	}
	if f.Namespace != "" && t.Namespace != f.Namespace {
		return false
	}
	if f.Outcome != "" && (t.Root == nil || t.Root.Attr(span.KeyRolloutOutcome) != f.Outcome) {
		return false
	}
	if f.Reason != "" && !slices.ContainsFunc(t.Reasons, func(r string) bool { return strings.EqualFold(r, f.Reason) }) {
		return false
	}
	if f.Kind == "" && f.Name == "" && f.UID == "" {
		return true
	}
	name := strings.ToLower(f.Name)
	return slices.ContainsFunc(t.Objects, func(o ObjectRef) bool {
		return (f.Kind == "" || strings.EqualFold(o.Kind, f.Kind)) &&
			(f.UID == "" || o.UID == f.UID) &&
			strings.Contains(strings.ToLower(o.Name), name)
	})
}
