package export

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FromEnv reads the OpenTelemetry exporter variables: for each setting the
// traces-specific OTEL_EXPORTER_OTLP_TRACES_* first, else
// OTEL_EXPORTER_OTLP_*. Values it cannot use are reported by Validate.
//
// The OTLP clients read most of these variables themselves; kspan reads
// them too so that flags can override them, the protocol can choose the
// client, and an endpoint decides whether to export at all. Everything read
// here is passed to the clients explicitly, so both readings agree.
func FromEnv(getenv func(string) string) Config {
	var c Config
	get := func(name string) (string, string) {
		if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_" + name)); v != "" {
			return v, "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_" + name)), "OTEL_EXPORTER_OTLP_" + name
	}
	bad := func(name, v, want string) {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: want %s", name, v, want))
	}

	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		c.Endpoint, c.Exact = v, true
	} else {
		c.Endpoint = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	if v, name := get("PROTOCOL"); v != "" {
		switch v {
		case ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
			c.Protocol = v
		default:
			bad(name, v, "grpc, http/protobuf or http/json")
		}
	}
	if v, name := get("INSECURE"); v != "" {
		switch strings.ToLower(v) {
		case "true":
			c.Insecure = true
		case "false":
		default:
			bad(name, v, "true or false")
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		h, err := ParseHeaders(getenv(name))
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("%s: %w", name, err))
		}
		for k, v := range h {
			if c.Headers == nil {
				c.Headers = map[string]string{}
			}
			c.Headers[k] = v
		}
	}
	c.CAFile, _ = get("CERTIFICATE")
	c.ClientCertFile, _ = get("CLIENT_CERTIFICATE")
	c.ClientKeyFile, _ = get("CLIENT_KEY")
	if v, name := get("COMPRESSION"); v != "" {
		switch v {
		case CompressionGzip, CompressionNone:
			c.Compression = v
		default:
			bad(name, v, "gzip or none")
		}
	}
	if v, name := get("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			bad(name, v, "a positive number of milliseconds")
		} else {
			c.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	return c
}

// ParseHeaders reads headers in the OTEL_EXPORTER_OTLP_HEADERS form:
// key=value pairs separated by commas, values percent-encoded.
func ParseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, err := ParseHeader(kv)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// ParseHeader reads one key=value header; the value may be percent-encoded.
func ParseHeader(kv string) (key, value string, err error) {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.ContainsAny(k, " \t\r\n:") {
		return "", "", fmt.Errorf("header %q: want key=value", kv)
	}
	dv, err := url.PathUnescape(strings.TrimSpace(v))
	if err != nil {
		return "", "", fmt.Errorf("header %q: %w", kv, err)
	}
	return k, dv, nil
}
