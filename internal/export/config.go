package export

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// Protocols and compressions that Config accepts.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"

	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// tracesPath is appended to a base endpoint for OTLP/HTTP.
const tracesPath = "/v1/traces"

// Config says where and how spans are exported. Each field's comment says
// what its zero value means; Defaults holds the sizes and times.
type Config struct {
	// Endpoint is a URL (http://localhost:4318, https://api.honeycomb.io) or
	// host:port; "" disables export. For HTTP it is a base URL and
	// /v1/traces is appended to its path (unless the path already ends so,
	// or Exact is set). An http:// URL means plaintext.
	Endpoint string
	// Exact means Endpoint is the traces URL itself, used as is
	// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
	Exact bool
	// Protocol is grpc, http/protobuf or http/json; "" means http/protobuf,
	// the OpenTelemetry default.
	Protocol string
	// Insecure sends in plaintext, without TLS.
	Insecure bool
	// Headers are sent with every request (gRPC metadata or HTTP headers).
	Headers map[string]string
	// CAFile is a PEM file of the CA certificates that sign the backend's
	// certificate; "" means the system's roots.
	CAFile string
	// ClientCertFile and ClientKeyFile are a client certificate for mutual
	// TLS; "" means none.
	ClientCertFile, ClientKeyFile string
	// Compression is gzip or none; "" means none.
	Compression string
	// Timeout bounds each export request; 0 means Defaults.Timeout.
	Timeout time.Duration

	// QueueSize is the most spans held (queued or being sent); 0 means
	// Defaults.QueueSize.
	QueueSize int
	// BatchSize is the most spans in one request; 0 means Defaults.BatchSize.
	BatchSize int
	// BatchTimeout is the longest a span waits for its batch to fill; 0
	// means Defaults.BatchTimeout.
	BatchTimeout time.Duration
	// WaitWhenFull makes Export wait for room in the queue instead of
	// dropping spans (replay, where nothing else waits on the engine).
	WaitWhenFull bool
	// Delivered, when set, is called by the sender with each batch the
	// backend accepted (in part, when it rejected some spans: they are not
	// sent again either), before the next batch is sent; it must not retain
	// the slice. The checkpoint records deliveries through it.
	Delivered func([]span.Span)
	// RetryInitial and RetryMax bound the backoff between attempts; 0 means
	// Defaults'.
	RetryInitial, RetryMax time.Duration
	// ShutdownTimeout bounds Close's flush when its ctx has no earlier
	// deadline; 0 means Defaults.ShutdownTimeout.
	ShutdownTimeout time.Duration
	// LogInterval is how often repeated problems (drops, retries) are logged
	// at most; 0 means Defaults.LogInterval.
	LogInterval time.Duration

	// Resource is the resource attributes of every request; Scope names the
	// instrumentation scope ("" means sink.Scope).
	Resource otlp.Resource
	Scope    string
	// Log receives the exporter's logs; nil discards them.
	Log *slog.Logger

	// envErrs are the OTEL_* values FromEnv could not use.
	envErrs []error
}

