package decode

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead checks that no input makes Read panic, that every record is an
// Event or an Object (never both), and that every Problem says where.
func FuzzRead(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds,
		"../../testdata/kspan-v0/deployment-2-pods.yaml",
		"../../testdata/real-cluster/deployment-events.json")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Hostile shapes: aliases, an alias cycle, binary data after a line.
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  uid: u\n  labels:\n    a: &a x\n    b: *a\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u"}}` + "\n\x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := Read(bytes.NewReader(data), "fuzz")
		for _, r := range recs {
			if (r.Event == nil) == (r.Object == nil) {
				t.Errorf("%s: want exactly one of Event and Object: %+v", r.Source, r)
			}
			if r.Source == "" {
				t.Errorf("record without Source: %+v", r)
			}
		}
		for _, p := range probs {
			if p.Source == "" || p.Err == nil {
				t.Errorf("problem without Source or Err: %#v", p)
			}
		}
	})
}

func BenchmarkRead(b *testing.B) {
	for _, path := range []string{
		"../../testdata/real-cluster/deployment-events.json",
		"../../testdata/kspan-v0/deployment-2-pods.yaml",
		"testdata/capture.jsonl",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				Read(bytes.NewReader(data), "bench")
			}
		})
	}
}
