package tracecheck

import (
	"regexp"
	"strings"
)

// verb is what a controller message says its controller did.
type verb uint8

const (
	create verb = iota + 1
	remove
	scaleUp
	scaleDown
)

// mention is a controller message about another object: which one (kind
// and name, in the Event's namespace) and what was done to it.
type mention struct {
	verb verb
	kind string
	name string
}

// The messages kube-controller-manager writes, as documented and recorded
// (testdata/): written here from those, not taken from the engine.
var (
	podMsg     = regexp.MustCompile(`^(Created|Deleted) pod: (\S+)$`)
	stsMsg     = regexp.MustCompile(`^(?i:(create|delete)) Pod (\S+) in StatefulSet \S+ successful$`)
	jobMsg     = regexp.MustCompile(`^(Created|Deleted) job:? (\S+)$`)
	scaleMsg   = regexp.MustCompile(`^Scaled (up|down) replica set (\S+) (?:from \d+ )?to \d+$`)
	combinedRe = regexp.MustCompile(`^\(combined from similar events\):\s*`)
)

// parseMention reads the controller message of an Event on an object of
// kind; ok is false for every other message.
func parseMention(kind, msg string) (mention, bool) {
	msg = strings.TrimSpace(combinedRe.ReplaceAllString(msg, ""))
	switch kind {
	case "ReplicaSet", "ReplicationController", "DaemonSet", "Job":
		if m := podMsg.FindStringSubmatch(msg); m != nil {
			return mention{verb: createOrRemove(m[1]), kind: "Pod", name: m[2]}, true
		}
	case "StatefulSet":
		if m := stsMsg.FindStringSubmatch(msg); m != nil {
			return mention{verb: createOrRemove(m[1]), kind: "Pod", name: m[2]}, true
		}
	case "CronJob":
		if m := jobMsg.FindStringSubmatch(msg); m != nil {
			return mention{verb: createOrRemove(m[1]), kind: "Job", name: m[2]}, true
		}
	case "Deployment":
		if m := scaleMsg.FindStringSubmatch(msg); m != nil {
			v := scaleUp
			if m[1] == "down" {
				v = scaleDown
			}
			return mention{verb: v, kind: "ReplicaSet", name: m[2]}, true
		}
	}
	return mention{}, false
}

func createOrRemove(w string) verb {
	if strings.HasPrefix(strings.ToLower(w), "create") {
		return create
	}
	return remove
}

// isCombined says whether a message is the legacy aggregate, which names
// its own step at every occurrence.
func isCombined(msg string) bool { return combinedRe.MatchString(msg) }
