package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kspan-project/kspan/internal/span"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func evSpan(uid string, count int64) span.Span {
	return span.Span{Attrs: []span.Attr{span.Str(span.KeyEventUID, uid), span.Str(span.KeyEventName, "x"),
		span.Int64(span.KeyEventCount, count)}}
}

func rootSpan() span.Span {
	return span.Span{SpanID: span.ID{1, 2, 3}, Attrs: []span.Attr{span.Boolean(span.KeySynthetic, true)}}
}

func exported(c interface {
	Exported(string, int32) (span.TraceID, bool)
}, uid string, count int32) bool {
	_, ok := c.Exported(uid, count)
	return ok
}

func TestSetRecordsHighestCount(t *testing.T) {
	s := NewSet(0)
	if n := s.Record([]span.Span{rootSpan(), evSpan("a", 1), evSpan("a", 3), evSpan("b", 2)}, t0); n != 4 {
		t.Fatalf("recorded %d spans, want 4", n)
	}
	if !s.ExportedRoot(rootSpan().SpanID) || s.ExportedRoot(span.ID{9}) {
		t.Error("root spans: want the exported one known, another not")
	}
	s.Record([]span.Span{evSpan("a", 2)}, t0) // an older count does not lower it
	for _, c := range []struct {
		uid   string
		count int32
		want  bool
	}{{"a", 1, true}, {"a", 3, true}, {"a", 4, false}, {"b", 2, true}, {"b", 3, false}, {"c", 1, false}} {
		if _, got := s.Exported(c.uid, c.count); got != c.want {
			t.Errorf("Exported(%q, %d) = %v, want %v", c.uid, c.count, got, c.want)
		}
	}
}

func TestSetBoundEvictsOldestAndCounts(t *testing.T) {
	s := NewSet(3)
	for i := range 5 {
		s.Record([]span.Span{evSpan("e"+strconv.Itoa(i), 1)}, t0.Add(time.Duration(i)*time.Second))
	}
	if s.Len() != 3 || s.Evicted() != 2 {
		t.Fatalf("len %d evicted %d, want 3 and 2", s.Len(), s.Evicted())
	}
	if exported(s, "e0", 1) || exported(s, "e1", 1) || !exported(s, "e4", 1) {
		t.Error("the oldest entries were not the ones evicted")
	}
}

func TestSetPrune(t *testing.T) {
	s := NewSet(0)
	s.Record([]span.Span{evSpan("old", 1)}, t0)
	s.Record([]span.Span{evSpan("new", 1)}, t0.Add(TTL))
	s.Prune(t0.Add(TTL + time.Second))
	if exported(s, "old", 1) || !exported(s, "new", 1) {
		t.Error("prune kept the old entry or dropped the new one")
	}
}

