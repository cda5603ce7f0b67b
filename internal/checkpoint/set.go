package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// TTL is how long an entry is kept after its last export: longer than the
// apiserver keeps an Event after its last change (--event-ttl, 1h by
// default), so a relist never finds an Event the checkpoint forgot.
const TTL = 2 * time.Hour

// DefaultMax bounds a Set: 30,000 entries are 960 kB encoded, inside a
// ConfigMap's 1 MiB.
const DefaultMax = 30000

// Entry says that the occurrences of one Event up to Count were exported,
// the last of them in Trace. Key is FNV-1a 64 of the Event's UID (a
// collision among 30,000 UIDs has a probability near 1e-10); At is when
// the last of them was (unix seconds). A root span's entry has its span ID
// as Key and Count 1.
type Entry struct {
	Key   uint64
	Count uint32
	At    uint32
	Trace span.TraceID
}

// KeyOf is the key of an Event UID.
func KeyOf(uid string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(uid))
	return h.Sum64()
}

// Set is the exported occurrences: the highest count exported per Event.
// It is safe for concurrent use: the engine reads it, the output that
// delivers spans writes it.
type Set struct {
	mu      sync.Mutex
	m       map[uint64]Entry
	max     int
	added   []Entry // since the last take
	dirty   bool
	evicted uint64
}

// NewSet makes an empty set of at most max entries (DefaultMax when max <= 0).
func NewSet(max int) *Set {
	if max <= 0 {
		max = DefaultMax
	}
	return &Set{m: map[uint64]Entry{}, max: max}
}

// Exported reports whether occurrence count of the Event with this UID was
// exported by an earlier run (or this one), and the trace the Event's
// latest exported occurrence went to.
func (s *Set) Exported(uid string, count int32) (span.TraceID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[KeyOf(uid)]
	if !ok || count < 0 || uint32(count) > e.Count {
		return span.TraceID{}, false
	}
	return e.Trace, true
}

// ExportedRoot reports whether the root span with this ID was exported.
func (s *Set) ExportedRoot(id span.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[rootKey(id)]
	return ok
}

// rootKey is the entry key of a root span: its ID (itself a hash).
func rootKey(id span.ID) uint64 { return binary.LittleEndian.Uint64(id[:]) }

// Record notes the spans of a delivered batch: each event span's (UID,
// count), and the ID of each root span (a synthetic span with no Event); it
// returns how many it noted.
func (s *Set) Record(spans []span.Span, now time.Time) int {
	at := uint32(now.Unix())
	n := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range spans {
		uid, count := eventOf(&spans[i])
		if uid == "" && spans[i].Parent.IsZero() {
			// A synthetic root span.
			n++
			s.put(Entry{Key: rootKey(spans[i].SpanID), Count: 1, At: at, Trace: spans[i].TraceID}, true)
			continue
		}
		if uid == "" || count < 1 {
			continue
		}
		n++
		s.put(Entry{Key: KeyOf(uid), Count: uint32(count), At: at, Trace: spans[i].TraceID}, true)
	}
	s.evict()
	return n
}

// put merges e: the higher count wins, and the later time.
func (s *Set) put(e Entry, journal bool) {
	old, ok := s.m[e.Key]
	if ok {
		e = mergeEntry(e, old)
		if e == old {
			return
		}
	}
	s.m[e.Key] = e
	s.dirty = true
	if journal {
		s.added = append(s.added, e)
	}
}

// mergeEntry keeps the higher count (with its trace) and the later time.
func mergeEntry(a, b Entry) Entry {
	if b.Count > a.Count {
		a.Count, a.Trace = b.Count, b.Trace
	}
	a.At = max(a.At, b.At)
	return a
}

func eventOf(s *span.Span) (uid string, count int64) {
	for _, a := range s.Attrs {
		switch a.Key {
		case span.KeyEventUID:
			uid = a.Str
		case span.KeyEventCount:
			count = a.Int
			if uid != "" {
				return uid, count
			}
		}
	}
	return uid, count
}

// evict drops the oldest entries beyond the bound (those Events, relisted
// after a restart, are exported again), and a tenth more, so that a set at
// its bound is not sorted for every batch.
func (s *Set) evict() {
	n := len(s.m) - s.max
	if n <= 0 {
		return
	}
	n = min(len(s.m), n+s.max/10)
	all := s.sortedLocked()
	slices.SortStableFunc(all, func(a, b Entry) int { return int(int64(a.At) - int64(b.At)) })
	for _, e := range all[:n] {
		delete(s.m, e.Key)
	}
	s.evicted += uint64(n)
	s.dirty = true
}

// Prune drops entries last exported more than TTL before now.
func (s *Set) Prune(now time.Time) {
	cut := now.Add(-TTL).Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.m {
		if int64(e.At) < cut {
			delete(s.m, k)
			s.dirty = true
		}
	}
}

// Merge adds saved entries (from a Store).
func (s *Set) Merge(es []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		s.put(e, false)
	}
	s.evict()
}

// Len is the number of entries.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Evicted counts entries dropped by the bound.
func (s *Set) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// take returns the entries added since the last take, every entry, and
// whether anything changed since then, and marks the set clean.
func (s *Set) take() (added, all []Entry, dirty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added, s.added = s.added, nil
	dirty, s.dirty = s.dirty, false
	return added, s.sortedLocked(), dirty
}

// undo puts back what take returned when saving it failed.
func (s *Set) undo(added []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added = append(added, s.added...)
	s.dirty = true
}

// entries is every entry, sorted by key.
func (s *Set) entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedLocked()
}

func (s *Set) sortedLocked() []Entry {
	all := make([]Entry, 0, len(s.m))
	for _, e := range s.m {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b Entry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return all
}

// The encoding: the 8-byte magic, then 32 bytes per entry (key, count, at,
// little-endian; the trace ID).
const (
	magic     = "kspanck1"
	entrySize = 32
)

// Encode writes entries after the magic.
func Encode(es []Entry) []byte {
	b := make([]byte, 0, len(magic)+entrySize*len(es))
	b = append(b, magic...)
	return appendEntries(b, es)
}

func appendEntries(b []byte, es []Entry) []byte {
	for _, e := range es {
		b = binary.LittleEndian.AppendUint64(b, e.Key)
		b = binary.LittleEndian.AppendUint32(b, e.Count)
		b = binary.LittleEndian.AppendUint32(b, e.At)
		b = append(b, e.Trace[:]...)
	}
	return b
}

// ErrTruncated says the data ended inside an entry (a write cut short by a
// crash); the entries before it are returned.
var ErrTruncated = errors.New("checkpoint ends inside an entry")

// Decode reads what Encode wrote (or a journal of appended entries).
func Decode(b []byte) ([]Entry, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("not a kspan checkpoint (want it to start with %q)", magic)
	}
	es, rest := decodeEntries(b[len(magic):])
	if len(rest) != 0 {
		return es, fmt.Errorf("%w: %d trailing bytes", ErrTruncated, len(rest))
	}
	return es, nil
}

// decodeEntries decodes the whole entries of b and returns the bytes after
// them.
func decodeEntries(b []byte) (es []Entry, rest []byte) {
	es = make([]Entry, 0, len(b)/entrySize)
	for len(b) >= entrySize {
		e := Entry{
			Key:   binary.LittleEndian.Uint64(b),
			Count: binary.LittleEndian.Uint32(b[8:]),
			At:    binary.LittleEndian.Uint32(b[12:]),
		}
		copy(e.Trace[:], b[16:32])
		es = append(es, e)
		b = b[entrySize:]
	}
	return es, b
}
