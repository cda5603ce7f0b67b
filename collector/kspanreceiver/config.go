package kspanreceiver

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/filter"
	"github.com/kspan-project/kspan/internal/leader"
)

// Config is the receiver's configuration: the meaning of standalone kspan's
// live-mode flags of the same names (docs/flags.md).
type Config struct {
	// Kubeconfig and Context say where the cluster is, as kubectl finds
	// it: empty, KUBECONFIG, then ~/.kube/config, then the in-cluster
	// service account.
	Kubeconfig string `mapstructure:"kubeconfig"`
	Context    string `mapstructure:"context"`

	// The export filter: filtered Events still inform causality.
	Namespaces        []string `mapstructure:"namespaces"`
	ExcludeNamespaces []string `mapstructure:"exclude_namespaces"`
	Kinds             []string `mapstructure:"kinds"`
	ExcludeKinds      []string `mapstructure:"exclude_kinds"`
	Reasons           []string `mapstructure:"reasons"`
	ExcludeReasons    []string `mapstructure:"exclude_reasons"`
	Types             []string `mapstructure:"types"`
	// Selector exports only Events whose object, or an owner up its
	// controller chain, has labels matching it (app=web,tier!=cache).
	Selector string `mapstructure:"selector"`

	// Window, Hold, Linger, MaxTraceAge, MaxRolloutWait and Stream are
	// -window, -hold, -linger, -max-trace-age, -max-rollout-wait, -stream.
	Window         time.Duration `mapstructure:"window"`
	Hold           time.Duration `mapstructure:"hold"`
	Linger         time.Duration `mapstructure:"linger"`
	MaxTraceAge    time.Duration `mapstructure:"max_trace_age"`
	MaxRolloutWait time.Duration `mapstructure:"max_rollout_wait"`
	Stream         bool          `mapstructure:"stream"`
	// The bounds: -max-held, -max-open-spans, -max-tracked, -max-objects,
	// -tombstone.
	MaxHeld      int           `mapstructure:"max_held"`
	MaxOpenSpans int           `mapstructure:"max_open_spans"`
	MaxTracked   int           `mapstructure:"max_tracked"`
	MaxObjects   int           `mapstructure:"max_objects"`
	Tombstone    time.Duration `mapstructure:"tombstone"`

	// ClusterName is the k8s.cluster.name resource attribute ("": none);
	// ServiceNameFrom is fixed (service.name kspan) or component (the
	// Event's reporting component).
	ClusterName     string `mapstructure:"cluster_name"`
	ServiceNameFrom string `mapstructure:"service_name_from"`

	// Storage names a storage extension (file_storage) that keeps what was
	// exported, so that a restart exports each Event once; nil: none.
	Storage *component.ID `mapstructure:"storage"`
	// CheckpointConfigMap (NAMESPACE/NAME) keeps what was exported in a
	// ConfigMap instead, as kspan's -checkpoint configmap:NAMESPACE/NAME:
	// one checkpoint that every Collector electing a leader shares, so
	// that a new leader does not export again what the last one did.
	CheckpointConfigMap string `mapstructure:"checkpoint_configmap"`

	// LeaderElection, when set, makes the Collectors that run this
	// receiver elect one (a Lease, as kspan's -leader-elect): it watches
	// and exports, the others stand by. nil: every instance exports.
	LeaderElection *LeaderElection `mapstructure:"leader_election"`
}

// LeaderElection is the Lease the receivers of several Collectors hold in
// turn (-leader-elect-namespace, -leader-elect-name and their timings).
type LeaderElection struct {
	Namespace     string        `mapstructure:"namespace"`
	Name          string        `mapstructure:"name"`
	LeaseDuration time.Duration `mapstructure:"lease_duration"`
	RenewDeadline time.Duration `mapstructure:"renew_deadline"`
	RetryPeriod   time.Duration `mapstructure:"retry_period"`
}

