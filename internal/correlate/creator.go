package correlate

import (
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// creatorLink is where the span of an object's creator ("Created pod: P"
// for pod P) went: the cause of the object's every later event but those
// its deletion causes, however late they come (a pod unschedulable for ten
// minutes, a crash loop's BackOff). The creator's own occurrence is
// forgotten a window after it; this is what is kept of it.
type creatorLink struct {
	trace span.TraceID
	id    span.ID
	start time.Time // the creator span's start
	t     time.Time // the creator's time
	root  *rootState
	used  int64 // when it last caused an event, in Unix nanoseconds (the engine's clock)
}

// rememberCreator keeps m, decided, as the creator of act's object, used
// at t.
func (e *Engine) rememberCreator(act *activity, m *occ, t time.Time) {
	uid := act.ref.uid
	if uid == "" || act.creator == m.id && t.Sub(act.creatorUsed) < e.cfg.Window/4 {
		return
	}
	act.creator, act.creatorUsed = m.id, t
	if ent, ok := e.index.Get(uid); ok {
		uid = ent.UID // the index's copy: the Event's can go with it
	}
	e.creators[uid] = creatorLink{trace: m.trace, id: m.id, start: m.start, t: m.t, root: m.root, used: unixNanos(t)}
}

// creatorOf is the remembered creator of o's object, if o is not before
// it (a creator is never the cause of what came before it).
func (e *Engine) creatorOf(o *occ) (creatorLink, bool) {
	if o.obj.uid == "" {
		return creatorLink{}, false
	}
	l, ok := e.creators[o.obj.uid]
	if !ok || o.t.Add(time.Second).Before(l.t) {
		return creatorLink{}, false
	}
	return l, true
}

// pruneCreators forgets the creators of objects the index no longer holds
// (deleted and their tombstones expired, or evicted) once they have caused
// nothing since cut, and of objects it never held (known only from Events)
// likewise; then the oldest beyond MaxTracked, counted in Stats.Forgotten.
func (e *Engine) pruneCreators(cut time.Time) {
	for uid, l := range e.creators {
		if l.used < unixNanos(cut) {
			if _, ok := e.index.Get(uid); !ok {
				delete(e.creators, uid)
			}
		}
	}
	n := len(e.creators) - e.cfg.MaxTracked
	if n <= 0 {
		return
	}
	for _, uid := range oldest(e.creators, n, func(l creatorLink) time.Time { return time.Unix(0, l.used) }, nil) {
		delete(e.creators, uid)
		e.stats.Forgotten++
	}
}
