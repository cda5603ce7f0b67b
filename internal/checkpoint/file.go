package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a journal on the local file system: every delivered batch is
// appended, in one write, before the next batch is delivered, so a crash
// (SIGKILL included) loses at most the batch being delivered at that
// instant. The journal is rewritten whole when it has grown to twice the
// set (and at open). Appends are not fsynced: the journal survives the
// process, not the machine losing power.
type File struct {
	Path string
	// Max bounds the entries Load keeps, the most recent (DefaultMax when
	// zero): a journal is read a chunk at a time into a Set of this size,
	// so one of any size, however it came to be, takes the memory of Max.
	Max int

	f        *os.File
	appended int // entries in the journal file
}

var _ Store = (*File)(nil)

// String implements Store.
func (s *File) String() string { return "file:" + s.Path }

// Synchronous implements Store: appends are cheap.
func (s *File) Synchronous() bool { return true }

// Load implements Store. Only a regular file is read (not a FIFO or a
// device that would never end).
func (s *File) Load(context.Context) ([]Entry, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", s.Path, fi.Mode().Type())
	}
	set := NewSet(s.Max)
	head := make([]byte, len(magic))
	switch n, err := io.ReadFull(f, head); {
	case n == 0 && errors.Is(err, io.EOF):
		return nil, nil
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	case string(head[:n]) != magic:
		return nil, fmt.Errorf("%s: not a kspan checkpoint (want it to start with %q)", s.Path, magic)
	}
	buf := make([]byte, entrySize*(64<<10))
	for {
		n, err := io.ReadFull(f, buf)
		es, rest := decodeEntries(buf[:n])
		set.Merge(es)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) && len(rest) == 0:
			return set.entries(), nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return set.entries(), fmt.Errorf("%w: %d trailing bytes", ErrTruncated, len(rest))
		case err != nil:
			return nil, fmt.Errorf("%s: %w", s.Path, err)
		}
	}
}

// Save implements Store.
func (s *File) Save(_ context.Context, added, all []Entry) error {
	if s.f == nil || s.appended > 2*len(all)+1024 {
		return s.rewrite(all)
	}
	if _, err := s.f.Write(appendEntries(nil, added)); err != nil {
		return fmt.Errorf("appending to %s: %w", s.Path, err)
	}
	s.appended += len(added)
	return nil
}

// rewrite replaces the journal with the set, atomically.
func (s *File) rewrite(all []Entry) error {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), filepath.Base(s.Path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(Encode(all))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.Path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", s.Path, err)
	}
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	s.f, s.appended = f, len(all)
	return nil
}

// Close releases the journal file.
func (s *File) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
