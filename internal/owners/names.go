package owners

import "hash/maphash"

// names maps kind/namespace/name to the entry that holds the name (the
// last version seen of it), keyed by a seeded hash of the name: a slot
// is 16 bytes, where a NameKey and a UID were 64, and the index has one
// per object and tombstone. Entries hold their names, so a lookup checks
// the one it finds; a name whose hash another name already has (never by
// chance in practice, and not forgeable, the seed being random) is kept
// in a map of its own.
type names struct {
	seed   maphash.Seed
	byHash map[uint64]*Entry
	clash  map[NameKey]*Entry
	// mask is all ones; tests clear it to make every name clash.
	mask uint64
}

func newNames() names {
	return names{seed: maphash.MakeSeed(), byHash: map[uint64]*Entry{}, clash: map[NameKey]*Entry{}, mask: ^uint64(0)}
}

// is reports whether k is e's name.
func (e *Entry) is(k NameKey) bool {
	return e.Name == k.Name && e.Namespace == k.Namespace && e.Kind == k.Kind
}

func (n *names) hash(k NameKey) uint64 { return maphash.Comparable(n.seed, k) & n.mask }

// get returns the entry holding k, or nil.
func (n *names) get(k NameKey) *Entry {
	if e := n.byHash[n.hash(k)]; e != nil && e.is(k) {
		return e
	}
	if len(n.clash) == 0 {
		return nil
	}
	return n.clash[k]
}

// set makes e the holder of k. e's name must be k by the next get.
func (n *names) set(k NameKey, e *Entry) {
	h := n.hash(k)
	if cur, ok := n.byHash[h]; !ok || cur == e || cur.is(k) {
		n.byHash[h] = e
		if len(n.clash) > 0 {
			delete(n.clash, k)
		}
		return
	}
	n.clash[k] = e
}

// del forgets k if e holds it.
func (n *names) del(k NameKey, e *Entry) {
	h := n.hash(k)
	if n.byHash[h] == e && e.is(k) {
		delete(n.byHash, h)
		if len(n.clash) > 0 {
			// A clashing name takes the slot back.
			for ck, ce := range n.clash {
				if n.hash(ck) == h {
					delete(n.clash, ck)
					n.byHash[h] = ce
					break
				}
			}
		}
		return
	}
	if n.clash[k] == e {
		delete(n.clash, k)
	}
}

// len is how many names are held.
func (n *names) len() int { return len(n.byHash) + len(n.clash) }
