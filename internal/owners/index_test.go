package owners

import (
	"slices"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func obj(kind, name, uid string, gen int64, owners ...record.OwnerRef) *record.Object {
	return &record.Object{Kind: kind, Namespace: "ns", Name: name, UID: uid, Generation: gen, Created: t0, Owners: owners}
}

func TestOwnerWalk(t *testing.T) {
	ix := New(Config{})
	ix.Upsert(obj("Deployment", "web", "d1", 1), time.Time{})
	ix.Upsert(obj("ReplicaSet", "web-a", "r1", 1,
		record.OwnerRef{Kind: "Widget", Name: "w", UID: "w1"},
		record.OwnerRef{Kind: "Deployment", Name: "web", UID: "d1", Controller: true}), time.Time{})
	ix.Upsert(obj("Pod", "web-a-1", "p1", 1, record.OwnerRef{Kind: "ReplicaSet", Name: "web-a", UID: "r1"}), time.Time{})
	ix.Infer(NameKey{"Pod", "ns", "web-a-2"}, Inferred{UID: "r1", Kind: "ReplicaSet", Name: "web-a"})
	ix.Infer(NameKey{"Pod", "ns", "web-a-1"}, Inferred{UID: "other", Kind: "ReplicaSet", Name: "x"})

	cases := []struct {
		name    string
		key     NameKey
		uid     string
		wantUID string
		ok      bool
	}{
		{"controller owner first", NameKey{"ReplicaSet", "ns", "web-a"}, "r1", "d1", true},
		{"sole non-controller owner", NameKey{"Pod", "ns", "web-a-1"}, "p1", "r1", true},
		{"metadata beats an inferred owner", NameKey{"Pod", "ns", "web-a-1"}, "p1", "r1", true},
		{"root", NameKey{"Deployment", "ns", "web"}, "d1", "", false},
		{"inferred when never seen", NameKey{"Pod", "ns", "web-a-2"}, "p2", "r1", true},
		{"inferred without a UID", NameKey{"Pod", "ns", "web-a-2"}, "", "r1", true},
		{"unknown", NameKey{"Pod", "ns", "nope"}, "p9", "", false},
	}
	for _, c := range cases {
		got, ok := ix.Owner(c.key, c.uid)
		if ok != c.ok || got.UID != c.wantUID {
			t.Errorf("%s: Owner = %q, %v; want %q, %v", c.name, got.UID, ok, c.wantUID, c.ok)
		}
	}
}

func TestGenerationsAndTombstones(t *testing.T) {
	ix := New(Config{Tombstone: time.Minute, MaxGenerations: 2})
	for g := int64(1); g <= 3; g++ {
		o := obj("Deployment", "web", "d1", g)
		o.SpecTime = t0.Add(time.Duration(g) * time.Minute)
		o.SpecManager = "kubectl"
		ix.Upsert(o, time.Time{})
	}
	// A stale version arriving late does not disturb the history.
	old := obj("Deployment", "web", "d1", 2)
	old.SpecTime = t0.Add(2 * time.Minute)
	ix.Upsert(old, time.Time{})
	e, _ := ix.Get("d1")
	if len(e.Gens) != 2 || e.Gens[0].Generation != 2 || e.Gens[1].Generation != 3 {
		t.Fatalf("history %+v, want generations 2 and 3", e.Gens)
	}
	for _, c := range []struct {
		at   time.Duration
		want int64
		ok   bool
	}{{90 * time.Second, 0, false}, {2 * time.Minute, 2, true}, {150 * time.Second, 2, true}, {time.Hour, 3, true}} {
		g, ok := e.GenAt(t0.Add(c.at), 0)
		if ok != c.ok || g.Generation != c.want {
			t.Errorf("GenAt(+%v) = %d, %v; want %d, %v", c.at, g.Generation, ok, c.want, c.ok)
		}
	}

	ix.Delete(obj("Deployment", "web", "d1", 3), t0.Add(time.Hour))
	if _, ok := ix.Get("d1"); !ok {
		t.Fatal("tombstone missing right after delete")
	}
	if st := ix.Stats(); st.Tombstones != 1 || st.Objects != 0 {
		t.Errorf("stats %+v", st)
	}
	ix.Expire(t0.Add(time.Hour + 30*time.Second))
	if _, ok := ix.Get("d1"); !ok {
		t.Error("tombstone expired early")
	}
	ix.Expire(t0.Add(time.Hour + 2*time.Minute))
	if _, ok := ix.Get("d1"); ok || ix.UID(NameKey{"Deployment", "ns", "web"}) != "" {
		t.Error("tombstone not expired")
	}
}

func TestDirectSpecChange(t *testing.T) {
	ix := New(Config{})
	o := obj("Deployment", "web", "d1", 2, record.OwnerRef{Kind: "Widget", Name: "w", UID: "w1", Controller: true})
	o.OwnerManager, o.SpecManager = "widget-operator", "kubectl"
	ix.Upsert(o, time.Time{})
	o2 := obj("Deployment", "web", "d1", 3, record.OwnerRef{Kind: "Widget", Name: "w", UID: "w1", Controller: true})
	o2.OwnerManager, o2.SpecManager = "widget-operator", "widget-operator"
	ix.Upsert(o2, time.Time{})
	e, _ := ix.Get("d1")
	if !e.Gens[0].Direct || e.Gens[1].Direct {
		t.Errorf("direct flags %+v", e.Gens)
	}
}

func TestBoundEvictsLeastRecentlyTouched(t *testing.T) {
	ix := New(Config{MaxObjects: 3})
	for _, uid := range []string{"a", "b", "c"} {
		ix.Upsert(obj("Pod", uid, uid, 1), time.Time{})
	}
	ix.Upsert(obj("Pod", "a", "a", 1), time.Time{}) // touch a
	ix.Upsert(obj("Pod", "d", "d", 1), time.Time{})
	if _, ok := ix.Get("b"); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := ix.Get("a"); !ok {
		t.Error("a was touched and should stay")
	}
	if st := ix.Stats(); st.Evicted != 1 || st.Objects != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestSameSecondChangesToldApartByObservation(t *testing.T) {
	ix := New(Config{})
	for g, obs := range map[int64]time.Duration{3: 200 * time.Millisecond, 4: 700 * time.Millisecond} {
		o := obj("Deployment", "web", "d1", g)
		o.SpecTime = t0 // both changes stamped with the same whole second
		ix.Upsert(o, t0.Add(obs))
	}
	e, _ := ix.Get("d1")
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{{500 * time.Millisecond, 3}, {700 * time.Millisecond, 4}, {time.Second, 4}} {
		if g, _ := e.GenAt(t0.Add(c.at), 0); g.Generation != c.want {
			t.Errorf("GenAt(+%v) = %d, want %d", c.at, g.Generation, c.want)
		}
	}
}

func TestUntimedSpecChangeUsesObservation(t *testing.T) {
	// kubectl scale writes a managedFields entry without a time; the newest
	// timed spec entry is then the creation's.
	ix := New(Config{})
	upsertGen(ix, 1, t0, t0.Add(100*time.Millisecond))
	upsertGen(ix, 2, t0, t0.Add(3*time.Second))
	upsertGen(ix, 2, t0, t0.Add(4*time.Second)) // a later version of the same generation
	e, _ := ix.Get("d1")
	if g, _ := e.GenAt(t0.Add(time.Second), 0); g.Generation != 1 {
		t.Errorf("GenAt(+1s) = %d, want 1", g.Generation)
	}
	if g, _ := e.GenAt(t0.Add(3*time.Second), 0); g.Generation != 2 {
		t.Errorf("GenAt(+3s) = %d, want 2", g.Generation)
	}
}

func TestUntimedSpecChangeSeenAfterItsEvent(t *testing.T) {
	// The deployment controller's "Scaled down" Event can reach kspan before
	// the Deployment's own update does (two watches): an untimed change
	// counts from untimedLead before its first observation, and is dated no
	// later than the Event that shows it.
	ix := New(Config{})
	upsertGen(ix, 1, t0, t0.Add(100*time.Millisecond))
	g2 := obj("Deployment", "web", "d1", 2)
	g2.SpecTime = t0
	seen := t0.Add(5*time.Second + 300*time.Millisecond)
	ix.Upsert(g2, seen)
	e, _ := ix.Get("d1")
	ev := seen.Add(-20 * time.Millisecond)
	g, _ := e.GenAt(ev, 0)
	if g.Generation != 2 || !g.Time.Equal(ev) {
		t.Errorf("GenAt(event just before the object) = gen %d at %v, want 2 at %v", g.Generation, g.Time, ev)
	}
	if g, _ := e.GenAt(seen.Add(time.Second), 0); g.Generation != 2 || !g.Time.Equal(seen) {
		t.Errorf("GenAt(after) = gen %d at %v, want 2 at %v", g.Generation, g.Time, seen)
	}
	if g, _ := e.GenAt(seen.Add(-untimedLead-time.Millisecond), 0); g.Generation != 1 {
		t.Errorf("GenAt(before the lead) = gen %d, want 1", g.Generation)
	}
	// The lead never reaches back past the previous change's observation.
	upsertGen(ix, 3, t0, seen.Add(200*time.Millisecond))
	if g, _ := e.GenAt(seen.Add(-time.Millisecond), 0); g.Generation != 2 {
		t.Errorf("GenAt(before gen 2 was seen) = gen %d, want 2", g.Generation)
	}
	if g, _ := e.GenAt(seen.Add(time.Millisecond), 0); g.Generation != 3 {
		t.Errorf("GenAt(after gen 2 was seen) = gen %d, want 3", g.Generation)
	}
}

func TestTimedChangeInTheSecondOfAnUntimedOne(t *testing.T) {
	// kubectl scale (untimed), then an image change in the same second: the
	// scale-down Event between the two belongs to the scale.
	ix := New(Config{})
	upsertGen(ix, 1, t0, t0.Add(100*time.Millisecond))
	upsertGen(ix, 2, t0, t0.Add(10*time.Second+300*time.Millisecond))
	upsertGen(ix, 3, t0.Add(10*time.Second), t0.Add(10*time.Second+800*time.Millisecond))
	e, _ := ix.Get("d1")
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{{10*time.Second + 500*time.Millisecond, 2}, {10*time.Second + 900*time.Millisecond, 3}, {9*time.Second + 500*time.Millisecond, 2}} {
		if g, _ := e.GenAt(t0.Add(c.at), 0); g.Generation != c.want {
			t.Errorf("GenAt(+%v) = %d, want %d", c.at, g.Generation, c.want)
		}
	}
}

// upsertGen records generation gen of Deployment web (d1), its newest timed
// spec change at spec, observed at seen.
func upsertGen(ix *Index, gen int64, spec, seen time.Time) {
	o := obj("Deployment", "web", "d1", gen)
	o.SpecTime = spec
	ix.Upsert(o, seen)
}

// TestNameLastSeen: UID returns the object last seen under a name, as
// versions of two objects sharing it (deleted and made again) interleave.
func TestNameLastSeen(t *testing.T) {
	ix := New(Config{})
	k := NameKey{"Pod", "ns", "web"}
	for i, step := range []struct{ uid, name, want string }{
		{"a", "web", "a"},
		{"b", "web", "b"},
		{"b", "web", "b"},
		{"a", "web", "a"},
		{"a", "web", "a"},
		{"b", "web", "b"},
		{"a", "other", "b"},
		{"c", "web", "c"},
		{"b", "web", "b"},
	} {
		ix.Upsert(obj("Pod", step.name, step.uid, 1), time.Time{})
		if got := ix.UID(k); got != step.want {
			t.Fatalf("step %d (%s as %s): UID = %q, want %q", i, step.uid, step.name, got, step.want)
		}
	}
	if got := ix.UID(NameKey{"Pod", "ns", "other"}); got != "a" {
		t.Errorf("renamed: UID = %q, want a", got)
	}
}

func TestGenerationFirstSeenAfterTheEvent(t *testing.T) {
	// kubectl scale (untimed) and a timed image change in the same second,
	// both versions read in one batch (observed together): the Events the
	// scale caused were stored before the image change's version, so etcd's
	// order places them, where the clock cannot.
	ix := New(Config{})
	upsertGenRV(ix, 1, t0, t0.Add(100*time.Millisecond), "100")
	upsertGenRV(ix, 2, t0, t0.Add(10*time.Second+900*time.Millisecond), "200")
	upsertGenRV(ix, 3, t0.Add(10*time.Second), t0.Add(10*time.Second+900*time.Millisecond), "210")
	e, _ := ix.Get("d1")
	at := t0.Add(10*time.Second + 950*time.Millisecond)
	for _, c := range []struct {
		rv   uint64
		want int64
	}{{205, 2}, {215, 3}, {0, 3}, {50, 1}} {
		if g, _ := e.GenAt(at, c.rv); g.Generation != c.want {
			t.Errorf("GenAt(rv %d) = %d, want %d", c.rv, g.Generation, c.want)
		}
	}
	// The first generation known may have been seen late (a list): it is
	// never passed over.
	ix = New(Config{})
	upsertGenRV(ix, 5, t0, t0.Add(time.Minute), "900")
	e, _ = ix.Get("d1")
	if g, ok := e.GenAt(t0.Add(time.Second), 800); !ok || g.Generation != 5 {
		t.Errorf("GenAt(rv before the only generation known) = %d, %v; want 5", g.Generation, ok)
	}
}

func upsertGenRV(ix *Index, gen int64, spec, seen time.Time, rv string) {
	o := obj("Deployment", "web", "d1", gen)
	o.SpecTime = spec
	o.ResourceVersion = rv
	ix.Upsert(o, seen)
}

func TestSuccessorIsTheNextIncarnation(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}} {
		ix := New(Config{})
		uids := []string{"a", "b", "c"}
		for _, i := range order {
			o := obj("Pod", "db-0", uids[i], 0)
			o.Created = t0.Add(time.Duration(i) * time.Minute)
			ix.Upsert(o, time.Time{})
		}
		a, _ := ix.Get("a")
		b, _ := ix.Get("b")
		if a.Successor != "b" || b.Successor != "c" {
			t.Errorf("order %v: successors a->%q b->%q, want b and c", order, a.Successor, b.Successor)
		}
	}
}

