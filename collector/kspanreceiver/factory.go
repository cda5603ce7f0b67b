package kspanreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

// typeStr is the receiver's type in a Collector configuration: kspan.
var typeStr = component.MustNewType("kspan")

// NewFactory makes the receiver's factory (traces, alpha).
func NewFactory() receiver.Factory {
	return receiver.NewFactory(typeStr, createDefaultConfig, receiver.WithTraces(createTraces, component.StabilityLevelAlpha))
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return newReceiver(set, cfg.(*Config), next)
}
