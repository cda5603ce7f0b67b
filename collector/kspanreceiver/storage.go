package kspanreceiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/kspan-project/kspan/internal/checkpoint"
)

// storageKey is the key the checkpoint is kept under in the storage client.
const storageKey = "kspan-checkpoint"

// storageStore keeps kspan's checkpoint (what was exported) in a Collector
// storage extension's client, as one value in kspan's checkpoint encoding,
// rewritten every interval and at shutdown: a Collector killed without
// warning may export up to one interval's Events again (what the pipeline
// after the receiver loses is its queues' business: docs/collector.md).
type storageStore struct {
	client storage.Client
	name   string
}

var _ checkpoint.Store = (*storageStore)(nil)

func (s *storageStore) String() string    { return "storage:" + s.name }
func (s *storageStore) Synchronous() bool { return false }

func (s *storageStore) Load(ctx context.Context) ([]checkpoint.Entry, error) {
	b, err := s.client.Get(ctx, storageKey)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", s.name, err)
	}
	es, err := checkpoint.Decode(b)
	if err != nil {
		return es, fmt.Errorf("storage %s key %s: %w", s.name, storageKey, err)
	}
	return es, nil
}

func (s *storageStore) Save(ctx context.Context, _, all []checkpoint.Entry) error {
	if err := s.client.Set(ctx, storageKey, checkpoint.Encode(all)); err != nil {
		return fmt.Errorf("storage %s: %w", s.name, err)
	}
	return nil
}
