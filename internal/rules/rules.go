package rules

import (
	"regexp"
	"strings"
)

// Rule matches Events on objects of Kind with Reason whose Message names a
// sub-object of SubKind (the first capture group of Pattern).
type Rule struct {
	Kind    string
	Reason  string
	Pattern *regexp.Regexp
	SubKind string
	// Verb says what the event did to the sub-object, which decides what
	// it can cause (see Verb).
	Verb Verb
	// Episode, when set, says that on a root object this event starts a
	// new episode (a new trace) even without a spec change, and names it:
	// each scheduled run of a CronJob is its own trace, "CronJob.Run".
	Episode string
}

// Verb is what a controller event did to the sub-object it names.
type Verb uint8

const (
	// Observe only reports on the sub-object ("Saw completed job: J"):
	// it causes nothing of it.
	Observe Verb = iota
	// Create made the sub-object ("Created pod: P"): the cause of every
	// event of that incarnation but those its deletion causes.
	Create
	// Delete removed it ("Deleted pod: P"): the cause of what the deletion
	// causes (Killing and the like, see DeletionReasons).
	Delete
	// ScaleUp raised its replicas ("Scaled up replica set R from 1 to 2"):
	// the cause of the pods it creates in reply.
	ScaleUp
	// ScaleDown lowered them: the cause of the pods it deletes.
	ScaleDown
)

// Creates reports whether v brings sub-objects (or their pods) into being.
func (v Verb) Creates() bool { return v == Create || v == ScaleUp }

// Deletes reports whether v takes sub-objects (or their pods) away.
func (v Verb) Deletes() bool { return v == Delete || v == ScaleDown }

// Mention is what a matching rule says: the event is about the sub-object
// SubKind/Name in the event's namespace.
type Mention struct {
	SubKind string
	Name    string
	Verb    Verb
	Episode string
}

