package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// item is one line of the synthetic capture.
type Item struct {
	T      time.Time
	Type   string
	Event  *corev1.Event
	Object *metav1.PartialObjectMetadata
}

var Start = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// Rollout is the observations of Deployment d created at c with
// replicas pods: the Deployment, its ReplicaSet, the pods and their Events.
func Rollout(d, replicas int, c time.Time) []Item {
	ns := fmt.Sprintf("team-%d", d%20)
	dep := fmt.Sprintf("app-%d", d)
	rs := dep + "-7d9f8c6b5"
	uid := func(kind byte, i int) string { return fmt.Sprintf("%c%07d-4b2e-4c1a-9e2f-%012d", kind, d, i) }
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	var out []Item
	objAt := func(at time.Time, typ, apiVersion, kind, name, u string, gen int64, owner *metav1.OwnerReference, manager string) {
		m := &metav1.PartialObjectMetadata{
			TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: typesUID(u), Generation: gen,
				CreationTimestamp: metav1.NewTime(c.Truncate(time.Second)),
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate,
					APIVersion: apiVersion, Time: &metav1.Time{Time: c.Truncate(time.Second)}, FieldsType: "FieldsV1",
					FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:ownerReferences":{}},"f:spec":{}}`)}}},
		}
		if owner != nil {
			m.OwnerReferences = []metav1.OwnerReference{*owner}
		} else {
			m.ManagedFields[0].FieldsV1.SetRawString(`{"f:spec":{}}`)
		}
		out = append(out, Item{T: at, Type: typ, Object: m})
	}
	evAt := func(at time.Time, kind, apiVersion, name, u, reason, msg, component, host, fieldPath string, precise bool) {
		e := &corev1.Event{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, at.UnixNano()), Namespace: ns,
				UID: typesUID(fmt.Sprintf("e%07d-%s-%d", d, reason, at.UnixNano())), CreationTimestamp: metav1.NewTime(at.Truncate(time.Second))},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name, UID: typesUID(u), APIVersion: apiVersion,
				ResourceVersion: "1", FieldPath: fieldPath},
			Reason: reason, Message: msg, Type: corev1.EventTypeNormal,
			ReportingController: component, ReportingInstance: host,
		}
		if precise {
			e.EventTime = metav1.NewMicroTime(at)
			e.Action = "Binding"
		} else {
			e.Source = corev1.EventSource{Component: component, Host: host}
			e.FirstTimestamp = metav1.NewTime(at.Truncate(time.Second))
			e.LastTimestamp = e.FirstTimestamp
			e.Count = 1
		}
		out = append(out, Item{T: at.Add(ms(2.5)), Type: "ADDED", Event: e})
	}
	depRef := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: dep, UID: typesUID(uid('d', 0)), Controller: ptr(true)}
	rsRef := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: typesUID(uid('r', 0)), Controller: ptr(true)}

	objAt(c, "ADDED", "apps/v1", "Deployment", dep, uid('d', 0), 1, nil, "kubectl-client-side-apply")
	objAt(c.Add(ms(15)), "ADDED", "apps/v1", "ReplicaSet", rs, uid('r', 0), 1, depRef, "kube-controller-manager")
	evAt(c.Add(ms(18)), "Deployment", "apps/v1", dep, uid('d', 0), "ScalingReplicaSet",
		fmt.Sprintf("Scaled up replica set %s from 0 to %d", rs, replicas), "deployment-controller", "", "", false)
	for i := range 3 {
		objAt(c.Add(ms(20+float64(i)*700)), "MODIFIED", "apps/v1", "Deployment", dep, uid('d', 0), 1, nil, "kubectl-client-side-apply")
		objAt(c.Add(ms(25+float64(i)*700)), "MODIFIED", "apps/v1", "ReplicaSet", rs, uid('r', 0), 1, depRef, "kube-controller-manager")
	}
	for j := range replicas {
		pod := fmt.Sprintf("%s-%05x", rs, j*7919+d)
		pu := uid('p', j)
		node := fmt.Sprintf("node-%d", (d+j)%50)
		p := c.Add(ms(30 + float64(j)*8))
		objAt(p, "ADDED", "v1", "Pod", pod, pu, 0, rsRef, "kube-controller-manager")
		evAt(p.Add(ms(3)), "ReplicaSet", "apps/v1", rs, uid('r', 0), "SuccessfulCreate", "Created pod: "+pod, "replicaset-controller", "", "", false)
		for k, off := range []float64{10, 120, 260, 1420} { // bound, pulling, running, ready
			objAt(p.Add(ms(off)), "MODIFIED", "v1", "Pod", pod, pu, 0, rsRef, []string{"default-scheduler", "kubelet", "kubelet", "kubelet"}[k])
		}
		evAt(p.Add(ms(12.345)), "Pod", "v1", pod, pu, "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s", ns, pod, node),
			"default-scheduler", "default-scheduler-vm", "", true)
		const img = `"ghcr.io/example/app:1.4.2"`
		steps := []struct {
			off          float64
			reason, note string
		}{
			{250, "Pulling", "Pulling image " + img},
			{1400, "Pulled", "Successfully pulled image " + img + " in 1.15s (1.15s including waiting). Image size: 48213 bytes."},
			{1410, "Created", "Created container: app"},
			{1415, "Started", "Started container app"},
		}
		for _, s := range steps {
			evAt(p.Add(ms(s.off)), "Pod", "v1", pod, pu, s.reason, s.note, "kubelet", node, "spec.containers{app}", false)
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func typesUID(s string) types.UID { return types.UID(s) }

func ptr[T any](v T) *T { return &v }

// Capture encodes items, ordered by observation time, in kspan's capture
// format with resourceVersions in that order, from rv on. It also returns
// each Event's JSON alone, as the capture holds it (no managedFields), and
// sorts items.
func Capture(items []Item, rv int) (data []byte, trimmed [][]byte) {
	var buf bytes.Buffer
	writeHeader(&buf)
	trimmed, _ = writeLines(&buf, items, rv)
	return buf.Bytes(), trimmed
}

func writeHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, `{"kspan":"capture","version":1,"started":%q,"cluster":"bench"}`+"\n", Start.Format(time.RFC3339Nano))
	return err
}

