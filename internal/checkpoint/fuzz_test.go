package checkpoint

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode: any bytes decode without panicking; what decodes whole
// encodes back to the same bytes; a cut-short journal keeps its whole
// entries.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(Encode([]Entry{{Key: 1, Count: 2, At: 3}}))
	f.Add(append(Encode([]Entry{{Key: 9, Count: 1}}), 1, 2, 3))
	f.Add([]byte("kspanck1 not quite"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := Decode(b)
		switch {
		case err == nil && len(b) > 0 && !bytes.Equal(Encode(es), b):
			t.Fatalf("decoded %d entries that encode differently", len(es))
		case errors.Is(err, ErrTruncated) && len(Encode(es)) != len(b)-(len(b)-len(magic))%entrySize:
			t.Fatalf("a cut-short journal kept %d entries of %d bytes", len(es), len(b))
		}
	})
}
