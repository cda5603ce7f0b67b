package owners

import (
	"cmp"
	"slices"
	"strconv"
	"time"
	"unique"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rollout"
)

// Config bounds the index. Zero values mean the defaults below.
type Config struct {
	// MaxObjects bounds live objects plus tombstones (default 200000).
	MaxObjects int
	// Tombstone is how long a deleted object is kept (default 1h, the
	// apiserver's default event TTL).
	Tombstone time.Duration
	// MaxGenerations is how many spec changes are remembered per object
	// (default 16: a rolling update scales each ReplicaSet a few times).
	MaxGenerations int
	// LabelKeys are the label keys kept per object (a label selector's);
	// none when empty.
	LabelKeys []string
}

func (c Config) withDefaults() Config {
	if c.MaxObjects <= 0 {
		c.MaxObjects = 200000
	}
	if c.Tombstone <= 0 {
		c.Tombstone = time.Hour
	}
	if c.MaxGenerations <= 0 {
		c.MaxGenerations = 16
	}
	return c
}

// Entry is what the index knows about one object.
type Entry struct {
	Kind, APIVersion, Namespace, Name, UID string
	Created                                time.Time
	Owners                                 []record.OwnerRef
	Traceparent                            string
	// Labels are the object's labels among Config.LabelKeys (nil: none).
	Labels map[string]string
	// Gens is the spec-change history, oldest first.
	Gens []Gen
	// LowestGen is the lowest generation seen: a later one was seen as it
	// was made (on a watch), the lowest maybe only later (in a list).
	LowestGen int64
	// Deleting is metadata.deletionTimestamp, else when the object was seen
	// deleted; Deleted is when it was seen deleted (zero while it lives).
	Deleting, Deleted time.Time
	// FirstRV is the lowest resourceVersion seen of the object (0: none):
	// its creation's, when it was first seen on a watch. DeletingRV is the
	// lowest seen with its deletion begun (0: none).
	FirstRV, DeletingRV uint64
	// Successor is the UID of the next object of the same kind, namespace
	// and name (a StatefulSet's pod recreated, a bare pod applied again),
	// by creation time: what names this name after it was created is
	// about the successor. Empty when none is known.
	Successor string

	// Rollout is what the object's status said of its rollouts (the
	// workload kinds); nil when no status was seen. The correlation engine
	// keeps it.
	Rollout *Rollout

	// seenOwnerless says a version had no owner references (see Orphaned).
	seenOwnerless bool
	// inferred says a controller message named the object's name as made
	// by its controller: Index.Owner answers it for the name as it would
	// an inferred owner, which then need not be kept apart (most objects
	// a controller creates are also seen).
	inferred bool

	lru links[Entry]
	// named says byName maps the entry's name to it (its last version
	// is the name's last seen; Upsert then need not write byName).
	named bool
}

// Rollout is a workload's latest status and the first outcome its status
// reported for each of its latest generations.
type Rollout struct {
	Status record.WorkloadStatus
	// Outcomes are by generation, at most MaxOutcomes, the highest kept.
	Outcomes []Outcome
	// Watched says a status version was observed as it changed (a watch,
	// a capture), not only read from a snapshot, which says nothing of
	// the rollouts before the last one.
	Watched bool
	// FirstWatchedGen is the lowest generation of a version whose status
	// was observed so (0: none): the rollouts of earlier generations
	// happened before it was watched (a restart's relist shows the latest
	// state only), and what became of them is not known.
	FirstWatchedGen int64
}

// MaxOutcomes bounds the generations a Rollout remembers outcomes of.
const MaxOutcomes = 4

// Outcome is the first outcome reported for a generation: when it was
// seen, and the status that reported it.
type Outcome struct {
	Gen    int64
	Result rollout.Result
	At     time.Time
	Status record.WorkloadStatus
}

// OutcomeOf returns the outcome reported for generation gen, or nil.
func (r *Rollout) OutcomeOf(gen int64) *Outcome {
	for i := range r.Outcomes {
		if r.Outcomes[i].Gen == gen {
			return &r.Outcomes[i]
		}
	}
	return nil
}

// AddOutcome remembers o unless its generation has one, forgetting the
// lowest generation beyond MaxOutcomes.
func (r *Rollout) AddOutcome(o Outcome) {
	if r.OutcomeOf(o.Gen) != nil {
		return
	}
	i, _ := slices.BinarySearchFunc(r.Outcomes, o.Gen, func(x Outcome, g int64) int { return cmp.Compare(x.Gen, g) })
	r.Outcomes = slices.Insert(r.Outcomes, i, o)
	if len(r.Outcomes) > MaxOutcomes {
		r.Outcomes = slices.Delete(r.Outcomes, 0, 1)
	}
}

