package cli

import (
	"flag"
	"maps"
	"slices"
	"strings"

	"github.com/kspan-project/kspan/internal/export"
)

// defaultOTLP reads the OTEL_EXPORTER_OTLP_* variables, and fills in the
// defaults so that -h shows them.
func defaultOTLP(getenv func(string) string) export.Config {
	x := export.FromEnv(getenv)
	d := export.Defaults
	if x.Protocol == "" {
		x.Protocol = d.Protocol
	}
	if x.Compression == "" {
		x.Compression = d.Compression
	}
	if x.Timeout == 0 {
		x.Timeout = d.Timeout
	}
	x.QueueSize, x.BatchSize, x.BatchTimeout = d.QueueSize, d.BatchSize, d.BatchTimeout
	return x
}

// bindOTLP registers the OTLP exporter's flags; their defaults come
// from the environment.
func (c *Config) bindOTLP(fs *flag.FlagSet) {
	x := &c.OTLP
	fs.Var(endpointFlag{x}, "otlp-endpoint", "export spans over OTLP to this `endpoint`: a URL (http://localhost:4318, https://api.honeycomb.io; /v1/traces is appended for HTTP) or host:port (default $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then $OTEL_EXPORTER_OTLP_ENDPOINT; none: no export)")
	fs.StringVar(&x.Protocol, "otlp-protocol", x.Protocol, "OTLP protocol: grpc, http/protobuf or http/json ($OTEL_EXPORTER_OTLP_PROTOCOL)")
	fs.BoolVar(&x.Insecure, "otlp-insecure", x.Insecure, "send without TLS; an http:// endpoint always does ($OTEL_EXPORTER_OTLP_INSECURE)")
	fs.Var(headerFlag{x}, "otlp-header", "header `key=value` sent with every export, repeatable, e.g. x-honeycomb-team=KEY (added to $OTEL_EXPORTER_OTLP_HEADERS)")
	fs.StringVar(&x.CAFile, "otlp-ca", x.CAFile, "PEM `file` of the CA certificates that sign the endpoint's certificate ($OTEL_EXPORTER_OTLP_CERTIFICATE; default: the system's)")
	fs.StringVar(&x.Compression, "otlp-compression", x.Compression, "compression: gzip or none ($OTEL_EXPORTER_OTLP_COMPRESSION)")
	fs.DurationVar(&x.Timeout, "otlp-timeout", x.Timeout, "time limit of each export request ($OTEL_EXPORTER_OTLP_TIMEOUT, in milliseconds)")
	fs.IntVar(&x.QueueSize, "otlp-queue-size", x.QueueSize, "most spans waiting to be exported; live mode drops (and counts) spans beyond it, replay waits")
	fs.IntVar(&x.BatchSize, "otlp-batch-size", x.BatchSize, "most spans in one export request")
	fs.DurationVar(&x.BatchTimeout, "otlp-batch-timeout", x.BatchTimeout, "longest a span waits for its batch to fill")
}

// endpointFlag sets a base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT), which
// replaces one read from the environment.
type endpointFlag struct{ x *export.Config }

func (f endpointFlag) String() string {
	if f.x == nil {
		return ""
	}
	return f.x.Endpoint
}

func (f endpointFlag) Set(v string) error {
	f.x.Endpoint, f.x.Exact = strings.TrimSpace(v), false
	return nil
}

// headerFlag adds one key=value header per use.
type headerFlag struct{ x *export.Config }

func (f headerFlag) String() string {
	if f.x == nil {
		return ""
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(f.x.Headers)) {
		kv = append(kv, k+"=…") // values are often secrets
	}
	return strings.Join(kv, ",")
}

func (f headerFlag) Set(v string) error {
	k, val, err := export.ParseHeader(v)
	if err != nil {
		return err
	}
	if f.x.Headers == nil {
		f.x.Headers = map[string]string{}
	}
	f.x.Headers[k] = val
	return nil
}
