package e2e

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kspan-project/kspan/internal/span"
)

// The causal model's rules (the model internal/tracecheck documents) that
// every scenario of TestShapes is checked against, computed from the test's
// own watches.

var (
	// StatefulSet messages begin with a capital letter since Kubernetes 1.3x.
	createdPod = regexp.MustCompile(`^(?:\(combined from similar events\): )?(?:Created pod: (\S+)|[Cc]reate Pod (\S+) in StatefulSet \S+ successful)$`)
	deletedPod = regexp.MustCompile(`^(?:\(combined from similar events\): )?(?:Deleted pod: (\S+)|[Dd]elete Pod (\S+) in StatefulSet \S+ successful)$`)
	createdJob = regexp.MustCompile(`^(?:\(combined from similar events\): )?Created job (\S+)()$`)
	deletedJob = regexp.MustCompile(`^(?:\(combined from similar events\): )?Deleted job (\S+)()$`)
)

func podOf(re *regexp.Regexp, msg string) string {
	m := re.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// lifecycle is who created and who deleted each instance of a kind.
type lifecycle struct {
	creator, deleter map[string]occurrence // by UID
}

// lifecycles matches creators and deleters to instances: the n-th creator
// Event occurrence naming P creates the n-th object named P; a deleter
// deletes the instance whose deletion began last before it was stored.
func (l *objLog) lifecycles(kind string, created, deleted *regexp.Regexp) lifecycle {
	lc := lifecycle{creator: map[string]occurrence{}, deleter: map[string]occurrence{}}
	instances := l.instances(kind)
	n := map[string]int{}
	for _, o := range l.occurrences() {
		if name := podOf(created, o.Message); name != "" {
			if n[name] < len(instances[name]) {
				lc.creator[instances[name][n[name]]] = o
			}
			n[name]++
		}
		if name := podOf(deleted, o.Message); name != "" {
			var best string
			var bestRV int64
			for _, u := range instances[name] {
				if b := l.deletionBegan(u); b > bestRV && b < o.RV {
					best, bestRV = u, b
				}
			}
			if _, dup := lc.deleter[best]; best != "" && !dup {
				lc.deleter[best] = o
			}
		}
	}
	return lc
}

// podInstances checks every pod instance of the namespace against the
// causal model: its creator ("Created pod: P", "create Pod P in
// StatefulSet S successful") is the parent of all its Events; of the
// Events its deletion causes (Killing and the like, stored after the
// deletion began), its deleter is, or, when the garbage collector removed
// it (an owner's deletion began first), the deletion root of that owner
// (the owner's deleter, "Deleted job J", or else the owner's own deletion),
// or else still its creator. A pod nothing created has its Events in its
// own trace. A Job's Events are under its "Created job J".
func (c *check) podInstances() {
	l := c.r.log
	pods := l.lifecycles("Pod", createdPod, deletedPod)
	jobs := l.lifecycles("Job", createdJob, deletedJob)
	// deletionRoot is what an object's deletion is under: its deleter, else
	// the deletion root of an owner whose deletion began before its own,
	// else (nil) its own deletion.
	var deletionRoot func(uid string, lc lifecycle) (*occurrence, string)
	deletionRoot = func(uid string, lc lifecycle) (*occurrence, string) {
		if d, ok := lc.deleter[uid]; ok {
			return &d, uid
		}
		began := l.deletionBegan(uid)
		if o := l.ownerAt(uid, began); o != "" {
			if b := l.deletionBegan(o); b > 0 && b < began {
				return deletionRoot(o, jobs)
			}
		}
		return nil, uid
	}
	for kind, lc := range map[string]lifecycle{"Pod": pods, "Job": jobs} {
		for name, uids := range l.instances(kind) {
			for n, uid := range uids {
				creator, created := lc.creator[uid]
				deleting := l.deletionBegan(uid)
				del, root := deletionRoot(uid, lc)
				for _, o := range l.occurrences() {
					if o.Object.UID != uid {
						continue
					}
					// Only what the deletion causes (Killing and the like) goes
					// under it; a pod still starting stays under its creator.
					after := deleting > 0 && o.RV > deleting && deletionCaused(o.Reason)
					why := fmt.Sprintf("%s %s instance %d (%s)", kind, name, n+1, short(uid))
					switch {
					case after && root != uid:
						// The model's "deletion root of an owner": the
						// owner's deleter ("Deleted job J") or the owner's
						// own Delete trace; either is accepted.
						c.underOwnerDeletion(o, del, root, why+" is removed by the garbage collector")
					case after && del != nil:
						c.parentIs(o, *del, why+" is deleted under it")
					case created:
						c.parentIs(o, creator, why+" is created by it")
					default:
						c.underRootOf(o, uid, "nothing created "+why)
					}
				}
			}
		}
	}
}

// deletionCaused says whether an Event of the reason is caused by its
// object's deletion ("Killing and the like" in the causal model).
func deletionCaused(reason string) bool {
	switch reason {
	case "Killing", "FailedKillPod", "ExceededGracePeriod", "FailedPreStopHook", "TaintManagerEviction", "Preempted":
		return true
	}
	return strings.Contains(strings.ToLower(reason), "delet")
}

// underOwnerDeletion asserts that o hangs under the owner's deleter del
// (nil: none) or in the trace of the owner's own deletion.
func (c *check) underOwnerDeletion(o occurrence, del *occurrence, owner, why string) {
	if del != nil {
		if s, ok := c.spanOf(o); ok {
			if d, ok := c.spanOf(*del); ok && s.TraceID == d.TraceID && s.Parent == d.SpanID {
				return
			}
		}
	}
	c.underDeletionOf(o, owner, why)
}

// underDeletionOf asserts that o's trace is rooted at the deletion of
// object uid.
func (c *check) underDeletionOf(o occurrence, uid, why string) {
	s, ok := c.spanOf(o)
	if !ok {
		return
	}
	if r := c.ts.root(s); r.Attr(span.KeyObjectUID) != uid || !strings.HasSuffix(r.Name, ".Delete") {
		c.errorf("%s: %s is in the trace of %s, want the deletion of %s (%s)", c.r.ns, o, describe(r), uid, why)
	}
}

// generations checks that every occurrence on a Deployment, StatefulSet or
// DaemonSet (none of which has an owner here) is in the trace of the
// generation the object had when the Event was stored.
func (c *check) generations() {
	for _, o := range c.r.log.occurrences() {
		switch o.Object.Kind {
		case "Deployment", "StatefulSet", "DaemonSet":
		default:
			continue
		}
		g := c.r.log.generationAt(o.Object.UID, o.RV)
		c.inTrace(o, span.TraceIDFor(o.Object.UID, g), fmt.Sprintf("%s %s was at generation %d", o.Object.Kind, o.Object.Name, g))
	}
}

func short(uid string) string {
	if len(uid) > 8 {
		return uid[:8]
	}
	return uid
}