// Orphaned reports whether the object lost the owners of its first state
// (its owner was deleted with orphan propagation): its owners' deletion did
// not cascade to it.
func (e *Entry) Orphaned() bool { return len(e.Owners) > 0 && e.seenOwnerless }

// Controller returns the controlling owner reference, else the first owner,
// else nil.
func (e *Entry) Controller() *record.OwnerRef {
	for i := range e.Owners {
		if e.Owners[i].Controller {
			return &e.Owners[i]
		}
	}
	if len(e.Owners) > 0 {
		return &e.Owners[0]
	}
	return nil
}

// NameKey identifies an object by kind, namespace and name.
type NameKey struct{ Kind, Namespace, Name string }

// Inferred is an owner learnt from a controller message ("Created pod: P" on
// ReplicaSet R makes R the owner of P).
type Inferred struct {
	UID, Kind, Name string
	At              time.Time
}

// Stats counts what the index holds and dropped.
type Stats struct {
	Objects, Tombstones, Inferred int
	Evicted                       uint64
}

// Index is the object index. Not safe for concurrent use.
type Index struct {
	cfg      Config
	byUID    map[string]*Entry
	byName   names
	inferred map[NameKey]*inferEntry
	inferLRU lru[inferEntry] // least recently inferred first
	lru      lru[Entry]      // least recently touched first
	tombs    int
	evicted  uint64
}

// New makes an empty index.
func New(cfg Config) *Index {
	return &Index{
		cfg:      cfg.withDefaults(),
		byUID:    map[string]*Entry{},
		byName:   newNames(),
		inferred: map[NameKey]*inferEntry{},
		inferLRU: lru[inferEntry]{links: func(ie *inferEntry) *links[inferEntry] { return &ie.lru }},
		lru:      lru[Entry]{links: func(e *Entry) *links[Entry] { return &e.lru }},
	}
}

// Get returns the entry for uid.
func (ix *Index) Get(uid string) (*Entry, bool) {
	e, ok := ix.byUID[uid]
	return e, ok
}

// UID returns the UID last seen for kind/namespace/name, or "".
func (ix *Index) UID(k NameKey) string {
	if e := ix.byName.get(k); e != nil {
		return e.UID
	}
	return ""
}

// Stats reports sizes and evictions.
func (ix *Index) Stats() Stats {
	return Stats{Objects: len(ix.byUID) - ix.tombs, Tombstones: ix.tombs, Inferred: len(ix.inferred), Evicted: ix.evicted}
}

// Upsert records a version of an object, observed at observed (zero when
// unknown).
func (ix *Index) Upsert(o *record.Object, observed time.Time) {
	if o.UID == "" {
		return
	}
	e, ok := ix.byUID[o.UID]
	if !ok {
		e = &Entry{UID: o.UID}
		ix.byUID[o.UID] = e
		ix.lru.pushBack(e)
		ix.evict()
	} else {
		ix.lru.moveToBack(e)
	}
	var claimed NameKey // the name e claims, when claim
	claim := false
	var heir *Entry // the name's last holder, holding its inferred owner
	if !e.named || e.Name != o.Name || e.Namespace != o.Namespace || e.Kind != o.Kind {
		// New, renamed (hostile input) or no longer the name's last
		// seen: (re)claim the name.
		if e.named {
			ix.byName.del(NameKey{e.Kind, e.Namespace, e.Name}, e)
		}
		k := NameKey{o.Kind, o.Namespace, o.Name}
		if pe := ix.byName.get(k); pe != nil && pe != e {
			pe.named = false
			ix.succeed(pe, e, o.Created)
			if pe.inferred {
				heir = pe
			}
		}
		claimed, claim = k, true
	}
	if e.Kind != o.Kind || e.APIVersion != o.APIVersion || e.Namespace != o.Namespace {
		e.Kind, e.APIVersion, e.Namespace = intern(o.Kind), intern(o.APIVersion), intern(o.Namespace)
	}
	e.Name = o.Name
	if claim {
		ix.byName.set(claimed, e)
		e.named = true
		if heir != nil {
			ix.inferOwner(claimed, heir)
		}
	}
	e.Created = o.Created
	// Ownership is that of the object's first state (a Deployment deleted
	// with orphan propagation leaves its ReplicaSet ownerless, which does
	// not make the ReplicaSet's past its own): the version with the lowest
	// resourceVersion seen, whatever order versions arrive in.
	if rv := lowestRV(0, o.ResourceVersion); (rv == 0 || e.FirstRV == 0 || rv <= e.FirstRV) && !slices.Equal(e.Owners, o.Owners) {
		e.Owners = append(e.Owners[:0], o.Owners...)
		for i := range e.Owners {
			r := &e.Owners[i]
			r.APIVersion, r.Kind, r.Name, r.UID = intern(r.APIVersion), intern(r.Kind), intern(r.Name), intern(r.UID)
		}
	}
	if len(o.Owners) == 0 {
		e.seenOwnerless = true
	}
	e.FirstRV = lowestRV(e.FirstRV, o.ResourceVersion)
	e.Traceparent = o.Traceparent
	e.Labels = keepLabels(e.Labels, o.Labels, ix.cfg.LabelKeys)
	if !o.Deleting.IsZero() {
		// The earliest any version shows, whatever order they arrive in
		// (a pod's grace period is cut short as it goes).
		e.Deleting = earliest(e.Deleting, o.Deleting)
		e.DeletingRV = lowestRV(e.DeletingRV, o.ResourceVersion)
	}
	ix.addGen(e, o, observed)
	if claim {
		ix.absorb(claimed, e)
	}
}

