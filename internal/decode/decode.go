package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/record"
)

// Problem is one unusable piece of the input: an object, a document or a
// line that was skipped (or, for a whole input that is no known format, the
// input). Decoding goes on after a Problem.
type Problem struct {
	// Source is where: "name:LINE" (JSON, captures), "name: document N" or
	// "name: document N item I" (YAML, I counting a List's items from 1),
	// or just "name" when it concerns the whole input.
	Source string
	Err    error
}

func (p Problem) Error() string { return p.Source + ": " + p.Err.Error() }

func (p Problem) Unwrap() error { return p.Err }

// Read decodes everything r holds into records, in input order, and returns
// the Problems it met on the way. name is used in Sources and messages. It
// recognises a kspan capture by its header line, a stream of JSON values
// (kubectl -o json, with or without -w and --output-watch-events) by a
// leading '{', and takes anything else for YAML (kubectl -o yaml, and the
// earlier kspan's captures). Records get the same Sources as Problems.
// Empty input gives neither records nor Problems. Lines and YAML documents
// beyond MaxLine and MaxDocument are skipped as Problems; a NUL byte ends
// the input (it is not text) with a Problem. Open decodes one record at a
// time instead.
func Read(r io.Reader, name string) ([]record.Record, []Problem) {
	return read(r, name, defaultLimits)
}

func read(r io.Reader, name string, lim limits) (recs []record.Record, probs []Problem) {
	in := open(r, name, lim)
	for {
		rec, ok := in.Next()
		if !ok {
			return recs, in.Problems()
		}
		recs = append(recs, rec)
	}
}

// Input is one input being decoded, record by record. A kspan capture is
// decoded as it is read, a line at a time, so that it takes the memory of
// one line however long it is; kubectl output, whose records must be ordered
// and dated against one another, is read and decoded whole by Open.
type Input struct {
	d        *decoder
	lr       *lineReader
	streamed bool
	line     []byte
	next     int // in d.recs
}

// Open reads the start of r to tell its format (as Read does) and, unless
// it is a capture, all of it. Records then come from Next, Problems from
// Problems.
func Open(r io.Reader, name string) *Input { return open(r, name, defaultLimits) }

func open(r io.Reader, name string, lim limits) *Input {
	d := &decoder{name: name, lim: lim}
	in := &Input{d: d, lr: newLineReader(r, lim.line)}
	first, ok := d.next(in.lr, nil)
	if !ok {
		return in
	}
	first = bytes.TrimPrefix(first, []byte("\ufeff"))
	if line := bytes.TrimSpace(first); len(line) > 0 && line[0] == '{' && bytes.Contains(line, []byte(`"kspan"`)) {
		_, err := capture.ParseHeader(line)
		switch {
		case err == nil:
			in.streamed = true
			return in
		case errors.Is(err, capture.ErrUnsupported):
			d.problem(where{name: name, line: 1}, err)
			return in
		case !errors.Is(err, capture.ErrNotCapture):
			d.problem(where{name: name, line: 1}, err)
			in.streamed = true
			return in
		}
	}
	data := first
	for ok {
		data, ok = d.next(in.lr, data)
	}
	if start := skipSpace(data, 0); start < len(data) && data[start] == '{' {
		d.jsonStream(data)
	} else {
		d.yamlStream(data)
	}
	return in
}

// Streamed reports whether the input is a capture, decoded as it is read;
// otherwise Open has read it whole.
func (in *Input) Streamed() bool { return in.streamed }

// Next returns the input's next record, in input order, and false at its
// end (or after an error that ends it, a Problem).
func (in *Input) Next() (record.Record, bool) {
	d := in.d
	for in.next == len(d.recs) {
		if !in.streamed || in.lr == nil {
			d.recs, in.next = nil, 0
			return record.Record{}, false
		}
		d.recs, in.next = d.recs[:0], 0
		var ok bool
		in.line, ok = d.next(in.lr, in.line[:0])
		if len(bytes.TrimSpace(in.line)) > 0 {
			d.captureLine(in.line, where{name: d.name, line: in.lr.n})
		}
		if !ok {
			in.lr = nil
		}
	}
	in.next++
	return d.recs[in.next-1], true
}

// Problems returns the Problems met since it was last called.
func (in *Input) Problems() []Problem {
	p := in.d.probs
	in.d.probs = nil
	return p
}

// next appends the next line of lr to dst. A line over the bound is
// reported and stands as an empty line, so that the lines after it keep
// their numbers. ok is false at the end of the input, or after a read error
// or binary data (reported), which end it.
func (d *decoder) next(lr *lineReader, dst []byte) (_ []byte, ok bool) {
	dst, err := lr.appendLine(dst)
	var long tooLong
	switch {
	case err == nil:
		return dst, true
	case errors.Is(err, io.EOF):
		return dst, false
	case errors.As(err, &long):
		d.problem(where{name: d.name, line: lr.n}, err)
		return append(dst, '\n'), true
	case errors.Is(err, errBinary):
		d.problem(where{name: d.name, line: lr.n}, err)
		return dst, false
	}
	d.problem(where{name: d.name, line: lr.n}, fmt.Errorf("read: %w (the lines before are decoded)", err))
	return dst, false
}