// lease is the leader package's configuration: the defaults where unset,
// the namespace POD_NAMESPACE's, else the service account's, else default.
func (l *LeaderElection) lease() leader.Config {
	c := leader.Defaults
	c.Namespace, c.Name = cmp.Or(l.Namespace, leader.Namespace(os.Getenv)), cmp.Or(l.Name, "kspan-receiver")
	c.LeaseDuration = cmp.Or(l.LeaseDuration, c.LeaseDuration)
	c.RenewDeadline = cmp.Or(l.RenewDeadline, c.RenewDeadline)
	c.RetryPeriod = cmp.Or(l.RetryPeriod, c.RetryPeriod)
	return c
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	d := correlate.Defaults
	return &Config{
		Window: d.Window, Hold: d.Hold, Linger: d.Linger, MaxTraceAge: d.MaxTraceAge, MaxRolloutWait: d.MaxRolloutWait,
		MaxHeld: d.MaxHeld, MaxOpenSpans: d.MaxOpenSpans, MaxTracked: d.MaxTracked,
		ServiceNameFrom: "fixed",
	}
}

// Validate checks the configuration as kspan checks its flags.
func (c *Config) Validate() error {
	var errs []error
	if _, err := c.engine(); err != nil {
		errs = append(errs, err)
	}
	switch c.ServiceNameFrom {
	case "fixed", "component":
	default:
		errs = append(errs, fmt.Errorf("service_name_from %q: want fixed or component", c.ServiceNameFrom))
	}
	if c.CheckpointConfigMap != "" {
		if _, _, err := c.configMap(); err != nil {
			errs = append(errs, err)
		}
		if c.Storage != nil {
			errs = append(errs, errors.New("storage and checkpoint_configmap: set one"))
		}
	}
	if l := c.LeaderElection; l != nil {
		lc := l.lease()
		if lc.LeaseDuration <= lc.RenewDeadline {
			errs = append(errs, fmt.Errorf("leader_election: lease_duration %v must be longer than renew_deadline %v", lc.LeaseDuration, lc.RenewDeadline))
		}
		if lc.RetryPeriod <= 0 || float64(lc.RenewDeadline) <= 1.2*float64(lc.RetryPeriod) {
			errs = append(errs, fmt.Errorf("leader_election: renew_deadline %v must be longer than 1.2 × retry_period %v", lc.RenewDeadline, lc.RetryPeriod))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_held", c.MaxHeld}, {"max_open_spans", c.MaxOpenSpans}, {"max_tracked", c.MaxTracked}, {"max_objects", c.MaxObjects}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: must not be negative", n.name, n.v))
		}
	}
	return errors.Join(errs...)
}

// configMap splits checkpoint_configmap into its namespace and name.
func (c *Config) configMap() (ns, name string, err error) {
	ns, name, ok := strings.Cut(c.CheckpointConfigMap, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("checkpoint_configmap %q: want NAMESPACE/NAME", c.CheckpointConfigMap)
	}
	return ns, name, nil
}

// engine is the engine's configuration.
func (c *Config) engine() (correlate.Config, error) {
	e := correlate.Defaults
	e.Window, e.Hold, e.Linger, e.MaxTraceAge, e.MaxRolloutWait, e.Stream = c.Window, c.Hold, c.Linger, c.MaxTraceAge, c.MaxRolloutWait, c.Stream
	if c.MaxHeld > 0 {
		e.MaxHeld = c.MaxHeld
	}
	if c.MaxOpenSpans > 0 {
		e.MaxOpenSpans = c.MaxOpenSpans
	}
	if c.MaxTracked > 0 {
		e.MaxTracked = c.MaxTracked
	}
	e.Index.MaxObjects, e.Index.Tombstone = c.MaxObjects, c.Tombstone
	f := filter.Filter{Namespaces: c.Namespaces, ExcludeNamespaces: c.ExcludeNamespaces, Kinds: c.Kinds, ExcludeKinds: c.ExcludeKinds,
		Reasons: c.Reasons, ExcludeReasons: c.ExcludeReasons, Types: c.Types}
	if err := f.Validate(); err != nil {
		return e, err
	}
	if !f.Empty() {
		e.Keep = f.Keep
	}
	if c.Selector != "" {
		sel, err := labels.Parse(c.Selector)
		if err != nil {
			return e, fmt.Errorf("selector %q: %w", c.Selector, err)
		}
		reqs, _ := sel.Requirements()
		for _, r := range reqs {
			e.Index.LabelKeys = append(e.Index.LabelKeys, r.Key())
		}
		e.Selector = sel
	}
	if err := e.Validate(); err != nil {
		return e, err
	}
	return e, nil
}
