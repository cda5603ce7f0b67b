package cli

import (
	"flag"

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
}

// applyFilter validates the filter and hands it to the engine: filtered
// Events still inform causality, they are just not exported.
func (c *Config) applyFilter() error {
	if err := c.Filter.Validate(); err != nil {
		return err
	}
	if !c.Filter.Empty() {
		f := c.Filter
		c.Engine.Export = f.Keep
	}
	return nil
}
