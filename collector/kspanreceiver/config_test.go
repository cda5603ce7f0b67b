package kspanreceiver

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
)

func TestConfigValidate(t *testing.T) {
	if err := createDefaultConfig().(*Config).Validate(); err != nil {
		t.Fatalf("the default configuration: %v", err)
	}
	for _, c := range []struct {
		change func(*Config)
		says   string
	}{
		{func(c *Config) { c.ServiceNameFrom = "pod" }, "service_name_from"},
		{func(c *Config) { c.Types = []string{"Error"} }, "Error"},
		{func(c *Config) { c.Selector = "app in (" }, "selector"},
		{func(c *Config) { c.MaxHeld = -1 }, "max_held"},
		{func(c *Config) { c.Hold = -1 }, "negative"},
		{func(c *Config) {
			c.LeaderElection = &LeaderElection{LeaseDuration: 5 * time.Second, RenewDeadline: 10 * time.Second}
		}, "lease_duration"},
		{func(c *Config) { c.LeaderElection = &LeaderElection{RetryPeriod: 9 * time.Second} }, "retry_period"},
		{func(c *Config) { c.CheckpointConfigMap = "kspan" }, "NAMESPACE/NAME"},
		{func(c *Config) { c.CheckpointConfigMap = "kspan/a/b" }, "NAMESPACE/NAME"},
		{func(c *Config) { c.CheckpointConfigMap = "/cp" }, "NAMESPACE/NAME"},
		{func(c *Config) {
			id := component.MustNewID("file_storage")
			c.CheckpointConfigMap, c.Storage = "kspan/cp", &id
		}, "set one"},
	} {
		cfg := createDefaultConfig().(*Config)
		c.change(cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Validate = %v, want an error saying %q", err, c.says)
		}
	}
}

func TestConfigMapCheckpoint(t *testing.T) {
	c := createDefaultConfig().(*Config)
	c.CheckpointConfigMap = "observability/kspan-receiver-checkpoint"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if ns, name, _ := c.configMap(); ns != "observability" || name != "kspan-receiver-checkpoint" {
		t.Errorf("configMap() = %s, %s", ns, name)
	}
}

func TestLeaseDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "observability")
	l := (&LeaderElection{}).lease()
	if l.Namespace != "observability" || l.Name != "kspan-receiver" || l.LeaseDuration != 15*time.Second {
		t.Errorf("lease %+v, want observability/kspan-receiver, 15s", l)
	}
}
