package export

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"google.golang.org/grpc/codes"
)

// verdict is what the sender does with a batch after an attempt.
type verdict int

const (
	delivered verdict = iota // the backend took it (perhaps partly: see the error)
	retry                    // a transient failure: send it again after a pause
	rejected                 // a permanent failure: drop it
)

// maxThrottle caps a pause the backend asks for (gRPC RetryInfo, HTTP
// Retry-After), so a wrong header cannot stall the sender for hours.
const maxThrottle = time.Minute

// classify decides on an attempt from what the transport saw, following
// the OTLP specification's retryable codes: gRPC CANCELLED,
// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
// RESOURCE_EXHAUSTED when the server says when to retry; HTTP 429, 502,
// 503 and 504; and, for HTTP, a request that got no response (refused
// connection, timeout) unless the TLS handshake itself was refused. The
// pause the backend asked for, if any, is returned too.
func classify(err error, o *outcome) (verdict, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	throttle := min(o.throttle, maxThrottle)
	switch {
	case o.grpc:
		switch o.code {
		case codes.OK:
			return delivered, 0
		case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
			return retry, throttle
		case codes.ResourceExhausted:
			if throttle > 0 {
				return retry, throttle
			}
		}
		return rejected, 0
	case o.http != 0:
		switch c := o.http; {
		case c >= 200 && c < 300:
			return delivered, 0
		case c == 429 || c == 502 || c == 503 || c == 504:
			return retry, throttle
		}
		return rejected, 0
	case err == nil:
		return delivered, 0
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return rejected, 0
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return retry, 0
	}
	return rejected, 0
}

// backoff is exponential with jitter: initial, doubling up to max, each
// pause drawn from [d/2, d].
type backoff struct {
	initial, max, next time.Duration
}

func (b *backoff) pause(throttle time.Duration) time.Duration {
	if b.next == 0 {
		b.next = b.initial
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	d = d/2 + rand.N(d/2+1)
	return max(d, throttle)
}
