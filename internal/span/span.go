package span

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"time"
)

// TraceID is a 16-byte W3C trace ID.
type TraceID [16]byte

// ID is an 8-byte W3C span ID.
type ID [8]byte

// String returns the lowercase hex form.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String returns the lowercase hex form.
func (s ID) String() string { return hex.EncodeToString(s[:]) }

// IsZero reports whether the ID is unset (no parent).
func (s ID) IsZero() bool { return s == ID{} }

// IsZero reports whether the trace ID is unset.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// Kind of value an attribute holds.
type Kind uint8

// Attribute value kinds.
const (
	String Kind = iota
	Int
	Bool
)

// Attr is one attribute. Only the field selected by Kind is meaningful.
type Attr struct {
	Key  string
	Str  string
	Int  int64
	Kind Kind // after the words: 48 bytes, not 56 (every span has about 20)
	Bool bool
}

// Str makes a string attribute.
func Str(k, v string) Attr { return Attr{Key: k, Kind: String, Str: v} }

// Int64 makes an integer attribute.
func Int64(k string, v int64) Attr { return Attr{Key: k, Kind: Int, Int: v} }

// Boolean makes a boolean attribute.
func Boolean(k string, v bool) Attr { return Attr{Key: k, Kind: Bool, Bool: v} }

// Link points at a span in another trace (W3C trace context found in an
// annotation).
type Link struct {
	TraceID TraceID
	SpanID  ID
	// Attrs say where the context came from.
	Attrs []Attr
}

// Span is one finished span.
type Span struct {
	TraceID TraceID
	SpanID  ID
	// Parent is zero for the root of a trace.
	Parent ID
	Name   string
	Start  time.Time
	End    time.Time
	// Error marks a Warning event: status ERROR with StatusMessage.
	Error         bool
	StatusMessage string
	// Attrs are in a fixed order, so output is byte-for-byte reproducible.
	Attrs []Attr
	// Shared follows Attrs: the attributes of the Event's object and its
	// owners, one slice shared by the spans of that object (most of a span's
	// attributes, made once rather than per span). Read only: never write
	// to its elements; appending copies (its capacity is its length).
	Shared []Attr
	Links  []Link
}

// AllAttrs returns Attrs followed by Shared, in one new slice when there
// are both (for code off the export path).
func (s *Span) AllAttrs() []Attr {
	if len(s.Shared) == 0 {
		return s.Attrs
	}
	return append(append(make([]Attr, 0, len(s.Attrs)+len(s.Shared)), s.Attrs...), s.Shared...)
}

// Attr returns the string value of the attribute key, or "".
func (s *Span) Attr(key string) string {
	if a, ok := s.Find(key); ok {
		return a.Str
	}
	return ""
}

// Find returns the attribute key, from Attrs or Shared.
func (s *Span) Find(key string) (Attr, bool) {
	for _, a := range s.Attrs {
		if a.Key == key {
			return a, true
		}
	}
	for _, a := range s.Shared {
		if a.Key == key {
			return a, true
		}
	}
	return Attr{}, false
}

// TraceIDFor is the trace ID of a change to an object: FNV-1a 128 over the
// UID bytes followed by the generation as 8-byte little-endian int64, as the
// earlier kspan computed it, and then each extra value (episode keys) as
// 8-byte little-endian int64.
func TraceIDFor(uid string, generation int64, extra ...int64) TraceID {
	h := fnv.New128a()
	h.Write([]byte(uid))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(generation))
	h.Write(b[:])
	for _, x := range extra {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	var t TraceID
	copy(t[:], h.Sum(nil))
	return t
}

// IDFor is a deterministic span ID for the parts given (for example an
// event's UID and occurrence count): FNV-1a 64 over them with separators.
// It is never zero.
func IDFor(parts ...string) ID {
	// hash/fnv's New64a, written out: through the hash.Hash interface each
	// part would be copied to the heap, and every Event's span ID is made
	// here.
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i, p := range parts {
		if i > 0 {
			h *= prime64 // the 0 separator: h ^= 0 is a no-op
		}
		for j := 0; j < len(p); j++ {
			h ^= uint64(p[j])
			h *= prime64
		}
	}
	var id ID
	binary.BigEndian.PutUint64(id[:], h)
	if id.IsZero() {
		id[7] = 1
	}
	return id
}
