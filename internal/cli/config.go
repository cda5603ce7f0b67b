package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/filter"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
)

// Config is everything a command reads from flags and the environment.
type Config struct {
	// Output is "tree" or "otlp-json".
	Output string
	// OutputFile is where otlp-json goes; "" or "-" means standard output.
	OutputFile string
	// ClusterName is the k8s.cluster.name resource attribute ("" omits it).
	ClusterName string
	// ServiceName is service.name: OTEL_SERVICE_NAME, else "kspan".
	ServiceName string
	// ServiceNameFrom is "fixed" (ServiceName for every span) or
	// "component" (the Event's reporting component, where it has one).
	ServiceNameFrom string
	// ResourceAttrs come from OTEL_RESOURCE_ATTRIBUTES.
	ResourceAttrs []span.Attr
	// Width is the tree's width in columns; 0 means the terminal's, or 100.
	Width int
	// Color is auto, always or never.
	Color string
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel, LogFormat string

	Engine correlate.Config
	// Filter says which Events are exported (empty: all).
	Filter filter.Filter
	// Selector is a label selector on the involved object or its owners
	// ("": none).
	Selector string
	// UI is the web viewer (see UIConfig for when it runs).
	UI UIConfig
	// OTLP is the OTLP exporter; no endpoint means none.
	OTLP export.Config

	// envWarnings are the environment's values that were ignored, logged
	// once the logger exists.
	envWarnings []envWarning
}

type envWarning struct{ variable, entry, why string }

// warnEnv logs the environment's values that were ignored.
func (c *Config) warnEnv(log *slog.Logger) {
	for _, w := range c.envWarnings {
		log.Warn("ignored an entry of "+w.variable, "entry", w.entry, "reason", w.why)
	}
}

// defaultConfig reads the environment.
func defaultConfig(getenv func(string) string) Config {
	c := Config{
		Output:          "tree",
		ServiceName:     "kspan",
		ServiceNameFrom: "fixed",
		Color:           "auto",
		LogLevel:        "info",
		LogFormat:       "text",
		Engine:          correlate.Defaults,
	}
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		c.ServiceName = v
	}
	var bad []envWarning
	c.ResourceAttrs, bad = parseResourceAttrs(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	c.envWarnings = append(c.envWarnings, bad...)
	c.OTLP = defaultOTLP(getenv)
	return c
}

// bind registers the flags shared by every command.
func (c *Config) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Output, "o", c.Output, "output format: tree or otlp-json (shorthand)")
	fs.StringVar(&c.Output, "output", c.Output, "output format: tree (a text waterfall per trace) or otlp-json (one OTLP ExportTraceServiceRequest per line)")
	fs.StringVar(&c.OutputFile, "output-file", c.OutputFile, "write the output to this file instead of standard output")
	fs.StringVar(&c.ClusterName, "cluster-name", c.ClusterName, "value of the k8s.cluster.name resource attribute")
	fs.StringVar(&c.ServiceNameFrom, "service-name-from", c.ServiceNameFrom, "service.name of the spans: fixed (OTEL_SERVICE_NAME, else kspan, for every span) or component (the Event's reporting component, such as kubelet or default-scheduler, so that backends colour and group by it; spans without one keep the fixed name)")
	fs.IntVar(&c.Width, "width", c.Width, "tree output width in columns (0: the terminal's width, else 100)")
	fs.StringVar(&c.Color, "color", c.Color, "colour in tree output: auto, always or never (auto honours NO_COLOR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")

	c.bindFilter(fs)
	e := &c.Engine
	fs.DurationVar(&e.Window, "window", e.Window, "how recent a controller or owner event must be to become a parent; also the quiet gap that ends an episode")
	fs.DurationVar(&e.Hold, "hold", e.Hold, "how long after its timestamp an event waits for records arriving out of order before its parent is chosen (at most this long after it arrives; one arriving later than that waits a fifth of it)")
	fs.DurationVar(&e.Linger, "linger", e.Linger, "how long a trace stays open after its last span before it is exported")
	fs.DurationVar(&e.MaxTraceAge, "max-trace-age", e.MaxTraceAge, "export a trace at most this long after it opened, even while spans still join it (they follow as late spans, their parents unstretched); 0: wait until it is quiet for -linger")
	fs.DurationVar(&e.MaxRolloutWait, "max-rollout-wait", e.MaxRolloutWait, "how long the trace of a rollout whose status says it goes on waits past -linger for its outcome (complete, failed, superseded); then it is exported as in_progress")
	fs.DurationVar(&e.StuckAfter, "stuck-after", e.StuckAfter, "a rollout still waiting for its outcome this long after its change counts as stuck (kspan_rollouts_stuck)")
	fs.BoolVar(&e.Stream, "stream", e.Stream, "export each span soon after its parent is chosen (a hold after its Event), not with its whole trace; no parent is then stretched over its children, and -linger and -max-trace-age do not apply")
	fs.IntVar(&e.MaxHeld, "max-held", e.MaxHeld, "most events waiting for their hold (beyond it the oldest is decided early)")
	fs.IntVar(&e.MaxOpenSpans, "max-open-spans", e.MaxOpenSpans, "most spans in traces not yet exported (beyond it the least recent trace is exported early)")
	fs.IntVar(&e.MaxTracked, "max-tracked", e.MaxTracked, "most objects and events whose recent activity is remembered")
	fs.IntVar(&e.MaxRepeats, "max-repeats", e.MaxRepeats, "most spans for one Event object (repeats beyond it are counted, not exported)")
	fs.IntVar(&e.MaxDepth, "max-depth", e.MaxDepth, "longest owner chain walked")
	fs.IntVar(&e.Index.MaxObjects, "max-objects", 200000, "most objects (and tombstones) in the owner index")
	fs.DurationVar(&e.Index.Tombstone, "tombstone", time.Hour, "how long a deleted object is remembered for late events")
	c.UI.bind(fs)
	c.bindOTLP(fs)
}