func TestOwnersOfTheFirstStateInAnyOrder(t *testing.T) {
	// A ReplicaSet orphaned by its Deployment's deletion (orphan
	// propagation): its first state's owner stays its owner, and it is
	// known to be orphaned, whatever order its versions arrive in.
	owned := obj("ReplicaSet", "web-a", "r1", 1, record.OwnerRef{Kind: "Deployment", Name: "web", UID: "d1", Controller: true})
	owned.ResourceVersion = "10"
	orphan := obj("ReplicaSet", "web-a", "r1", 1)
	orphan.ResourceVersion = "20"
	orphan.Deleting = t0.Add(time.Minute)
	for _, order := range [][]*record.Object{{owned, orphan}, {orphan, owned}} {
		ix := New(Config{})
		for _, o := range order {
			ix.Upsert(o, time.Time{})
		}
		e, _ := ix.Get("r1")
		if c := e.Controller(); c == nil || c.UID != "d1" || !e.Orphaned() || e.DeletingRV != 20 || e.FirstRV != 10 {
			t.Errorf("order %s first: controller %+v, orphaned %v, rv %d/%d; want d1, true, 10/20",
				order[0].ResourceVersion, c, e.Orphaned(), e.FirstRV, e.DeletingRV)
		}
	}
}

func TestEtcdOrderOverridesObservation(t *testing.T) {
	// Pause, two edits and resume in one second, the Deployment's versions
	// read in one batch after the rollout's first Event: the Event was
	// stored after the resume (generation 4), so that is in force.
	ix := New(Config{})
	upsertGenRV(ix, 1, t0, t0.Add(100*time.Millisecond), "100")
	for g, rv := range map[int64]string{2: "200", 3: "203", 4: "205"} {
		upsertGenRV(ix, g, t0.Add(10*time.Second), t0.Add(10*time.Second+900*time.Millisecond), rv)
	}
	e, _ := ix.Get("d1")
	if g, _ := e.GenAt(t0.Add(10*time.Second+500*time.Millisecond), 207); g.Generation != 4 {
		t.Errorf("GenAt(an Event stored after generation 4, observed before it) = %d, want 4", g.Generation)
	}
	if g, _ := e.GenAt(t0.Add(10*time.Second+500*time.Millisecond), 199); g.Generation != 1 {
		t.Errorf("GenAt(an Event stored before generation 2) = %d, want 1", g.Generation)
	}
}

