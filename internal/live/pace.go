package live

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// A pacer batches the reads of kspan's connections to the apiserver. Watch
// events come one by one, each a few kB, and reading each as it comes
// wakes the whole chain behind the socket (the HTTP/2 reader, the watch
// decoder, the Reflector, the engine) once per event: in the live
// benchmark those wake-ups, not decoding, were most of kspan's CPU. After
// a read that found the socket drained, a paced connection waits until
// wait has passed before it reads again, so that what arrived meanwhile is
// read, decoded and handled in one go. That adds at most wait to each
// event's latency, against -hold's seconds.
//
// A wait never carries a read across a whole second of the wall clock:
// reads within secondMargin of one are not paced, and a wait ends
// secondMargin before one. kspan dates what it cannot date otherwise by
// when it observed it, and compares those times with the apiserver's
// whole-second timestamps (managedFields, Events' lastTimestamp): paced,
// every observation still falls in the second its bytes arrived in.
//
// Bulk transfers are not slowed much: a read that fills half its buffer or
// more is followed by another at once, and a connection that brought bulk
// bytes or more within one wait is not paced until a whole wait brings
// less. Pacing starts
// when on is set (kspan sets it once the caches have synced, so start-up's
// requests are not delayed).
type pacer struct {
	wait time.Duration
	bulk int
	on   atomic.Bool
	// now and sleep are the clock (time.Now and time.Sleep by default).
	now   func() time.Time
	sleep func(time.Duration)
}

// defaultBulk is the bytes per wait above which a connection is taken to
// carry a bulk transfer (a list): 64 kB, under the smallest TCP receive
// window Linux starts with, so pacing never caps a transfer at a window per
// wait.
const defaultBulk = 64 << 10

func newPacer(wait time.Duration) *pacer {
	return &pacer{wait: wait, bulk: defaultBulk, now: time.Now, sleep: time.Sleep}
}

// dial dials as client-go does by default and paces the connection (the
// source installs it only with a positive wait).
func (p *pacer) dial() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return c, err
		}
		return &pacedConn{Conn: c, p: p}, nil
	}
}

// pacedConn is one paced connection. Only its reads are paced; Read is
// called by one goroutine at a time (the HTTP/2 reader, or TLS's), as
// net.Conn's contract for a stream implies.
type pacedConn struct {
	net.Conn
	p      *pacer
	resume time.Time // a read waits until then
	window time.Time // when the current window of wait began
	bytes  int       // read within the window
	busy   bool      // the window before brought bulk bytes or more
}

func (c *pacedConn) Read(b []byte) (int, error) {
	p := c.p
	if !c.resume.IsZero() {
		if d := c.resume.Sub(p.now()); d > 0 {
			p.sleep(d)
		}
		c.resume = time.Time{}
	}
	n, err := c.Conn.Read(b)
	now := p.now()
	if now.Sub(c.window) >= p.wait {
		c.busy = c.bytes >= p.bulk
		c.window, c.bytes = now, 0
	}
	c.bytes += n
	if err == nil && n < len(b)/2 && !c.busy && c.bytes < p.bulk && p.on.Load() {
		c.resume = p.resumeAt(now)
	}
	return n, err
}

// secondMargin is how near a whole second reads are not paced: enough to
// handle what one wait brings before the second turns.
const secondMargin = 10 * time.Millisecond

// resumeAt is when a read after one that drained the socket at now may
// start: a wait later, but secondMargin before the next whole second at
// the latest; zero (at once) within secondMargin of a whole second.
func (p *pacer) resumeAt(now time.Time) time.Time {
	sec := now.Truncate(time.Second)
	next := sec.Add(time.Second)
	if now.Sub(sec) < secondMargin || next.Sub(now) <= secondMargin {
		return time.Time{}
	}
	at := now.Add(p.wait)
	if limit := next.Add(-secondMargin); at.After(limit) {
		at = limit
	}
	return at
}