type decoder struct {
	name  string
	lim   limits
	recs  []record.Record
	probs []Problem
	// line is captureLine's, reused: zeroed, it is decoded into afresh
	// (what records took from the last line is theirs), and the hundreds
	// of bytes it is are not allocated for every line.
	line *captureLine
}

// where is a position in the input: a line (JSON, captures) or a YAML
// document, and the item of a YAML List.
type where struct {
	name            string
	line, doc, item int
}

func (w where) String() string {
	switch {
	case w.doc > 0 && w.item > 0:
		return w.name + ": document " + strconv.Itoa(w.doc) + " item " + strconv.Itoa(w.item)
	case w.doc > 0:
		return w.name + ": document " + strconv.Itoa(w.doc)
	case w.line > 0:
		return w.name + ":" + strconv.Itoa(w.line)
	}
	return w.name
}

func (d *decoder) problem(at where, err error) {
	d.probs = append(d.probs, Problem{Source: at.String(), Err: err})
}

// captureLine is one observation line of a capture.
type captureLine struct {
	T      ktime  `json:"t"`
	Type   string `json:"type"`
	Object wire   `json:"object"`
}

func (d *decoder) captureLine(b []byte, at where) {
	if d.line == nil {
		d.line = new(captureLine)
	}
	l := d.line
	*l = captureLine{}
	if err := tolerate(json.Unmarshal(b, l), &l.Object, b, "object."); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			err = fmt.Errorf("malformed or truncated capture line: %w", err)
		}
		d.problem(at, err)
		return
	}
	if l.T.IsZero() {
		d.problem(at, fmt.Errorf("capture line has no observation time \"t\" (%s)", orNull(l.T.bad)))
		return
	}
	var op record.Op
	switch l.Type {
	case capture.Added, capture.Modified:
	case capture.Deleted:
		op = record.Delete
	default:
		d.problem(at, fmt.Errorf("capture line type %q, want ADDED, MODIFIED or DELETED", l.Type))
		return
	}
	d.value(&l.Object, nil, at, l.T.Time, op, true)
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// jsonStream decodes a sequence of JSON values, each an object, a List or a
// watch event wrapper. After a broken value it resumes at the next line that
// starts with '{', where kubectl's pretty printing starts each value.
func (d *decoder) jsonStream(data []byte) {
	ln := newLines(data, 1)
	for pos := skipSpace(data, 0); pos < len(data); pos = skipSpace(data, pos) {
		at := where{name: d.name, line: ln.at(pos)}
		if data[pos] != '{' {
			d.problem(at, fmt.Errorf("found %q where a JSON object should start; skipped to the next line starting with '{'", rune(data[pos])))
			pos = resync(data, pos)
			continue
		}
		end, closed := valueEnd(data, pos)
		var w wire
		err := json.Unmarshal(data[pos:end], &w)
		var te *json.UnmarshalTypeError
		if !closed || err != nil && !errors.As(err, &te) {
			d.problem(at, syntaxProblem(data, pos, at.line))
			pos = resync(data, pos)
			continue
		}
		if err := tolerate(err, &w, data[pos:end], ""); err != nil {
			d.problem(at, err)
		} else {
			d.value(&w, data[pos:end], at, time.Time{}, record.Upsert, false)
		}
		pos = end
	}
}

// valueEnd returns the end of the JSON object starting at data[pos] by
// matching brackets outside strings, and whether it found one before the end
// of data. It does not validate: json.Unmarshal does.
func valueEnd(data []byte, pos int) (end int, closed bool) {
	depth, inString := 0, false
	for i := pos; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(data), false
}

// syntaxProblem describes the JSON value starting at data[pos] (on line
// line) that does not parse. It decodes it again with a json.Decoder, which
// stops at the first error, to say where the value breaks.
func syntaxProblem(data []byte, pos, line int) error {
	var raw json.RawMessage
	err := json.NewDecoder(bytes.NewReader(data[pos:])).Decode(&raw)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		end := min(pos+int(se.Offset), len(data))
		errLine := line + bytes.Count(data[pos:end], []byte("\n"))
		return fmt.Errorf("malformed JSON (line %d: %w); skipped to the next line starting with '{'", errLine, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("JSON object truncated: the input ends inside it")
	case err == nil:
		return errors.New("malformed JSON: unbalanced brackets")
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// resync returns the start of the next line after pos that starts with '{',
// or len(data).
func resync(data []byte, pos int) int {
	i := bytes.Index(data[pos:], []byte("\n{"))
	if i < 0 {
		return len(data)
	}
	return pos + i + 1
}

func skipSpace(data []byte, pos int) int {
	for pos < len(data) {
		switch data[pos] {
		case ' ', '\t', '\r', '\n':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// lines maps byte offsets, visited mostly in increasing order, to line
// numbers.
type lines struct {
	data   []byte
	base   int // the line number of data[0]
	off, n int // line n starts at or before off
}

func newLines(data []byte, base int) *lines {
	return &lines{data: data, base: base, n: base}
}

func (l *lines) at(off int) int {
	if off < l.off {
		l.off, l.n = 0, l.base
	}
	l.n += bytes.Count(l.data[l.off:off], []byte("\n"))
	l.off = off
	return l.n
}
