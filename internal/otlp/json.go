package otlp

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/kspan-project/kspan/internal/span"
)

// OTLP enum values written as integers, as OTLP/JSON requires.
const (
	kindInternal = 1
	statusError  = 2
)

// AppendJSON appends one OTLP/JSON ExportTraceServiceRequest for spans,
// followed by '\n', and returns the extended buffer. The layout follows the
// OTLP/JSON encoding as the Collector's file exporter writes it: fields in
// proto declaration order, lowerCamelCase names, hex IDs, integer enums,
// 64-bit integers as decimal strings, empty fields omitted. The same input
// always gives the same bytes.
func AppendJSON(dst []byte, res Resource, scope string, spans []span.Span) []byte {
	dst = append(dst, `{"resourceSpans":[`...)
	for gi, g := range res.groups(spans) {
		if gi > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"resource":{`...)
		dst = appendAttrsField(dst, false, g.attrs, nil)
		dst = append(dst, `},"scopeSpans":[{"scope":{`...)
		if scope != "" {
			dst = append(dst, `"name":`...)
			dst = appendString(dst, scope)
			dst = append(dst, ',')
		}
		dst = append(dst, `"version":`...)
		dst = appendString(dst, ScopeVersion)
		dst = append(dst, '}')
		if len(spans) > 0 {
			dst = append(dst, `,"spans":[`...)
			first := true
			g.each(len(spans), func(i int) {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = appendSpan(dst, &spans[i])
			})
			dst = append(dst, ']')
		}
		dst = append(dst, "}]}"...)
	}
	return append(dst, "]}\n"...)
}

func appendSpan(dst []byte, s *span.Span) []byte {
	dst = append(dst, '{')
	c := false // whether a field has been written, so the next needs a comma
	dst, c = appendID(dst, c, "traceId", s.TraceID[:])
	dst, c = appendID(dst, c, "spanId", s.SpanID[:])
	dst, c = appendID(dst, c, "parentSpanId", s.Parent[:])
	if s.Name != "" {
		dst = appendKey(dst, c, "name")
		dst = appendString(dst, s.Name)
		c = true
	}
	dst = appendKey(dst, c, "kind")
	dst = strconv.AppendInt(dst, kindInternal, 10)
	dst = appendNanos(dst, "startTimeUnixNano", unixNano(s.Start))
	dst = appendNanos(dst, "endTimeUnixNano", unixNano(s.End))
	dst = appendAttrsField(dst, true, s.Attrs, s.Shared)
	if len(s.Links) > 0 {
		dst = append(dst, `,"links":[`...)
		for i := range s.Links {
			if i > 0 {
				dst = append(dst, ',')
			}
			l := &s.Links[i]
			dst = append(dst, '{')
			lc := false
			dst, lc = appendID(dst, lc, "traceId", l.TraceID[:])
			dst, lc = appendID(dst, lc, "spanId", l.SpanID[:])
			dst = appendAttrsField(dst, lc, l.Attrs, nil)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if s.Error || s.StatusMessage != "" {
		dst = append(dst, `,"status":{`...)
		if s.StatusMessage != "" {
			dst = append(dst, `"message":`...)
			dst = appendString(dst, s.StatusMessage)
			if s.Error {
				dst = append(dst, ',')
			}
		}
		if s.Error {
			dst = append(dst, `"code":`...)
			dst = strconv.AppendInt(dst, statusError, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendKey writes `"key":`, preceded by a comma when comma is set.
func appendKey(dst []byte, comma bool, key string) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, `":`...)
}

func appendID(dst []byte, comma bool, key string, id []byte) ([]byte, bool) {
	if idBytes(id) == nil {
		return dst, comma
	}
	dst = appendKey(dst, comma, key)
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, id)
	return append(dst, '"'), true
}

// appendNanos writes a non-zero fixed64 as a decimal string. It always
// follows another field, so it always writes a leading comma.
func appendNanos(dst []byte, key string, n uint64) []byte {
	if n == 0 {
		return dst
	}
	dst = appendKey(dst, true, key)
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, '"')
}

// appendAttrsField writes attrs followed by shared (span.Span.Shared) as
// one attributes field.
func appendAttrsField(dst []byte, comma bool, attrs, shared []span.Attr) []byte {
	if len(attrs)+len(shared) == 0 {
		return dst
	}
	dst = appendKey(dst, comma, "attributes")
	dst = append(dst, '[')
	for i, a := range attrs {
		dst = appendAttr(dst, i > 0, a)
	}
	for i, a := range shared {
		dst = appendAttr(dst, i > 0 || len(attrs) > 0, a)
	}
	return append(dst, ']')
}

func appendAttr(dst []byte, comma bool, a span.Attr) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, a.Key)
	dst = append(dst, `,"value":{`...)
	switch a.Kind {
	case span.Int:
		dst = append(dst, `"intValue":"`...)
		dst = strconv.AppendInt(dst, a.Int, 10)
		dst = append(dst, '"')
	case span.Bool:
		dst = append(dst, `"boolValue":`...)
		dst = strconv.AppendBool(dst, a.Bool)
	default:
		dst = append(dst, `"stringValue":`...)
		dst = appendString(dst, a.Str)
	}
	return append(dst, "}}"...)
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; U+2028 and U+2029 are escaped so a line stays valid
// JavaScript. Nothing else beyond what JSON requires is escaped.
func appendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// JSONWriter writes OTLP/JSON lines, one request per WriteSpans call, with
// one Resource and scope. It is not safe for concurrent use: one
// goroutine (the sink) owns it.
type JSONWriter struct {
	w        io.Writer
	resource Resource
	scope    string
	buf      []byte
}

// NewJSONWriter returns a writer of OTLP/JSON lines to w.
func NewJSONWriter(w io.Writer, resource Resource, scope string) *JSONWriter {
	return &JSONWriter{w: w, resource: resource, scope: scope}
}

// WriteSpans writes spans as one line, in a single Write call. No spans
// writes nothing.
func (j *JSONWriter) WriteSpans(spans []span.Span) error {
	if len(spans) == 0 {
		return nil
	}
	j.buf = AppendJSON(j.buf[:0], j.resource, j.scope, spans)
	if _, err := j.w.Write(j.buf); err != nil {
		return fmt.Errorf("write otlp json: %w", err)
	}
	return nil
}
