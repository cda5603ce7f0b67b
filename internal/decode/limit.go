package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The bounds on what one piece of the input may take. A line or a document
// beyond them is skipped and reported as a Problem, and the rest of the input
// is read: no input, however crafted, makes Read hold more than the bound for
// one piece besides what it keeps.
const (
	// MaxLine is the longest line read, newline included: a capture line,
	// a line of JSON or of YAML. A longer line is skipped up to its newline
	// without being stored. Compact JSON of a whole List on one line (as
	// `kubectl get --raw` prints it) longer than this is skipped: use
	// kubectl's indented output.
	MaxLine = 16 << 20
	// MaxDocument is the largest YAML document, counted after its aliases
	// are expanded (an anchor's text counts once for each use), the size
	// the YAML decoder would build. JSON has no aliases: a JSON value is
	// bounded only by its lines.
	MaxDocument = 64 << 20
)

// limits are the bounds a decoder applies; tests make them small.
type limits struct {
	line, document int
}

var defaultLimits = limits{line: MaxLine, document: MaxDocument}

// errBinary ends the reading of an input that holds a NUL byte, which no
// JSON, YAML or capture holds as such: it is binary (or UTF-16) data, and an
// endless one (/dev/zero) has no newline to skip to.
var errBinary = errors.New("binary data (a NUL byte), not UTF-8 JSON, YAML or a kspan capture: the rest of the input is not read")

// lineReader reads lines of at most max bytes.
type lineReader struct {
	br  *bufio.Reader
	max int
	n   int // the number of the line last read
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// tooLong is the error of a line longer than the bound; the line has been
// read past.
type tooLong struct{ max int }

func (e tooLong) Error() string {
	return fmt.Sprintf("line longer than %s (the bound on a line): skipped", size(e.max))
}

// appendLine appends the next line, with its newline if it has one, to dst.
// At the end of the input it returns io.EOF and dst unchanged. A line longer
// than the bound is read to its end without being stored and gives
// tooLong; a NUL byte gives errBinary. Other errors are the reader's.
func (l *lineReader) appendLine(dst []byte) ([]byte, error) {
	start, long := len(dst), false
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(frag) > 0 && start == len(dst) && !long {
			l.n++ // the line starts with this fragment
		}
		if bytes.IndexByte(frag, 0) >= 0 {
			return dst[:start], errBinary
		}
		if !long && len(dst)-start+len(frag) > l.max {
			long, dst = true, dst[:start]
		}
		if !long {
			dst = append(dst, frag...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (long || len(dst) > start):
			err = nil // a last line without a newline
		}
		if long && err == nil {
			return dst, tooLong{l.max}
		}
		return dst, err
	}
}

// size writes a byte count in MiB, KiB or bytes.
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
