package export

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want Config
		err  string // part of Validate's error, "" for none
	}{
		{name: "nothing", want: Config{}},
		{name: "base endpoint and everything",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":    "https://api.honeycomb.io",
				"OTEL_EXPORTER_OTLP_PROTOCOL":    "grpc",
				"OTEL_EXPORTER_OTLP_HEADERS":     "x-honeycomb-team=KEY, x-honeycomb-dataset=k8s%20events",
				"OTEL_EXPORTER_OTLP_INSECURE":    "TRUE",
				"OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem",
				"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
				"OTEL_EXPORTER_OTLP_TIMEOUT":     "2500",
			},
			want: Config{Endpoint: "https://api.honeycomb.io", Protocol: "grpc", Insecure: true, CAFile: "/ca.pem",
				Compression: "gzip", Timeout: 2500 * time.Millisecond,
				Headers: map[string]string{"x-honeycomb-team": "KEY", "x-honeycomb-dataset": "k8s events"}}},
		{name: "traces variables win",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":           "http://collector:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    "http://tempo:4318/otlp/v1/traces",
				"OTEL_EXPORTER_OTLP_PROTOCOL":           "grpc",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":    "http/protobuf",
				"OTEL_EXPORTER_OTLP_HEADERS":            "a=1,b=2",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS":     "b=3",
				"OTEL_EXPORTER_OTLP_TRACES_INSECURE":    "false",
				"OTEL_EXPORTER_OTLP_INSECURE":           "true",
				"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "1000",
				"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY":  "/k",
				"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c",
			},
			want: Config{Endpoint: "http://tempo:4318/otlp/v1/traces", Exact: true, Protocol: "http/protobuf",
				Headers: map[string]string{"a": "1", "b": "3"}, Timeout: time.Second, ClientKeyFile: "/k", ClientCertFile: "/c"}},
		{name: "bad values",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s",
				"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_HEADERS": "novalue",
				"OTEL_EXPORTER_OTLP_INSECURE": "yes"},
			err: "OTEL_EXPORTER_OTLP_PROTOCOL=\"thrift\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := FromEnv(func(k string) string { return c.env[k] })
			err := got.Validate()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Validate: %v, want an error with %q", err, c.err)
				}
				for _, v := range []string{"TIMEOUT", "COMPRESSION", "HEADERS", "INSECURE"} {
					if !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_"+v) {
						t.Errorf("error does not name OTEL_EXPORTER_OTLP_%s: %v", v, err)
					}
				}
				return
			}
			if got.Endpoint != c.want.Endpoint || got.Exact != c.want.Exact || got.Protocol != c.want.Protocol ||
				got.Insecure != c.want.Insecure || got.CAFile != c.want.CAFile || got.Compression != c.want.Compression ||
				got.Timeout != c.want.Timeout || got.ClientCertFile != c.want.ClientCertFile ||
				got.ClientKeyFile != c.want.ClientKeyFile || !maps.Equal(got.Headers, c.want.Headers) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "https://api.honeycomb.io"}, "https://api.honeycomb.io/v1/traces"},
		{Config{Endpoint: "http://localhost:4318"}, "http://localhost:4318/v1/traces"},
		{Config{Endpoint: "http://localhost:4318/"}, "http://localhost:4318/v1/traces"},
		{Config{Endpoint: "https://gw.example/otlp"}, "https://gw.example/otlp/v1/traces"},
		{Config{Endpoint: "https://gw.example/otlp/v1/traces"}, "https://gw.example/otlp/v1/traces"},
		{Config{Endpoint: "https://tempo.example:443/custom", Exact: true}, "https://tempo.example:443/custom"},
		{Config{Endpoint: "https://tempo.example", Exact: true}, "https://tempo.example/"},
		{Config{Endpoint: "localhost:4317"}, "https://localhost:4317/v1/traces"},
		{Config{Endpoint: "localhost:4317", Insecure: true}, "http://localhost:4317/v1/traces"},
		{Config{Endpoint: "https://collector:4318", Insecure: true}, "http://collector:4318/v1/traces"},
	} {
		u, err := c.cfg.target()
		if err != nil {
			t.Errorf("%+v: %v", c.cfg, err)
			continue
		}
		if u.String() != c.want {
			t.Errorf("%q (exact %v, insecure %v): %s, want %s", c.cfg.Endpoint, c.cfg.Exact, c.cfg.Insecure, u, c.want)
		}
	}
	for _, bad := range []string{"ftp://x:21", "http://", "://nohost"} {
		c := Config{Endpoint: bad}
		if err := c.Validate(); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		err string
	}{
		{Config{Protocol: "grpc", Compression: "gzip", QueueSize: 10, BatchSize: 10}, ""},
		{Config{Protocol: "thrift"}, "-otlp-protocol"},
		{Config{Compression: "zstd"}, "-otlp-compression"},
		{Config{QueueSize: 10, BatchSize: 11}, "larger than -otlp-queue-size"},
		{Config{QueueSize: -1}, "must not be negative"},
		{Config{Timeout: -time.Second}, "-otlp-timeout"},
		{Config{ClientCertFile: "/c"}, "needs both"},
		{Config{Endpoint: "http://x:1", CAFile: "/nonexistent/ca.pem"}, "ca.pem"},
		// Configuration that can never work, refused at start rather than
		// retried as an outage.
		{Config{Endpoint: "http://x:99999"}, `-otlp-endpoint "http://x:99999": port 99999 is outside 1-65535`},
		{Config{Endpoint: "localhost:0"}, "port 0 is outside 1-65535"},
		{Config{Endpoint: "localhost:65535"}, ""},
		{Config{Endpoint: "http://[::1"}, "want a URL"},
		{Config{Endpoint: "http://x\r\n:4318"}, "want a URL"},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"a": "ok", "x-key": "v\r\nInjected: 1"}},
			`otlp header "x-key": its value has the control character U+000D at byte 1`},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"x-key": "v\x00"}}, "U+0000"},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"x-key": "v\x7f"}}, "U+007F"},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"x key": "v"}}, `otlp header name "x key"`},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"x\nkey": "v"}}, `otlp header name "x\nkey"`},
		{Config{Endpoint: "http://x:1", Headers: map[string]string{"x-key": "a\tb ü"}}, ""},
		{Config{Endpoint: "http://x:1", Protocol: "grpc", Headers: map[string]string{"x-key": "ü"}}, "gRPC metadata values are printable ASCII"},
		{Config{Endpoint: "http://x:1", Protocol: "grpc", Headers: map[string]string{"X_Key.1": "v", "x!key": "v"}}, `otlp header name "x!key": gRPC metadata names`},
		{Config{Endpoint: "http://x:1", Protocol: "grpc", Headers: map[string]string{"X_Key.1": "v"}}, ""},
		{Config{Headers: map[string]string{"x-key": "\n"}}, ""}, // nothing is exported
	} {
		err := c.cfg.Validate()
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.err)
		}
	}
}

func TestDefaultsApply(t *testing.T) {
	c := Config{QueueSize: 100}.withDefaults()
	if c.BatchSize != 100 || c.Protocol != ProtocolHTTPProtobuf || c.Timeout != 10*time.Second || c.Scope != "kspan" {
		t.Errorf("%+v", c)
	}
}

// A certificate path that never ends (/dev/zero) is refused, not read
// until the memory runs out.
func TestPEMBounded(t *testing.T) {
	_, err := tlsConfig(Config{CAFile: "/dev/zero"})
	if err == nil || !strings.Contains(err.Error(), "/dev/zero is larger than 16 MiB") {
		t.Errorf("CA file /dev/zero: %v", err)
	}
	_, err = tlsConfig(Config{ClientCertFile: "/dev/zero", ClientKeyFile: "/dev/zero"})
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("client certificate /dev/zero: %v", err)
	}
}