// Default is the built-in table, from the messages the Kubernetes controllers
// emit (v1.2x-v1.37). Older deployment-controller messages lack "from N";
// the statefulset-controller capitalised its verb ("Create Pod ...") in later
// versions.
var Default = []Rule{
	{Kind: "Deployment", Reason: "ScalingReplicaSet", SubKind: "ReplicaSet", Verb: ScaleUp,
		Pattern: regexp.MustCompile(`^Scaled up replica set (\S+) (?:from \d+ )?to \d+`)},
	{Kind: "Deployment", Reason: "ScalingReplicaSet", SubKind: "ReplicaSet", Verb: ScaleDown,
		Pattern: regexp.MustCompile(`^Scaled down replica set (\S+) (?:from \d+ )?to \d+`)},
	{Kind: "ReplicaSet", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^Created pod: (\S+)$`)},
	{Kind: "ReplicaSet", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Pod", Pattern: regexp.MustCompile(`^Deleted pod: (\S+)$`)},
	{Kind: "ReplicationController", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^Created pod: (\S+)$`)},
	{Kind: "ReplicationController", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Pod", Pattern: regexp.MustCompile(`^Deleted pod: (\S+)$`)},
	{Kind: "StatefulSet", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^(?i:create) Pod (\S+) in StatefulSet \S+ successful$`)},
	{Kind: "StatefulSet", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Pod", Pattern: regexp.MustCompile(`^(?i:delete) Pod (\S+) in StatefulSet \S+ successful$`)},
	{Kind: "StatefulSet", Reason: "FailedCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^(?i:create) Pod (\S+) in StatefulSet \S+ failed`)},
	{Kind: "StatefulSet", Reason: "SuccessfulCreate", Verb: Create, SubKind: "PersistentVolumeClaim", Pattern: regexp.MustCompile(`^(?i:create) Claim (\S+) Pod \S+ in StatefulSet \S+ success`)},
	{Kind: "DaemonSet", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^Created pod: (\S+)$`)},
	{Kind: "DaemonSet", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Pod", Pattern: regexp.MustCompile(`^Deleted pod: (\S+)$`)},
	{Kind: "Job", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Pod", Pattern: regexp.MustCompile(`^Created pod: (\S+)$`)},
	{Kind: "Job", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Pod", Pattern: regexp.MustCompile(`^Deleted pod: (\S+)$`)},
	{Kind: "CronJob", Reason: "SuccessfulCreate", Verb: Create, SubKind: "Job", Pattern: regexp.MustCompile(`^Created job (\S+)$`), Episode: "Run"},
	{Kind: "CronJob", Reason: "SawCompletedJob", SubKind: "Job", Pattern: regexp.MustCompile(`^Saw completed job: ([^,\s]+),`)},
	{Kind: "CronJob", Reason: "SuccessfulDelete", Verb: Delete, SubKind: "Job", Pattern: regexp.MustCompile(`^Deleted job (\S+)$`)},
}

// DeletionReasons are the reasons of events that an object's deletion (or
// its owner's) causes. Such an event joins the deletion's trace even when an
// older cause is known; any other event keeps its cause (a pod's late
// "Started" is part of its start, even if the pod is already being deleted).
var DeletionReasons = map[string]bool{
	"Killing":             true,
	"FailedKillPod":       true,
	"ExceededGracePeriod": true,
	"SuccessfulDelete":    true,
	"FailedDelete":        true,
	"Deleted":             true,
	"Deleting":            true,
}

// Table looks rules up by (kind, reason).
type Table struct {
	byKey map[key][]rule
}

type key struct{ kind, reason string }

// rule is a Rule with, for a pattern of the form ^<literal>(\S+)$ (most of
// them: "Created pod: P"), the literal, matched without the regexp engine
// (the regexp costs more than the rest of an Event's correlation).
type rule struct {
	Rule
	prefix string
	simple bool
}

// NewTable indexes rules.
func NewTable(rs []Rule) *Table {
	t := &Table{byKey: make(map[key][]rule, len(rs))}
	for _, r := range rs {
		k := key{r.Kind, r.Reason}
		x := rule{Rule: r}
		if p, complete := r.Pattern.LiteralPrefix(); !complete && r.Pattern.String() == "^"+regexp.QuoteMeta(p)+`(\S+)$` {
			x.prefix, x.simple = p, true
		}
		t.byKey[k] = append(t.byKey[k], x)
	}
	return t
}

// find is r.Pattern's first submatch in message.
func (r *rule) find(message string) (string, bool) {
	if !r.simple {
		m := r.Pattern.FindStringSubmatch(message)
		if m == nil {
			return "", false
		}
		return m[1], true
	}
	rest, ok := strings.CutPrefix(message, r.prefix)
	if !ok || rest == "" || strings.ContainsAny(rest, " \t\n\f\r") { // \S is ASCII: not [\t\n\f\r ]
		return "", false
	}
	return rest, true
}

// combined is the prefix the legacy event recorder's aggregator puts on a
// message that stands for more than 10 similar events in 10 minutes.
const combined = "(combined from similar events): "

// Match returns what an event with this kind, reason and message is about,
// and false when no rule applies.
func (t *Table) Match(kind, reason, message string) (Mention, bool) {
	return t.For(kind, reason).Match(message)
}

// Rules are the rules of one (kind, reason), as For returns them.
type Rules []rule

// For returns the rules of kind and reason, for callers that match many
// messages of one pair.
func (t *Table) For(kind, reason string) Rules { return t.byKey[key{kind, reason}] }

// Match is Table.Match for the messages of rs's kind and reason.
func (rs Rules) Match(message string) (Mention, bool) {
	if len(rs) == 0 {
		return Mention{}, false
	}
	message = strings.TrimPrefix(message, combined)
	for i := range rs {
		if name, ok := rs[i].find(message); ok {
			return Mention{SubKind: rs[i].SubKind, Name: name, Verb: rs[i].Verb, Episode: rs[i].Episode}, true
		}
	}
	return Mention{}, false
}
