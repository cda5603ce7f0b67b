package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// outcome is what one upload attempt got from the transport, recorded by a
// gRPC interceptor or an HTTP round tripper: the clients' errors do not
// expose the status code (and the HTTP client does not call a refused
// connection retryable), so the sender decides on these instead.
type outcome struct {
	mu       sync.Mutex
	grpc     bool       // a gRPC call was made
	code     codes.Code // its status
	http     int        // an HTTP response's status code (0: no response)
	throttle time.Duration
}

type outcomeKey struct{}

func withOutcome(ctx context.Context, o *outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

func outcomeOf(ctx context.Context) *outcome {
	o, _ := ctx.Value(outcomeKey{}).(*outcome)
	return o
}

// newClient builds the OTLP client for cfg (defaults applied). Every
// setting is passed explicitly, so what the clients read from the
// environment themselves is overridden by kspan's (flag-aware) reading.
func newClient(cfg Config) (otlptrace.Client, error) {
	u, err := cfg.target()
	if err != nil {
		return nil, err
	}
	plaintext := u.Scheme == "http"
	var tlsCfg *tls.Config
	if !plaintext {
		if tlsCfg, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
	}
	headers := cfg.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	if cfg.Protocol == ProtocolGRPC {
		var creds credentials.TransportCredentials = insecure.NewCredentials()
		if !plaintext {
			creds = credentials.NewTLS(tlsCfg)
		}
		compressor := encoding.Identity
		if cfg.Compression == CompressionGzip {
			compressor = "gzip" // registered by otlptracegrpc
		}
		return otlptracegrpc.NewClient(
			otlptracegrpc.WithEndpoint(u.Host),
			otlptracegrpc.WithHeaders(headers),
			otlptracegrpc.WithTimeout(cfg.Timeout),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
			otlptracegrpc.WithDialOption(
				grpc.WithTransportCredentials(creds),
				grpc.WithDefaultCallOptions(grpc.UseCompressor(compressor)),
				grpc.WithUnaryInterceptor(recordGRPC),
			),
		), nil
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	compression := otlptracehttp.NoCompression
	if cfg.Compression == CompressionGzip {
		compression = otlptracehttp.GzipCompression
	}
	encodingOpt := otlptracehttp.EncodingProtobuf
	if cfg.Protocol == ProtocolHTTPJSON {
		encodingOpt = otlptracehttp.EncodingJSON
	}
	return otlptracehttp.NewClient(
		otlptracehttp.WithEndpointURL(u.String()),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: recordHTTP{transport}}),
		// Only consulted by the client's check that plaintext has no TLS
		// settings (the environment may carry a certificate).
		otlptracehttp.WithTLSClientConfig(tlsCfg),
		otlptracehttp.WithHeaders(headers),
		otlptracehttp.WithCompression(compression),
		otlptracehttp.WithEncoding(encodingOpt),
		otlptracehttp.WithTimeout(cfg.Timeout),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	), nil
}

// tlsConfig is nil (the system's roots) unless a CA or client certificate
// is configured.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.ClientCertFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := readPEM(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the otlp ca file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the otlp ca file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.ClientCertFile != "" {
		certPEM, err := readPEM(cfg.ClientCertFile)
		if err != nil {
			return nil, fmt.Errorf("loading the otlp client certificate: %w", err)
		}
		keyPEM, err := readPEM(cfg.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the otlp client key: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("loading the otlp client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func recordGRPC(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if o := outcomeOf(ctx); o != nil {
		s := status.Convert(err)
		o.mu.Lock()
		o.grpc, o.code = true, s.Code()
		for _, d := range s.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				o.throttle = ri.GetRetryDelay().AsDuration()
			}
		}
		o.mu.Unlock()
	}
	return err
}

// recordHTTP notes each response's status code and Retry-After.
type recordHTTP struct{ base http.RoundTripper }

func (r recordHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if o := outcomeOf(req.Context()); o != nil && resp != nil {
		o.mu.Lock()
		o.http = resp.StatusCode
		o.throttle = 0
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			o.throttle = time.Duration(s) * time.Second
		}
		o.mu.Unlock()
	}
	return resp, err
}

// maxPEM bounds a certificate or key file: a CA bundle is a few hundred
// kilobytes, and a path such as /dev/zero must not take the memory.
const maxPEM = 16 << 20

func readPEM(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a PEM file", path, maxPEM>>20)
	}
	return b, nil
}
