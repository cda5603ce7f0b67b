package cli

import (
	"flag"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kspan-project/kspan/internal/filter"
)

// bindFilter registers the export filter's flags: each is repeatable and
// takes comma-separated values.
func (c *Config) bindFilter(fs *flag.FlagSet) {
	f := &c.Filter
	fs.Var(filter.List{Values: &f.Namespaces}, "namespace", "export only Events in these namespaces (repeatable, comma-separated; default all)")
	fs.Var(filter.List{Values: &f.ExcludeNamespaces}, "exclude-namespace", "do not export Events in these namespaces")
	fs.Var(filter.List{Values: &f.Kinds}, "kind", "export only Events about these kinds of object (Pod, Deployment, ...)")
	fs.Var(filter.List{Values: &f.ExcludeKinds}, "exclude-kind", "do not export Events about these kinds of object")
	fs.Var(filter.List{Values: &f.Reasons}, "reason", "export only Events with these reasons")
	fs.Var(filter.List{Values: &f.ExcludeReasons}, "exclude-reason", "do not export Events with these reasons")
	fs.Var(filter.List{Values: &f.Types}, "type", "export only Events of these types: Normal, Warning")
	fs.StringVar(&c.Selector, "selector", "", "export only Events whose object, or an owner up its controller chain, has labels matching this label `selector` (app=web,tier!=cache; kspan keeps only the labels it names)")
}

// applyFilter validates the filter and hands it to the engine: filtered
// Events still inform causality, they are just not exported.
func (c *Config) applyFilter() error {
	if err := c.Filter.Validate(); err != nil {
		return err
	}
	if !c.Filter.Empty() {
		f := c.Filter
		c.Engine.Keep = f.Keep
	}
	if c.Selector != "" {
		sel, err := labels.Parse(c.Selector)
		if err != nil {
			return fmt.Errorf("-selector %q: %w", c.Selector, err)
		}
		reqs, _ := sel.Requirements()
		keys := make([]string, 0, len(reqs))
		for _, r := range reqs {
			keys = append(keys, r.Key())
		}
		c.Engine.Selector = sel
		c.Engine.Index.LabelKeys = keys
	}
	return nil
}