// intern returns the one copy of s the process keeps (unique.Make): the
// index holds the same kinds, API versions, namespaces and owners for many
// objects, each decoded into strings of their own.
func intern(s string) string { return unique.Make(s).Value() }

// lowestRV is the lower of rv and the resourceVersion s, 0 counting as
// unknown (as does a resourceVersion that is not a number).
func lowestRV(rv uint64, s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || (rv != 0 && rv < v) {
		return rv
	}
	return v
}

// succeed records that a and b, objects of one name, are incarnations in
// the order of their creation (b's is bCreated: b may be new): the older
// one's successor is the one created next after it.
func (ix *Index) succeed(a, b *Entry, bCreated time.Time) {
	older, newer, newerCreated := a, b, bCreated
	if bCreated.Before(a.Created) {
		older, newer, newerCreated = b, a, a.Created
	}
	for range maxIncarnations {
		s, ok := ix.byUID[older.Successor]
		if !ok || s == newer || newerCreated.Before(s.Created) {
			older.Successor = newer.UID
			if ok && s != newer && newer.Successor == "" {
				newer.Successor = s.UID // newer came in between
			}
			return
		}
		older = s // newer comes after s too
	}
}

// maxIncarnations bounds succeed's walk along one name's incarnations.
const maxIncarnations = 8

// Delete records that the object was deleted at now; it stays as a
// tombstone for the configured time.
func (ix *Index) Delete(o *record.Object, now time.Time) {
	ix.Upsert(o, time.Time{})
	if e, ok := ix.byUID[o.UID]; ok && e.Deleted.IsZero() {
		e.Deleted = now
		if e.Deleting.IsZero() {
			e.Deleting = now
		}
		if e.DeletingRV == 0 {
			e.DeletingRV = lowestRV(0, o.ResourceVersion)
		}
		ix.tombs++
	}
}

// Expire drops tombstones, and owners inferred from messages, older than
// the configured time.
func (ix *Index) Expire(now time.Time) {
	cutoff := now.Add(-ix.cfg.Tombstone)
	for ie := ix.inferLRU.front; ie != nil && ie.At.Before(cutoff); ie = ix.inferLRU.front {
		ix.forgetInferred(ie)
	}
	if ix.tombs == 0 {
		return
	}
	for e := ix.lru.front; e != nil; {
		next := ix.lru.next(e)
		if !e.Deleted.IsZero() && e.Deleted.Before(cutoff) {
			ix.remove(e)
		}
		e = next
	}
}

// Live reports whether the entry is still in the index (an entry removed,
// as an expired tombstone or evicted, is never used again: a later version
// of its object gets a new one). Callers that keep an entry check it.
func (e *Entry) Live() bool { return e.lru.in }

func (ix *Index) remove(e *Entry) {
	ix.lru.remove(e)
	delete(ix.byUID, e.UID)
	if e.named {
		ix.byName.del(NameKey{e.Kind, e.Namespace, e.Name}, e)
	}
	if !e.Deleted.IsZero() {
		ix.tombs--
	}
}

func (ix *Index) evict() {
	for len(ix.byUID) > ix.cfg.MaxObjects {
		ix.remove(ix.lru.front)
		ix.evicted++
	}
}

// keepLabels sets dst to src's labels among keys, reusing dst.
func keepLabels(dst, src map[string]string, keys []string) map[string]string {
	if len(keys) == 0 {
		return nil
	}
	clear(dst)
	for _, k := range keys {
		if v, ok := src[k]; ok {
			if dst == nil {
				dst = make(map[string]string, len(keys))
			}
			dst[k] = v
		}
	}
	if len(dst) == 0 {
		return nil
	}
	return dst
}