// complete turns the settings given as text into the typed values the
// engine takes (the Event filter into Engine.Keep, the selector into
// Engine.Selector and the label keys the index keeps) and reports every
// invalid setting at once. It is called once, after the flags are parsed.
func (c *Config) complete() error { return errors.Join(c.validate(), c.applyFilter()) }

// validate reports every invalid setting but those of the filter and the
// selector, which complete checks as it parses them; it changes nothing.
func (c *Config) validate() error {
	var errs []error
	switch c.Output {
	case "tree", "otlp-json":
	default:
		errs = append(errs, fmt.Errorf("-o %q: want tree or otlp-json", c.Output))
	}
	switch c.ServiceNameFrom {
	case "fixed", "component":
	default:
		errs = append(errs, fmt.Errorf("-service-name-from %q: want fixed or component", c.ServiceNameFrom))
	}
	switch c.Color {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("-color %q: want auto, always or never", c.Color))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("-log-format %q: want text or json", c.LogFormat))
	}
	if c.Width < 0 {
		errs = append(errs, errors.New("-width must not be negative"))
	}
	if err := c.Engine.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.UI.validate(); err != nil {
		errs = append(errs, err)
	}
	// Zero means a default in export.Config, but the flags' defaults are
	// filled in already: a 0 here was asked for, and would send nothing.
	if c.OTLP.QueueSize == 0 {
		errs = append(errs, errors.New("-otlp-queue-size 0: want at least 1"))
	}
	if c.OTLP.BatchSize == 0 {
		errs = append(errs, errors.New("-otlp-batch-size 0: want at least 1"))
	}
	if err := c.OTLP.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Resource is what exported spans are sent under.
func (c *Config) Resource() otlp.Resource {
	return otlp.Resource{Attrs: c.resourceAttrs(), ByComponent: c.ServiceNameFrom == "component"}
}

// resourceAttrs is the resource attributes of every exported span.
func (c *Config) resourceAttrs() []span.Attr {
	attrs := []span.Attr{span.Str(span.KeyServiceName, c.ServiceName)}
	if c.ClusterName != "" {
		attrs = append(attrs, span.Str(span.KeyClusterName, c.ClusterName))
	}
	for _, a := range c.ResourceAttrs {
		if a.Key == span.KeyServiceName || (a.Key == span.KeyClusterName && c.ClusterName != "") {
			continue
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// parseResourceAttrs reads OTEL_RESOURCE_ATTRIBUTES: key=value pairs
// separated by commas, values percent-encoded. Malformed pairs are left out,
// as the specification says, and returned to be warned about; empty ones
// (a trailing comma) are not.
func parseResourceAttrs(s string) ([]span.Attr, []envWarning) {
	var out []span.Attr
	var bad []envWarning
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			bad = append(bad, envWarning{"OTEL_RESOURCE_ATTRIBUTES", kv, "want key=value"})
			continue
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			bad = append(bad, envWarning{"OTEL_RESOURCE_ATTRIBUTES", kv, "the value's percent-encoding: " + err.Error()})
			continue
		}
		out = append(out, span.Str(k, dv))
	}
	return out, bad
}