func TestEncodeDecode(t *testing.T) {
	es := []Entry{{Key: 1, Count: 2, At: 3, Trace: span.TraceID{7, 15: 9}}, {Key: 1 << 63, Count: 1 << 31, At: 1}}
	got, err := Decode(Encode(es))
	if err != nil || len(got) != 2 || got[0] != es[0] || got[1] != es[1] {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if _, err := Decode([]byte("something else entirely")); err == nil {
		t.Error("a foreign file decoded without error")
	}
	cut := Encode(es)
	got, err = Decode(cut[:len(cut)-5])
	if !errors.Is(err, ErrTruncated) || len(got) != 1 {
		t.Errorf("truncated: %d entries, %v; want 1 and ErrTruncated", len(got), err)
	}
	if got, err := Decode(nil); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestFileJournalSurvivesACrash(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sub", "checkpoint")
	c, err := Open(ctx, &File{Path: path}, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	c.Delivered([]span.Span{evSpan("a", 1)}, t0)
	c.Delivered([]span.Span{evSpan("b", 1), evSpan("a", 2)}, t0)
	// No Close: the process was killed. Every delivered batch is on disk.
	c2, err := Open(ctx, &File{Path: path}, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if !exported(c2, "a", 2) || !exported(c2, "b", 1) || exported(c2, "a", 3) {
		t.Fatalf("after the crash: a2 %v b1 %v a3 %v", exported(c2, "a", 2), exported(c2, "b", 1), exported(c2, "a", 3))
	}
	// A write cut short leaves a partial entry: the rest is used.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3})
	f.Close()
	c3, err := Open(ctx, &File{Path: path}, Options{Now: func() time.Time { return t0 }})
	if err != nil || !exported(c3, "a", 2) {
		t.Fatalf("a cut-short journal: %v", err)
	}
	if st := c3.Stats(); st.Loaded != 2 {
		t.Errorf("loaded %d entries, want 2", st.Loaded)
	}
}

func TestFileCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint")
	st := &File{Path: path}
	c, err := Open(t.Context(), st, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 { // the same Event again and again: the journal grows, the set does not
		c.Delivered([]span.Span{evSpan("a", int64(i+1))}, t0)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > int64(len(magic)+entrySize*1100) {
		t.Errorf("journal of one Event is %d bytes: never compacted", fi.Size())
	}
	c2, err := Open(t.Context(), &File{Path: path}, Options{Now: func() time.Time { return t0 }})
	if err != nil || !exported(c2, "a", 3000) || exported(c2, "a", 3001) {
		t.Fatalf("after compaction: %v", err)
	}
}

func TestFileRejectsForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint")
	os.WriteFile(path, []byte("not mine"), 0o644)
	if _, err := Open(t.Context(), &File{Path: path}, Options{}); err == nil {
		t.Fatal("opened a file that is not a checkpoint")
	}
}

func TestConfigMapSavesAndMergesWithAnotherWriter(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	withResourceVersions(client)
	now := func() time.Time { return t0 }
	a, err := Open(ctx, &ConfigMap{Client: client, Namespace: "kspan", Name: "cp"}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx); err != nil { // nothing to save: no request
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("kspan").Get(ctx, "cp", metav1.GetOptions{}); err == nil {
		t.Fatal("an empty checkpoint was written")
	}
	a.Delivered([]span.Span{evSpan("a", 1)}, t0)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A second replica loads it, then the first writes again: the second's
	// save conflicts and merges.
	b, err := Open(ctx, &ConfigMap{Client: client, Namespace: "kspan", Name: "cp"}, Options{Now: now})
	if err != nil || !exported(b, "a", 1) {
		t.Fatalf("second replica: %v", err)
	}
	a.Delivered([]span.Span{evSpan("x", 5)}, t0)
	if err := a.Save(ctx); err != nil {
		t.Fatal(err)
	}
	b.Delivered([]span.Span{evSpan("b", 2)}, t0)
	if err := b.Save(ctx); err != nil {
		t.Fatal(err)
	}
	cm, err := client.CoreV1().ConfigMaps("kspan").Get(ctx, "cp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := Decode(cm.BinaryData[ConfigMapKey])
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]uint32{}
	for _, e := range es {
		got[e.Key] = e.Count
	}
	if got[KeyOf("a")] != 1 || got[KeyOf("b")] != 2 || got[KeyOf("x")] != 5 {
		t.Errorf("saved %v: want a=1 b=2 x=5 (both writers' entries)", got)
	}
}

// withResourceVersions makes the fake clientset check and bump
// resourceVersion on ConfigMap updates, as the apiserver does.
func withResourceVersions(c *fake.Clientset) {
	rv := 0
	c.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cm := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		rv++
		cm.ResourceVersion = strconv.Itoa(rv)
		if err := c.Tracker().Create(corev1.SchemeGroupVersion.WithResource("configmaps"), cm, cm.Namespace); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	c.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cm := a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
		cur, err := c.Tracker().Get(gvr, cm.Namespace, cm.Name)
		if err != nil {
			return true, nil, err
		}
		if cm.ResourceVersion != "" && cm.ResourceVersion != cur.(*corev1.ConfigMap).ResourceVersion {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), cm.Name, errors.New("stale resourceVersion"))
		}
		rv++
		cm.ResourceVersion = strconv.Itoa(rv)
		return true, cm, c.Tracker().Update(gvr, cm, cm.Namespace)
	})
}

func TestConfigMapRejectsForeignData(t *testing.T) {
	client := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kspan", Name: "cp"},
		BinaryData: map[string][]byte{ConfigMapKey: []byte("junk")}})
	_, err := Open(t.Context(), &ConfigMap{Client: client, Namespace: "kspan", Name: "cp"}, Options{})
	if err == nil {
		t.Fatal("opened a ConfigMap whose data is not a checkpoint")
	}
}

// At its bound the set drops a tenth more than it must, so that it is not
// sorted again for every batch.
func TestSetEvictsInSteps(t *testing.T) {
	s := NewSet(100)
	for i := range 101 {
		s.Record([]span.Span{evSpan("e"+strconv.Itoa(i), 1)}, t0.Add(time.Duration(i)*time.Second))
	}
	if s.Len() != 90 || s.Evicted() != 11 {
		t.Fatalf("len %d evicted %d, want 90 and 11", s.Len(), s.Evicted())
	}
	if exported(s, "e10", 1) || !exported(s, "e11", 1) {
		t.Error("not the oldest were evicted")
	}
}

// A journal far larger than kspan writes (copied, concatenated, grown by
// hand) is read a chunk at a time into a set of Max entries: the most
// recent are kept, and the file's size does not decide the memory.
func TestFileLoadsAHugeJournalIntoItsBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck")
	const n, max = 300_000, 1000 // 9.6 MB on disk, five read chunks
	es := make([]Entry, n)
	for i := range es {
		es[i] = Entry{Key: uint64(i + 1), Count: 1, At: uint32(t0.Unix()) + uint32(i)}
	}
	if err := os.WriteFile(path, append(Encode(es), 1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := (&File{Path: path, Max: max}).Load(context.Background())
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("error %v, want ErrTruncated for the 3 trailing bytes", err)
	}
	if len(got) > max || len(got) < max*9/10 {
		t.Fatalf("loaded %d entries, want at most %d and not much fewer", len(got), max)
	}
	for _, e := range got {
		if e.Key <= n-uint64(max) {
			t.Fatalf("kept entry %d, older than the %d most recent", e.Key, max)
		}
	}
}

// A checkpoint path that is not a regular file (a FIFO, /dev/zero) is
// refused at once rather than read for ever.
func TestFileRefusesWhatIsNotAFile(t *testing.T) {
	_, err := (&File{Path: "/dev/zero"}).Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %v, want one saying /dev/zero is not a regular file", err)
	}
}
