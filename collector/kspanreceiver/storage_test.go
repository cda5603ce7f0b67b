package kspanreceiver

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/span"
)

// memClient is a storage.Client in memory, as file_storage keeps one on
// disk.
type memClient struct {
	m            map[string][]byte
	gets, closes int
}

func (c *memClient) Get(_ context.Context, k string) ([]byte, error) { c.gets++; return c.m[k], nil }
func (c *memClient) Set(_ context.Context, k string, v []byte) error {
	c.m[k] = append([]byte(nil), v...)
	return nil
}
func (c *memClient) Delete(_ context.Context, k string) error { delete(c.m, k); return nil }
func (c *memClient) Batch(context.Context, ...*storage.Operation) error {
	panic("not used")
}
func (c *memClient) Close(context.Context) error { c.closes++; return nil }

// What one run delivered, the next run (a restart) knows as exported.
func TestCheckpointInStorage(t *testing.T) {
	ctx := context.Background()
	client := &memClient{m: map[string][]byte{}}
	open := func() *checkpoint.Checkpoint {
		cp, err := checkpoint.Open(ctx, &storageStore{client: client, name: "file_storage"}, checkpoint.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	cp := open()
	if _, ok := cp.Exported("ev-1", 1); ok {
		t.Fatal("an empty storage says ev-1 was exported")
	}
	s := span.Span{TraceID: span.TraceID{1}, SpanID: span.ID{2}, Parent: span.ID{3}, Name: "Pod.Started",
		Attrs: []span.Attr{span.Str(span.KeyEventUID, "ev-1"), span.Int64(span.KeyEventCount, 1)}}
	cp.Delivered([]span.Span{s}, time.Now())
	if err := cp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(client.m[storageKey]) == 0 {
		t.Fatal("nothing saved in the storage")
	}
	if tr, ok := open().Exported("ev-1", 1); !ok || tr != s.TraceID {
		t.Errorf("after a restart: Exported(ev-1, 1) = %v, %v; want its trace, true", tr, ok)
	}
	client.m[storageKey] = []byte("garbage")
	if _, err := checkpoint.Open(ctx, &storageStore{client: client, name: "file_storage"}, checkpoint.Options{}); err == nil {
		t.Error("a value that is no checkpoint was read without an error")
	}
}
