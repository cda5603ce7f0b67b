package owners

// lru is a list of the index's entries, least recently touched first,
// linked through the entries themselves (container/list would add an
// element of 48 bytes to each of the index's hundreds of thousands).
type lru[T any] struct {
	front, back *T
	links       func(*T) *links[T]
}

// links are an element's place in an lru.
type links[T any] struct {
	prev, next *T
	in         bool
}

func (l *lru[T]) pushBack(x *T) {
	lx := l.links(x)
	lx.prev, lx.next, lx.in = l.back, nil, true
	if l.back != nil {
		l.links(l.back).next = x
	} else {
		l.front = x
	}
	l.back = x
}

func (l *lru[T]) remove(x *T) {
	lx := l.links(x)
	if !lx.in {
		return
	}
	if lx.prev != nil {
		l.links(lx.prev).next = lx.next
	} else {
		l.front = lx.next
	}
	if lx.next != nil {
		l.links(lx.next).prev = lx.prev
	} else {
		l.back = lx.prev
	}
	*lx = links[T]{}
}

func (l *lru[T]) moveToBack(x *T) {
	if l.back == x {
		return
	}
	l.remove(x)
	l.pushBack(x)
}

// next is the element after x, or nil.
func (l *lru[T]) next(x *T) *T { return l.links(x).next }
