package owners

import "strings"

// Owners inferred from controller messages ("Created pod: P" on ReplicaSet
// R makes R the owner of P): kept apart for objects the index does not
// hold, by the object's entry for those it does.

// inferEntry is an inferred owner and where it is in the LRU list.
type inferEntry struct {
	Inferred
	key NameKey
	lru links[inferEntry]
}

// Infer records that a controller message names sub as created or managed
// by owner, at owner.At. It is remembered for the tombstone time after the
// last such message, and the least recent is dropped beyond MaxObjects.
func (ix *Index) Infer(sub NameKey, owner Inferred) {
	ie, ok := ix.inferred[sub]
	if e := ix.byName.get(sub); e != nil {
		if c := e.Controller(); c != nil && c.UID == owner.UID {
			// The name's holder says as much: it stands for it.
			e.inferred = true
			if ok {
				ix.forgetInferred(ie)
			}
			return
		}
		e.inferred = false
	}
	if ok && ie.UID == owner.UID && ie.Kind == owner.Kind && ie.Name == owner.Name {
		owner.UID, owner.Kind, owner.Name = ie.UID, ie.Kind, ie.Name // already interned
	} else {
		owner.UID, owner.Kind, owner.Name = intern(owner.UID), intern(owner.Kind), intern(owner.Name)
	}
	if ok {
		if !owner.At.Before(ie.At) {
			ix.inferLRU.moveToBack(ie)
		}
		ie.Inferred = owner
		return
	}
	// A name is cut from a message: cloned, it does not keep the message.
	sub.Name = strings.Clone(sub.Name)
	sub.Kind, sub.Namespace = intern(sub.Kind), intern(sub.Namespace)
	ie = &inferEntry{Inferred: owner, key: sub}
	ix.inferLRU.pushBack(ie)
	ix.inferred[sub] = ie
	for len(ix.inferred) > ix.cfg.MaxObjects {
		ix.forgetInferred(ix.inferLRU.front)
		ix.evicted++
	}
}

// Owner returns the owner to walk to from an object: the controlling owner
// from its metadata when the object is known, else an owner inferred from a
// controller message. ok is false at a root.
func (ix *Index) Owner(k NameKey, uid string) (owner Inferred, ok bool) {
	if e, found := ix.byUID[uid]; found {
		c := e.Controller()
		if c == nil {
			return Inferred{}, false
		}
		return Inferred{UID: c.UID, Kind: c.Kind, Name: c.Name}, true
	}
	if ie, ok := ix.inferred[k]; ok {
		return ie.Inferred, true
	}
	if e := ix.byName.get(k); e != nil && e.inferred {
		if c := e.Controller(); c != nil {
			return Inferred{UID: c.UID, Kind: c.Kind, Name: c.Name}, true
		}
	}
	return Inferred{}, false
}

// inferOwner moves the inferred owner e holds for its name (its
// controller) back to the inferred owners, as an owner inferred at its
// creation.
func (ix *Index) inferOwner(k NameKey, e *Entry) {
	e.inferred = false
	if c := e.Controller(); c != nil {
		if _, ok := ix.inferred[k]; !ok {
			ix.Infer(k, Inferred{UID: c.UID, Kind: c.Kind, Name: c.Name, At: e.Created})
		}
	}
}

// absorb lets e, the holder of the name k, stand for the name's inferred
// owner when that is e's controller (the usual case: what a controller
// says it created is seen too), forgetting the inferred entry.
func (ix *Index) absorb(k NameKey, e *Entry) {
	ie, ok := ix.inferred[k]
	if !ok {
		return
	}
	if c := e.Controller(); c != nil && c.UID == ie.UID {
		ix.forgetInferred(ie)
		e.inferred = true
	}
}

func (ix *Index) forgetInferred(ie *inferEntry) {
	ix.inferLRU.remove(ie)
	delete(ix.inferred, ie.key)
}
