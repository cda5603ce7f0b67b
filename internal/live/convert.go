package live

import (
	"encoding/json"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/record"
)

// objectFromMeta produces exactly what package decode makes of the same
// object's JSON (a test checks it), so that a capture replays to the traces
// the live run produced. Events are converted by package convert, for both.

const annObjectTraces = "tracing.k8s.io/traceparent"

// objectFromMeta converts trimmed metadata (see trimMeta) to a record.
func objectFromMeta(m *metav1.PartialObjectMetadata) *record.Object {
	o := &record.Object{
		APIVersion: m.APIVersion, Kind: m.Kind, Namespace: m.Namespace, Name: m.Name, UID: string(m.UID),
		ResourceVersion: m.ResourceVersion,
		Generation:      m.Generation,
		Created:         m.CreationTimestamp.Time,
		Traceparent:     m.Annotations[annObjectTraces],
		Labels:          m.Labels,
	}
	if m.DeletionTimestamp != nil {
		o.Deleting = m.DeletionTimestamp.Time
		if g := m.DeletionGracePeriodSeconds; g != nil && *g > 0 {
			o.Deleting = o.Deleting.Add(-time.Duration(*g) * time.Second)
		}
	}
	for _, r := range m.OwnerReferences {
		o.Owners = append(o.Owners, record.OwnerRef{APIVersion: r.APIVersion, Kind: r.Kind, Name: r.Name,
			UID: string(r.UID), Controller: r.Controller != nil && *r.Controller})
	}
	var ownerTime time.Time
	ownerFound := false
	for _, f := range m.ManagedFields {
		var t time.Time
		if f.Time != nil {
			t = f.Time.Time
		}
		spec, owners := touches(f.FieldsV1)
		if spec && !t.Before(o.SpecTime) {
			o.SpecManager, o.SpecOperation, o.SpecTime = f.Manager, string(f.Operation), t
		}
		if owners && (!ownerFound || t.Before(ownerTime)) {
			o.OwnerManager, ownerTime, ownerFound = f.Manager, t, true
		}
	}
	return o
}

// fieldsTop is the part of a managedFields entry kspan reads.
type fieldsTop struct {
	Spec     *json.RawMessage `json:"f:spec"`
	Metadata *struct {
		OwnerReferences *json.RawMessage `json:"f:ownerReferences"`
	} `json:"f:metadata"`
}

// touches says whether a managedFields entry covers the spec and the owner
// references.
func touches(f *metav1.FieldsV1) (spec, owners bool) {
	if f == nil {
		return false, false
	}
	raw := f.GetRawBytes()
	if len(raw) == 0 {
		return false, false
	}
	// Every update of an object carries all its entries, and a spec entry
	// (a pod's containers) is large: scan its top keys rather than decode it.
	ok := objectKeys(raw, func(k string, v []byte) bool {
		switch k {
		case "f:spec":
			spec = true
		case "f:metadata":
			return objectKeys(v, func(k string, _ []byte) bool {
				owners = owners || k == "f:ownerReferences"
				return true
			})
		}
		return true
	})
	if ok {
		return spec, owners
	}
	var ft fieldsTop
	if json.Unmarshal(raw, &ft) != nil {
		return false, false
	}
	return ft.Spec != nil, ft.Metadata != nil && ft.Metadata.OwnerReferences != nil
}

// objectKeys calls fn with each key of the JSON object b (escapes left as
// they are) and its raw value, until fn returns false. It reports false
// when b is not an object it can scan, or fn did.
func objectKeys(b []byte, fn func(key string, val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := skipString(b, i)
		if end < 0 {
			return false
		}
		key := string(b[i+1 : end-1])
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 || !fn(key, b[i:vend]) {
			return false
		}
		i = skipSpace(b, vend)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return true
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