func TestRolloutOutcomesByGeneration(t *testing.T) {
	var r Rollout
	for _, g := range []int64{3, 1, 5, 2, 4, 3} {
		r.AddOutcome(Outcome{Gen: g, At: time.Unix(g, 0)})
	}
	var gens []int64
	for _, o := range r.Outcomes {
		gens = append(gens, o.Gen)
	}
	if !slices.Equal(gens, []int64{2, 3, 4, 5}) {
		t.Errorf("generations kept %v, want the 4 highest in order", gens)
	}
	if o := r.OutcomeOf(3); o == nil || !o.At.Equal(time.Unix(3, 0)) {
		t.Errorf("generation 3's outcome %+v: the first one stands", o)
	}
	if r.OutcomeOf(1) != nil {
		t.Error("generation 1 kept beyond the bound")
	}
}

// An owner inferred from a message about an object that is also seen is
// kept by the object's entry, not apart, and answers as before: for the
// name, for a UID the index does not hold, and for the name's next holder.
func TestInferredOwnerKeptByTheObject(t *testing.T) {
	rs := record.OwnerRef{Kind: "ReplicaSet", Name: "web-a", UID: "r1", Controller: true}
	for _, order := range []string{"message first", "object first"} {
		ix := New(Config{})
		infer := func() {
			ix.Infer(NameKey{"Pod", "ns", "web-0"}, Inferred{UID: "r1", Kind: "ReplicaSet", Name: "web-a", At: t0})
		}
		if order == "message first" {
			infer()
		}
		ix.Upsert(obj("Pod", "web-0", "p1", 1, rs), time.Time{})
		if order == "object first" {
			infer()
		}
		if n := ix.Stats().Inferred; n != 0 {
			t.Errorf("%s: %d inferred owners kept apart, want 0 (the pod says the same)", order, n)
		}
		for _, uid := range []string{"", "p-unknown", "p1"} {
			if got, ok := ix.Owner(NameKey{"Pod", "ns", "web-0"}, uid); !ok || got.UID != "r1" {
				t.Errorf("%s: Owner(web-0, %q) = %q, %v; want r1", order, uid, got.UID, ok)
			}
		}
		// A pod of the same name with another controller: the
		// message's owner still answers for an unknown UID.
		other := obj("Pod", "web-0", "p2", 1, record.OwnerRef{Kind: "ReplicaSet", Name: "web-b", UID: "r2", Controller: true})
		other.Created = t0.Add(time.Minute)
		ix.Upsert(other, time.Time{})
		if got, ok := ix.Owner(NameKey{"Pod", "ns", "web-0"}, "p-unknown"); !ok || got.UID != "r1" {
			t.Errorf("%s: after the name's next holder, Owner(web-0, unknown) = %q, %v; want r1", order, got.UID, ok)
		}
		if got, _ := ix.Owner(NameKey{"Pod", "ns", "web-0"}, "p2"); got.UID != "r2" {
			t.Errorf("%s: Owner(web-0, p2) = %q, want r2 (its metadata)", order, got.UID)
		}
	}
	// A message naming another owner than the object's is kept apart.
	ix := New(Config{})
	ix.Upsert(obj("Pod", "web-0", "p1", 1, rs), time.Time{})
	ix.Infer(NameKey{"Pod", "ns", "web-0"}, Inferred{UID: "r9", Kind: "ReplicaSet", Name: "x", At: t0})
	if got, ok := ix.Owner(NameKey{"Pod", "ns", "web-0"}, ""); !ok || got.UID != "r9" || ix.Stats().Inferred != 1 {
		t.Errorf("Owner = %q, %v with %d kept apart; want r9, kept apart", got.UID, ok, ix.Stats().Inferred)
	}
}
