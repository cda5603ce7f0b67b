package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/record"
)

// Objects written by capture.Writer and read back by Read give the records
// that reading them from kubectl output gives, with the capture's
// observation times and watch event types.
func TestCaptureRoundTrip(t *testing.T) {
	var objects []json.RawMessage
	var want []record.Record
	for _, path := range []string{
		"../../testdata/real-cluster/deployment-events.json",
		"testdata/list.json",
		"testdata/new-event-events.json",
		"testdata/legacy-event.json",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Items []json.RawMessage }
		if err := json.Unmarshal(data, &list); err != nil {
			t.Fatal(err)
		}
		if list.Items == nil {
			list.Items = []json.RawMessage{data}
		}
		for _, item := range list.Items {
			recs, probs := Read(bytes.NewReader(item), "kubectl")
			if len(probs) > 0 { // the object without uid in list.json
				continue
			}
			objects = append(objects, item)
			want = append(want, recs...)
		}
	}

	var buf bytes.Buffer
	start := time.Date(2026, 11, 23, 17, 38, 0, 123456789, time.UTC)
	w, err := capture.NewWriter(&buf, capture.Header{Started: start, Fields: map[string]string{"cluster": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	types := []string{capture.Added, capture.Modified, capture.Deleted}
	for i, obj := range objects {
		observed := start.Add(time.Duration(i) * 1500 * time.Microsecond)
		typ := types[i%len(types)]
		if err := w.Write(observed, typ, obj); err != nil {
			t.Fatal(err)
		}
		want[i].Observed = observed
		want[i].Op = record.Upsert
		if typ == capture.Deleted {
			want[i].Op = record.Delete
		}
		want[i].Source = fmt.Sprintf("capture:%d", i+2)
	}

	got, probs := Read(&buf, "capture")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(got) != len(want) || len(got) != 18 {
		t.Fatalf("got %d records, want %d (18)", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
