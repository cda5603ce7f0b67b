package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// Mirror structs of the OTLP/JSON request, for decoding only. Unknown
// fields (kind, flags, events, traceState, ...) are ignored, as OTLP/JSON
// receivers must.
type (
	jsonRequest struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []jsonKeyValue `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []jsonSpan `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	jsonSpan struct {
		TraceID      jsonID         `json:"traceId"`
		SpanID       jsonID         `json:"spanId"`
		ParentSpanID jsonID         `json:"parentSpanId"`
		Name         string         `json:"name"`
		Start        jsonInt        `json:"startTimeUnixNano"`
		End          jsonInt        `json:"endTimeUnixNano"`
		Attributes   []jsonKeyValue `json:"attributes"`
		Links        []struct {
			TraceID    jsonID         `json:"traceId"`
			SpanID     jsonID         `json:"spanId"`
			Attributes []jsonKeyValue `json:"attributes"`
		} `json:"links"`
		Status *struct {
			Message string   `json:"message"`
			Code    jsonCode `json:"code"`
		} `json:"status"`
	}
	jsonKeyValue struct {
		Key   string `json:"key"`
		Value struct {
			StringValue *string         `json:"stringValue"`
			IntValue    *jsonInt        `json:"intValue"`
			BoolValue   *bool           `json:"boolValue"`
			DoubleValue json.RawMessage `json:"doubleValue"`
			ArrayValue  json.RawMessage `json:"arrayValue"`
			KvlistValue json.RawMessage `json:"kvlistValue"`
			BytesValue  *string         `json:"bytesValue"`
		} `json:"value"`
	}
)

// ParseJSON decodes one OTLP/JSON ExportTraceServiceRequest, such as a line
// written by AppendJSON or by the Collector's file exporter. It returns the
// resource attributes of the first ResourceSpans and the spans of all of
// them. IDs may be hex (OTLP/JSON) or base64 (protobuf's JSON mapping).
// Attribute values kspan does not produce (double, bytes, array, kvlist)
// become strings holding their JSON text.
func ParseJSON(line []byte) (resource []span.Attr, spans []span.Span, err error) {
	var req jsonRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, nil, fmt.Errorf("decode otlp json: %w", err)
	}
	for i, rs := range req.ResourceSpans {
		if i == 0 {
			resource = attrs(rs.Resource.Attributes)
		}
		for _, ss := range rs.ScopeSpans {
			for _, js := range ss.Spans {
				spans = append(spans, fromJSON(&js))
			}
		}
	}
	return resource, spans, nil
}

func fromJSON(js *jsonSpan) span.Span {
	s := span.Span{
		Name:  js.Name,
		Start: fromNanos(int64(js.Start)),
		End:   fromNanos(int64(js.End)),
		Attrs: attrs(js.Attributes),
	}
	copy(s.TraceID[:], js.TraceID)
	copy(s.SpanID[:], js.SpanID)
	copy(s.Parent[:], js.ParentSpanID)
	if js.Status != nil {
		s.StatusMessage = js.Status.Message
		s.Error = js.Status.Code == statusError
	}
	for _, jl := range js.Links {
		var l span.Link
		copy(l.TraceID[:], jl.TraceID)
		copy(l.SpanID[:], jl.SpanID)
		l.Attrs = attrs(jl.Attributes)
		s.Links = append(s.Links, l)
	}
	return s
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func attrs(kvs []jsonKeyValue) []span.Attr {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]span.Attr, len(kvs))
	for i, kv := range kvs {
		v := &kv.Value
		switch {
		case v.StringValue != nil:
			out[i] = span.Str(kv.Key, *v.StringValue)
		case v.IntValue != nil:
			out[i] = span.Int64(kv.Key, int64(*v.IntValue))
		case v.BoolValue != nil:
			out[i] = span.Boolean(kv.Key, *v.BoolValue)
		case v.BytesValue != nil:
			out[i] = span.Str(kv.Key, *v.BytesValue)
		default:
			raw := v.DoubleValue
			if raw == nil {
				raw = v.ArrayValue
			}
			if raw == nil {
				raw = v.KvlistValue
			}
			out[i] = span.Str(kv.Key, string(raw))
		}
	}
	return out
}

// jsonID is a trace or span ID written as hex, or as base64 by encoders
// that follow protobuf's JSON mapping instead of OTLP/JSON.
type jsonID []byte

func (id *jsonID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if s == "" {
		*id = nil
		return nil
	}
	if len(s) == 32 || len(s) == 16 {
		if raw, err := hex.DecodeString(s); err == nil {
			*id = raw
			return nil
		}
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || (len(raw) != 16 && len(raw) != 8) {
		return fmt.Errorf("id %q is neither hex nor base64 of 8 or 16 bytes", s)
	}
	*id = raw
	return nil
}

// jsonInt is a 64-bit integer written as a decimal string (as OTLP/JSON
// writes it) or as a JSON number (which receivers must also accept).
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 {
		*n = 0
		return nil
	}
	// Timestamps are unsigned 64-bit; anything past int64 is not a time Go
	// can hold, so it fails here rather than wrapping.
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("integer: %w", err)
	}
	*n = jsonInt(v)
	return nil
}

// jsonCode is a status code, an integer in OTLP/JSON or the enum name in
// protobuf's JSON mapping.
type jsonCode int

func (c *jsonCode) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"STATUS_CODE_UNSET"`:
		*c = 0
	case `"STATUS_CODE_OK"`:
		*c = 1
	case `"STATUS_CODE_ERROR"`:
		*c = statusError
	default:
		v, err := strconv.Atoi(string(b))
		if err != nil {
			return fmt.Errorf("status code %s: %w", b, err)
		}
		*c = jsonCode(v)
	}
	return nil
}
