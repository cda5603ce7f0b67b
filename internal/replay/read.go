package replay

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
)

// readFile opens and decodes one input, and gives up when ctx is done:
// opening a FIFO blocks until a writer comes, and reading a pipe until the
// writer writes or closes it, which no signal would otherwise interrupt.
// What was read before ctx was done is decoded; the cut is a Problem whose
// Err wraps ctx's error. A FIFO still being opened when ctx is done is left
// to its goroutine, which closes it if a writer ever comes: nothing can
// interrupt an open(2) blocked on a FIFO.
func readFile(ctx context.Context, f string, stdin io.Reader) ([]record.Record, []decode.Problem) {
	if f == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		return readAll(ctx, stdin, "<stdin>", nil)
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
			return nil, []decode.Problem{{Source: f, Err: o.err}}
		}
		defer o.fh.Close()
		return readAll(ctx, o.fh, f, o.fh)
	case <-ctx.Done():
		go func() {
			if o := <-done; o.fh != nil {
				_ = o.fh.Close() // nobody reads it any more
			}
		}()
		return nil, []decode.Problem{{Source: f, Err: fmt.Errorf("interrupted while opening: %w", ctx.Err())}}
	}
}

// readAll decodes r, read in a goroutine so that ctx can cut it. closer,
// when set, is closed on a cut, which ends a read of a pipe or FIFO
// blocked in the goroutine; a reader without one (stdin) is left blocked.
func readAll(ctx context.Context, r io.Reader, name string, closer io.Closer) ([]record.Record, []decode.Problem) {
	cr := newCtxReader(ctx, r)
	recs, probs := decode.Read(cr, name)
	if cr.stop() && closer != nil {
		_ = closer.Close()
	}
	return recs, probs
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
	c := &ctxReader{ctx: ctx, data: make(chan chunk), free: make(chan []byte, 2), quit: make(chan struct{})}
	c.free <- make([]byte, 64<<10)
	c.free <- make([]byte, 64<<10)
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

// stop ends the goroutine once it returns from r's Read, and reports
// whether the reading was cut short by ctx.
func (c *ctxReader) stop() bool {
	close(c.quit)
	return c.ctx.Err() != nil
}
