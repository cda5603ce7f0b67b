package replay

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kspan-project/kspan/internal/decode"
)

// openInput opens one input and decodes its start (all of it, unless it is
// a capture), and gives up when ctx is done: opening a FIFO blocks until a
// writer comes, and reading a pipe until the writer writes or closes it,
// which no signal would otherwise interrupt. A capture goes on being read,
// through the same guard, as its records are asked for. What was read
// before ctx was done is decoded; the cut is a Problem whose Err wraps
// ctx's error. in is nil when the input could not be opened (a Problem);
// release must be called when the input is no longer read. A FIFO still
// being opened when ctx is done is left to its goroutine, which closes it
// if a writer ever comes: nothing can interrupt an open(2) blocked on a
// FIFO.
func openInput(ctx context.Context, f string, stdin io.Reader) (in *decode.Input, probs []decode.Problem, release func()) {
	if f == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		in, release := decodeFrom(ctx, stdin, displayName(f), nil)
		return in, nil, release
	}
	type opened struct {
		fh  *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		fh, err := os.Open(f)
		done <- opened{fh, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, []decode.Problem{{Source: f, Err: o.err}}, func() {}
		}
		in, release := decodeFrom(ctx, o.fh, f, o.fh)
		return in, nil, release
	case <-ctx.Done():
		go func() {
			if o := <-done; o.fh != nil {
				_ = o.fh.Close() // nobody reads it any more
			}
		}()
		return nil, []decode.Problem{{Source: f, Err: fmt.Errorf("interrupted while opening: %w", ctx.Err())}}, func() {}
	}
}

// displayName is how messages name an input.
func displayName(f string) string {
	if f == "-" {
		return "<stdin>"
	}
	return f
}

// decodeFrom opens r for decoding, read in a goroutine so that ctx can cut
// it. closer, when set, is closed on release; on a cut that ends a read of
// a pipe or FIFO blocked in the goroutine, while a reader without one
// (stdin) is left blocked.
func decodeFrom(ctx context.Context, r io.Reader, name string, closer io.Closer) (*decode.Input, func()) {
	cr := newCtxReader(ctx, r)
	in := decode.Open(cr, name)
	return in, func() {
		cr.stop()
		if closer != nil {
			_ = closer.Close()
		}
	}
}

// ctxReader reads r in a goroutine, in chunks, and fails with ctx's error
// once ctx is done, whether or not r's Read returns.
type ctxReader struct {
	ctx  context.Context
	data chan chunk
	free chan []byte
	quit chan struct{}
	cur  chunk
	off  int
}

type chunk struct {
	b   []byte
	err error
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	c := &ctxReader{ctx: ctx, data: make(chan chunk), free: make(chan []byte, 1), quit: make(chan struct{})}
	c.free <- make([]byte, 64<<10) // one: r is read again only once the last read is used up
	go c.fill(r)
	return c
}

// fill is the goroutine that reads r; it ends at r's first error or when
// the reader is stopped.
func (c *ctxReader) fill(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-c.free:
		case <-c.quit:
			return
		}
		n, err := r.Read(buf)
		select {
		case c.data <- chunk{buf[:n], err}:
		case <-c.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *ctxReader) Read(p []byte) (int, error) {
	for c.off == len(c.cur.b) {
		if c.cur.err != nil {
			return 0, c.cur.err
		}
		if c.cur.b != nil {
			c.free <- c.cur.b[:cap(c.cur.b)]
			c.cur.b = nil
		}
		select { // what was read before ctx was done is decoded
		case c.cur = <-c.data:
			c.off = 0
			continue
		default:
		}
		select {
		case c.cur = <-c.data:
			c.off = 0
		case <-c.ctx.Done():
			c.cur.err = fmt.Errorf("interrupted: %w", c.ctx.Err())
			return 0, c.cur.err
		}
	}
	n := copy(p, c.cur.b[c.off:])
	c.off += n
	return n, nil
}

// stop ends the goroutine once it returns from r's Read.
func (c *ctxReader) stop() { close(c.quit) }
