package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

const (
	// Format is the value of the header's "kspan" field.
	Format = "capture"
	// Version is the format version this package writes and reads.
	Version = 1
)

// Watch event types an observation line may carry.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
)

var (
	// ErrNotCapture says a first line is not a kspan header at all: the input
	// is something else (kubectl output, say).
	ErrNotCapture = errors.New("not a kspan capture header")
	// ErrUnsupported says the input is a kspan file of another format or
	// version than this package reads: nothing in it can be trusted.
	ErrUnsupported = errors.New("unsupported kspan file")
)

// Header is the first line of a capture.
type Header struct {
	// Started is when the capture began. Required.
	Started time.Time
	// Fields are the optional string fields, like "cluster". Nil means none.
	Fields map[string]string
}

// reserved are the header keys Fields may not use.
var reserved = map[string]bool{"kspan": true, "version": true, "started": true}

// MarshalJSON writes the header line's JSON (without the newline): the fixed
// fields first, then Fields in key order, so equal headers give equal bytes.
func (h Header) MarshalJSON() ([]byte, error) {
	if h.Started.IsZero() {
		return nil, errors.New("capture header: started time is zero")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"kspan":%q,"version":%d,"started":%q`, Format, Version,
		h.Started.UTC().Format(time.RFC3339Nano))
	for _, k := range slices.Sorted(maps.Keys(h.Fields)) {
		if reserved[k] || k == "" {
			return nil, fmt.Errorf("capture header: field name %q is reserved", k)
		}
		b.WriteByte(',')
		if err := encodeString(&b, k); err != nil {
			return nil, fmt.Errorf("capture header: field %q: %w", k, err)
		}
		b.WriteByte(':')
		if err := encodeString(&b, h.Fields[k]); err != nil {
			return nil, fmt.Errorf("capture header: field %q: %w", k, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeString appends s as a JSON string, without escaping <, > and & (as
// the observation lines do not).
func encodeString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode ends the value with a newline
	return nil
}

// ParseHeader parses a capture's first line. It returns an error wrapping
// ErrNotCapture when the line is not a kspan header at all, and one wrapping
// ErrUnsupported for another kspan format or version. Fields that are not
// strings are ignored.
func ParseHeader(line []byte) (Header, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrNotCapture, err)
	}
	kspan, ok := m["kspan"]
	if !ok {
		return Header{}, fmt.Errorf("%w: no \"kspan\" field", ErrNotCapture)
	}
	var format string
	if err := json.Unmarshal(kspan, &format); err != nil || format != Format {
		return Header{}, fmt.Errorf("%w: format %s, this kspan reads %q", ErrUnsupported, kspan, Format)
	}
	var version int
	if err := json.Unmarshal(m["version"], &version); err != nil || version != Version {
		return Header{}, fmt.Errorf("%w: capture version %s, this kspan reads version %d",
			ErrUnsupported, orMissing(m["version"]), Version)
	}
	var h Header
	var started string
	if err := json.Unmarshal(m["started"], &started); err != nil {
		return h, fmt.Errorf("capture header: \"started\" is %s, want an RFC 3339 time", orMissing(m["started"]))
	}
	t, err := time.Parse(time.RFC3339Nano, started)
	if err != nil {
		return h, fmt.Errorf("capture header: \"started\": %w", err)
	}
	h.Started = t
	for k, v := range m {
		var s string
		if reserved[k] || json.Unmarshal(v, &s) != nil {
			continue
		}
		if h.Fields == nil {
			h.Fields = make(map[string]string)
		}
		h.Fields[k] = s
	}
	return h, nil
}

func orMissing(raw json.RawMessage) string {
	if raw == nil {
		return "missing"
	}
	return string(raw)
}

// Writer writes a capture. It writes each line with one Write call to the
// underlying writer and does not buffer, so a capture cut short ends with
// at most one partial line; wrap the destination in a bufio.Writer (and
// flush it) if fewer system calls matter more. A Writer is safe for
// concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewWriter writes the header line to w and returns a Writer for the
// observations.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	line, err := h.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("write capture header: %w", err)
	}
	cw := &Writer{w: w}
	cw.enc = json.NewEncoder(&cw.buf)
	cw.enc.SetEscapeHTML(false)
	return cw, nil
}

// typeMeta is what a reader needs to tell objects apart.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Write appends one observation: obj, seen at observed, by a watch event of
// type typ (Added, Modified or Deleted). obj must marshal to a JSON object
// with apiVersion and kind set (objects from typed clients and informers
// usually have them empty: set them first).
func (w *Writer) Write(observed time.Time, typ string, obj any) error {
	switch typ {
	case Added, Modified, Deleted:
	default:
		return fmt.Errorf("capture: watch event type %q, want ADDED, MODIFIED or DELETED", typ)
	}
	if observed.IsZero() {
		return errors.New("capture: observed time is zero")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Reset()
	fmt.Fprintf(&w.buf, `{"t":%q,"type":%q,"object":`, observed.UTC().Format(time.RFC3339Nano), typ)
	start := w.buf.Len()
	if err := w.enc.Encode(obj); err != nil {
		return fmt.Errorf("capture: encode object: %w", err)
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode ends the value with a newline
	var tm typeMeta
	if err := json.Unmarshal(w.buf.Bytes()[start:], &tm); err != nil {
		return fmt.Errorf("capture: object is not a JSON object: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return fmt.Errorf("capture: object has no apiVersion or kind (%q %q)", tm.APIVersion, tm.Kind)
	}
	if tm.Kind == "PartialObjectMetadata" {
		return errors.New("capture: object kind is PartialObjectMetadata: set the real apiVersion and kind")
	}
	w.buf.WriteString("}\n")
	if _, err := w.w.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("write capture line: %w", err)
	}
	return nil
}
