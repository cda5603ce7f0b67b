package correlate

// heldQueue holds the occurrences waiting for their hold in less order,
// with less's keys inline (its sifts read no occurrence unless two share a
// time and resourceVersion). Records mostly arrive in time order, so an
// occurrence not before the last one queued in order joins that run, a
// FIFO; the others go to a binary heap. The least is the least of the
// run's front and the heap's top. A decided occurrence is not taken out: it
// stays until it reaches the front (Engine.queueHead), or until compact when
// the decided outnumber the held.
type heldQueue struct {
	run   []heapEnt // in order from start
	start int
	heap  occHeap
}

// heapEnt is one held occurrence with the keys it is ordered by.
type heapEnt struct {
	ns int64 // the occurrence's time in Unix nanoseconds (saturated)
	rv uint64
	o  *occ
}

func (q *heldQueue) len() int { return len(q.run) - q.start + len(q.heap) }

// push adds o, whose time in Unix nanoseconds is tNS.
func (q *heldQueue) push(o *occ, tNS int64) {
	x := heapEnt{ns: tNS, rv: o.rv, o: o}
	if n := len(q.run); n == q.start || !before(&x, &q.run[n-1]) {
		q.run = append(q.run, x)
		return
	}
	q.heap.push(x)
}

// top is the least occurrence (nil when the queue is empty) and whether it
// is the run's front (else the heap's top), for pop.
func (q *heldQueue) top() (o *occ, run bool) {
	r, h := q.start < len(q.run), len(q.heap) > 0
	switch {
	case r && (!h || !before(&q.heap[0], &q.run[q.start])):
		return q.run[q.start].o, true
	case h:
		return q.heap[0].o, false
	}
	return nil, false
}

// pop takes out the least, from the run when run (as top said).
func (q *heldQueue) pop(run bool) {
	if !run {
		q.heap.pop()
		return
	}
	q.run[q.start] = heapEnt{}
	q.start++
	switch {
	case q.start == len(q.run):
		q.run, q.start = q.run[:0], 0
	case q.start >= 1024 && 2*q.start >= len(q.run):
		n := copy(q.run, q.run[q.start:])
		clear(q.run[n:])
		q.run, q.start = q.run[:n], 0
	}
}

// compact drops the entries of decided occurrences.
func (q *heldQueue) compact() {
	k := 0
	for _, x := range q.run[q.start:] {
		if x.o.state == pending {
			q.run[k] = x
			k++
		}
	}
	clear(q.run[k:])
	q.run, q.start = q.run[:k], 0
	q.heap.compact()
}

// occHeap is a binary min-heap of heap entries (written out rather than
// through container/heap: its interface calls were a tenth of the engine's
// time).
type occHeap []heapEnt

// before is less for heap entries: their times first, inline.
func before(a, b *heapEnt) bool {
	return a.ns < b.ns || a.ns == b.ns && tie(a, b)
}

// tie orders entries of one time: by resourceVersion, else as less does
// (which also orders the times saturated alike).
func tie(a, b *heapEnt) bool {
	if a.rv != b.rv && a.rv != 0 && b.rv != 0 && a.o.ts == b.o.ts && a.o.tns == b.o.tns {
		return a.rv < b.rv
	}
	return less(a.o, b.o)
}

func (h *occHeap) push(x heapEnt) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

// pop takes out the top.
func (h *occHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s[n] = heapEnt{}
	*h = s[:n]
	h.down(0)
}

// compact drops the entries of decided occurrences and restores the heap
// order.
func (h *occHeap) compact() {
	s := *h
	k := 0
	for _, x := range s {
		if x.o.state == pending {
			s[k] = x
			k++
		}
	}
	clear(s[k:])
	*h = s[:k]
	for i := k/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h occHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !before(&h[j], &h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (h occHeap) down(i int) {
	n := len(h)
	for {
		j := 2*i + 1
		if j >= n {
			return
		}
		if r := j + 1; r < n && before(&h[r], &h[j]) {
			j = r
		}
		if !before(&h[j], &h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}
