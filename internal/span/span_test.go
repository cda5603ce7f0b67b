package span

import (
	"encoding/binary"
	"hash/fnv"
	"testing"
)

// IDFor is FNV-1a 64 over the parts with 0 separators, written out; it must
// stay the hash/fnv value, or every span ID exported so far changes.
func TestIDForIsFNV(t *testing.T) {
	for _, parts := range [][]string{{}, {""}, {"a"}, {"uid-1", "1"}, {"root", "ns/app", "3", "0"}, {"", "", "x"}} {
		h := fnv.New64a()
		for i, p := range parts {
			if i > 0 {
				h.Write([]byte{0})
			}
			h.Write([]byte(p))
		}
		var want ID
		binary.BigEndian.PutUint64(want[:], h.Sum64())
		if want.IsZero() {
			want[7] = 1
		}
		if got := IDFor(parts...); got != want {
			t.Errorf("IDFor(%q) = %s, want %s", parts, got, want)
		}
	}
}

func TestIDForAllocates(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = IDFor("e0000001-Pulled-1764", "1") }); n != 0 {
		t.Errorf("IDFor allocates %v times", n)
	}
}