// Defaults are the sizes and times used for zero Config fields.
var Defaults = Config{
	Protocol:        ProtocolHTTPProtobuf,
	Compression:     CompressionNone,
	Timeout:         10 * time.Second,
	QueueSize:       10000,
	BatchSize:       512,
	BatchTimeout:    time.Second,
	RetryInitial:    500 * time.Millisecond,
	RetryMax:        10 * time.Second,
	ShutdownTimeout: 10 * time.Second,
	LogInterval:     10 * time.Second,
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	d := Defaults
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if c.Protocol == "" {
		c.Protocol = d.Protocol
	}
	if c.Compression == "" {
		c.Compression = d.Compression
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = min(d.BatchSize, c.QueueSize)
	}
	set(&c.Timeout, d.Timeout)
	set(&c.BatchTimeout, d.BatchTimeout)
	set(&c.RetryInitial, d.RetryInitial)
	set(&c.RetryMax, d.RetryMax)
	set(&c.ShutdownTimeout, d.ShutdownTimeout)
	set(&c.LogInterval, d.LogInterval)
	if c.Scope == "" {
		c.Scope = sink.Scope
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Enabled reports whether an endpoint is configured.
func (c *Config) Enabled() bool { return c.Endpoint != "" }

// Validate reports every invalid setting at once, including (when an
// endpoint is configured) OTEL_* variables FromEnv could not use. Flag
// names are used in the messages.
func (c *Config) Validate() error {
	var errs []error
	if c.Enabled() {
		errs = append(errs, c.envErrs...)
	}
	switch c.Protocol {
	case "", ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
	default:
		errs = append(errs, fmt.Errorf("-otlp-protocol %q: want grpc, http/protobuf or http/json", c.Protocol))
	}
	switch c.Compression {
	case "", CompressionGzip, CompressionNone:
	default:
		errs = append(errs, fmt.Errorf("-otlp-compression %q: want gzip or none", c.Compression))
	}
	for name, d := range map[string]time.Duration{"-otlp-timeout": c.Timeout, "-otlp-batch-timeout": c.BatchTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if c.QueueSize < 0 || c.BatchSize < 0 {
		errs = append(errs, errors.New("-otlp-queue-size and -otlp-batch-size must not be negative"))
	}
	if c.QueueSize > 0 && c.BatchSize > c.QueueSize {
		errs = append(errs, fmt.Errorf("-otlp-batch-size %d is larger than -otlp-queue-size %d", c.BatchSize, c.QueueSize))
	}
	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		errs = append(errs, errors.New("a client certificate needs both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY"))
	}
	for _, f := range []string{c.CAFile, c.ClientCertFile, c.ClientKeyFile} {
		if f == "" || !c.Enabled() {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("otlp tls file: %w", err))
		}
	}
	if c.Enabled() {
		if _, err := c.target(); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, c.validateHeaders()...)
	}
	return errors.Join(errs...)
}

// validateHeaders refuses headers no backend can be sent: a name that is
// not an HTTP token, a value with a control character (CR and LF would
// split the request; the clients refuse them at each attempt, which would
// look like an outage), and for gRPC a value that is not printable ASCII.
// Values are often secrets: the messages name the header, not the value.
func (c *Config) validateHeaders() []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		v := c.Headers[k]
		if !httpguts.ValidHeaderFieldName(k) {
			errs = append(errs, fmt.Errorf("otlp header name %q: want an HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", k))
			continue
		}
		if c.Protocol == ProtocolGRPC && strings.ContainsFunc(strings.ToLower(k), func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
		}) {
			errs = append(errs, fmt.Errorf("otlp header name %q: gRPC metadata names hold only letters, digits, dashes, underscores and dots", k))
			continue
		}
		for i, r := range v {
			if r < ' ' && r != '\t' || r == 0x7f {
				errs = append(errs, fmt.Errorf("otlp header %q: its value has the control character %U at byte %d", k, r, i))
				break
			}
			if c.Protocol == ProtocolGRPC && r > '~' && !strings.HasSuffix(strings.ToLower(k), "-bin") {
				errs = append(errs, fmt.Errorf("otlp header %q: its value has %q at byte %d; gRPC metadata values are printable ASCII", k, r, i))
				break
			}
		}
	}
	return errs
}

// target is where requests go: for HTTP the full traces URL, for gRPC a
// URL whose Host is the dial target. Its scheme is http when the
// connection is plaintext.
func (c *Config) target() (*url.URL, error) {
	raw := c.Endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-otlp-endpoint %q: want a URL (http://host:4318) or host:port", c.Endpoint)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return nil, fmt.Errorf("-otlp-endpoint %q: scheme must be http or https", c.Endpoint)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("-otlp-endpoint %q: port %s is outside 1-65535", c.Endpoint, p)
		}
	}
	if c.Insecure || strings.EqualFold(u.Scheme, "http") {
		u.Scheme = "http"
	} else {
		u.Scheme = "https"
	}
	switch {
	case c.Exact && u.Path == "":
		u.Path = "/"
	case c.Exact, strings.HasSuffix(u.Path, tracesPath):
	default:
		u.Path = path.Join("/", u.Path, tracesPath)
	}
	u.RawPath = ""
	return u, nil
}

// Describe is the endpoint and protocol, for logs.
func (c *Config) Describe() string {
	u, err := c.target()
	if err != nil {
		return c.Endpoint
	}
	p := c.Protocol
	if p == "" {
		p = Defaults.Protocol
	}
	if p == ProtocolGRPC {
		return u.Scheme + "://" + u.Host + " (grpc)"
	}
	return u.String() + " (" + p + ")"
}
