package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/httpserve"
	"github.com/kspan-project/kspan/internal/web"
)

// DefaultUIAddr is where the viewer listens unless told otherwise: this
// machine only.
const DefaultUIAddr = "127.0.0.1:7380"

// UIConfig is the web viewer's part of Config.
//
// The rule: `-ui ADDR` always serves the viewer, beside the other outputs.
// Without it ("auto"), live mode serves it on DefaultUIAddr unless an
// exporter is configured (-o otlp-json, -output-file, or an OTLP export), and
// replay does not serve it. `-ui off` never serves it.
type UIConfig struct {
	// Addr is "auto" (the rule above), "off", a port (on 127.0.0.1), or
	// host:port (":7380" listens on every interface).
	Addr string
	// MaxTraces bounds the traces kept for the viewer; zero means 1000.
	MaxTraces int
	// MaxMiB bounds their estimated memory in MiB; zero means 64.
	MaxMiB int
	// AllowedHosts are the host names, comma-separated ("*": any), the
	// viewer answers to besides localhost, IP addresses and the name in
	// Addr (httpserve.Hosts); empty means none.
	AllowedHosts string
}

func (u *UIConfig) bind(fs *flag.FlagSet) {
	if u.Addr == "" {
		u.Addr = "auto"
	}
	fs.StringVar(&u.Addr, "ui", u.Addr, "serve the web viewer on this address: host:port, a port on 127.0.0.1, or off (auto: "+DefaultUIAddr+" in live mode when no exporter is configured, else off)")
	fs.IntVar(&u.MaxTraces, "ui-max-traces", web.DefaultMaxTraces, "most traces the viewer keeps (the oldest are evicted)")
	fs.IntVar(&u.MaxMiB, "ui-max-mib", int(web.DefaultMaxBytes>>20), "most memory, in MiB, the viewer's traces take (the oldest are evicted)")
	fs.StringVar(&u.AllowedHosts, "ui-allowed-hosts", u.AllowedHosts, "host `names` the viewer answers to, comma-separated (.example.com: the domain and its subdomains; *: any), besides localhost, IP addresses and the -ui host; other names are refused against DNS rebinding")
}

func (u *UIConfig) validate() error {
	var errs []error
	if u.Addr != "auto" && u.Addr != "off" && u.Addr != "" {
		if _, err := uiAddr(u.Addr); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := httpserve.ParseHosts(u.AllowedHosts, "-ui-allowed-hosts"); err != nil {
		errs = append(errs, err)
	}
	if u.MaxTraces < 0 || u.MaxMiB < 0 {
		errs = append(errs, errors.New("-ui-max-traces and -ui-max-mib must not be negative"))
	}
	return errors.Join(errs...)
}

// uiAddr turns the -ui value into a listen address.
func uiAddr(s string) (string, error) {
	if p, err := strconv.ParseUint(s, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", strconv.FormatUint(p, 10)), nil
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return "", fmt.Errorf("-ui %q: want host:port, a port, auto or off", s)
	}
	return s, nil
}

// exporterConfigured reports whether an output other than the terminal
// tree was asked for, which turns the live viewer's default off.
func (c *Config) exporterConfigured() bool {
	return c.Output == "otlp-json" || c.OutputFile != "" || c.OTLP.Enabled()
}

// viewerAddr applies UIConfig's rule: where the viewer listens ("" for
// nowhere), and whether -ui asked for it.
func viewerAddr(cfg Config, live bool) (addr string, asked bool) {
	switch cfg.UI.Addr {
	case "off":
		return "", false
	case "auto", "":
		if !live || cfg.exporterConfigured() {
			return "", false
		}
		return DefaultUIAddr, false
	}
	addr, _ = uiAddr(cfg.UI.Addr) // validated
	return addr, true
}

// viewer is the store sink and the HTTP server of a run with the viewer.
type viewer struct {
	store *web.Store
	srv   *web.Server
	log   *slog.Logger
}

// openViewer binds the viewer's address when the rule says it runs, and
// returns nil when it does not. A busy address is an error when -ui was
// given, and a warning when the viewer was only on by default. rollouts,
// when not nil, serves the page of rollouts in progress.
func openViewer(cfg Config, live bool, log *slog.Logger, rollouts func() []correlate.OpenRollout) (*viewer, error) {
	addr, asked := viewerAddr(cfg, live)
	if addr == "" {
		return nil, nil
	}
	store := web.NewStore(web.Limits{MaxTraces: cfg.UI.MaxTraces, MaxBytes: int64(cfg.UI.MaxMiB) << 20})
	hosts, _ := httpserve.ParseHosts(cfg.UI.AllowedHosts, "-ui-allowed-hosts") // validated
	h := web.NewViewer(store, web.ViewerOptions{Resource: cfg.Resource(), Live: live, Hosts: hosts.With(addr),
		Rollouts: rollouts, StuckAfter: cmp.Or(cfg.Engine.StuckAfter, correlate.Defaults.StuckAfter)})
	srv, err := web.Listen(addr, h, log)
	if err != nil {
		if asked {
			return nil, err
		}
		log.Warn("the viewer is off: its default address is taken (choose one with -ui, or -ui off)", "error", err)
		return nil, nil
	}
	if !srv.Loopback() {
		log.Warn("the viewer listens beyond this machine: whoever reaches it sees the cluster's events (it answers localhost, IP addresses and the names in -ui-allowed-hosts)", "addr", srv.Addr().String())
	}
	return &viewer{store: store, srv: srv, log: log}, nil
}

// during serves the viewer while work runs and stops it when work returns.
// A viewer that fails stops work too.
func (v *viewer) during(ctx context.Context, work func(context.Context) error) error {
	if v == nil {
		return work(ctx)
	}
	v.log.Info("serving the viewer", "url", v.srv.URL())
	return beside(ctx, v.srv.Run, work)
}

// close releases the viewer's address if it was never served (v may be
// nil).
func (v *viewer) close() {
	if v == nil {
		return
	}
	if err := v.srv.Close(); err != nil {
		v.log.Warn("closing the viewer", "error", err)
	}
}

// serve serves the viewer until ctx is done (v may be nil).
func (v *viewer) serve(ctx context.Context) error {
	if v == nil {
		return nil
	}
	v.log.Info("replay done; serving the viewer until interrupted", "url", v.srv.URL())
	return v.srv.Run(ctx)
}