// writeLines sorts items by observation time and writes them as capture
// lines with resourceVersions from rv on. It returns each Event's JSON.
func writeLines(w io.Writer, items []Item, rv int) (trimmed [][]byte, err error) {
	slices.SortStableFunc(items, func(a, b Item) int { return a.T.Compare(b.T) })
	for _, it := range items {
		var obj any = it.Object
		if it.Event != nil {
			it.Event.ResourceVersion = strconv.Itoa(rv)
			obj = it.Event
		} else {
			it.Object.ResourceVersion = strconv.Itoa(rv)
		}
		rv++
		raw, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if it.Event != nil {
			trimmed = append(trimmed, raw)
		}
		if _, err := fmt.Fprintf(w, `{"t":%q,"type":%q,"object":%s}`+"\n", it.T.Format(time.RFC3339Nano), it.Type, raw); err != nil {
			return nil, err
		}
	}
	return trimmed, nil
}

// WriteCapture writes a capture of at least events Events to w: rounds of
// deploys Deployments of replicas pods each (RoundAt, with deletes), gap
// apart, written a round at a time (a round's deletions may come after the
// next round started: lines are in order within a round). It returns the
// number of Events and records written.
func WriteCapture(w io.Writer, events, deploys, replicas int, gap time.Duration) (nEvents, nRecords int, err error) {
	if err := writeHeader(w); err != nil {
		return 0, 0, err
	}
	for r := 0; nEvents < events; r++ {
		items := RoundAt(Start.Add(time.Duration(r)*gap), r, deploys, replicas, true)
		if _, err := writeLines(w, items, 1000+r*10_000_000); err != nil {
			return nEvents, nRecords, err
		}
		for _, it := range items {
			if it.Event != nil {
				nEvents++
			}
		}
		nRecords += len(items)
	}
	return nEvents, nRecords, nil
}

// RoundGap is how far apart rounds start by default.
const RoundGap = 2 * time.Hour

// Round is round r of a daemon's life: other Deployments (names and UIDs
// numbered on from the earlier rounds' ones, in the same namespaces) rolled
// out r*RoundGap after Start. With deletes, every object is deleted a
// minute after the round's last record, when its traces are out.
func Round(r, deploys, replicas int, deletes bool) []Item {
	return RoundAt(Start.Add(time.Duration(r)*RoundGap), r, deploys, replicas, deletes)
}

// RoundAt is Round starting at start.
func RoundAt(start time.Time, r, deploys, replicas int, deletes bool) []Item {
	var items []Item
	for d := range deploys {
		items = append(items, Rollout(r*deploys+d, replicas, start.Add(time.Duration(d)*50*time.Millisecond))...)
	}
	if deletes {
		var end time.Time
		last := map[types.UID]*metav1.PartialObjectMetadata{}
		var order []types.UID
		for _, it := range items {
			end = maxTime(end, it.T)
			if it.Object != nil {
				if last[it.Object.UID] == nil {
					order = append(order, it.Object.UID)
				}
				last[it.Object.UID] = it.Object
			}
		}
		for _, u := range order {
			gone := *last[u]
			items = append(items, Item{T: end.Add(time.Minute), Type: "DELETED", Object: &gone})
		}
	}
	return items
}
