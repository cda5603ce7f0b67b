package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/httpserve"
	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/metrics"
)

// metricsFlags are live mode's self-observability flags.
type metricsFlags struct {
	// Addr is "off", a port (on 127.0.0.1) or host:port; the default is
	// metrics.DefaultAddr.
	Addr string
	// Pprof serves net/http/pprof beside the metrics.
	Pprof bool
	// AllowedHosts are the host names, comma-separated ("*": any), the
	// endpoints answer to besides localhost, IP addresses and the name in
	// Addr; empty means none, and then on an address beyond loopback
	// /metrics, /healthz and /readyz answer any Host (see hostsFor).
	AllowedHosts string
}

func (m *metricsFlags) bind(fs *flag.FlagSet) {
	m.Addr = metrics.DefaultAddr
	fs.StringVar(&m.Addr, "metrics-addr", m.Addr, "serve /metrics, /healthz and /readyz on this address: host:port, a port on 127.0.0.1, or off")
	fs.BoolVar(&m.Pprof, "pprof", false, "also serve Go's profiles under /debug/pprof/ on the -metrics-addr address")
	fs.StringVar(&m.AllowedHosts, "metrics-allowed-hosts", "", "host `names` the -metrics-addr endpoints answer to, comma-separated (.example.com: the domain and its subdomains; *: any), besides localhost, IP addresses and the -metrics-addr host (none: on an address beyond loopback, /metrics, /healthz and /readyz answer any name, /debug/pprof/ only those)")
}

func (m *metricsFlags) validate() error {
	if _, err := httpserve.ParseHosts(m.AllowedHosts, "-metrics-allowed-hosts"); err != nil {
		return err
	}
	if m.Addr == "off" {
		if m.Pprof {
			return errors.New("-pprof needs -metrics-addr")
		}
		return nil
	}
	if _, err := uiAddr(m.Addr); err != nil {
		return fmt.Errorf("-metrics-addr %q: want host:port, a port, or off", m.Addr)
	}
	return nil
}

// metricsServer serves the metrics beside a live run.
type metricsServer struct {
	srv *metrics.Server
	log *slog.Logger
}

// openMetrics builds the metrics of a live run reading status, the OTLP
// exporter (if any) and the viewer (if any), and binds their address.
// It returns nil when -metrics-addr is off, and when the default address is
// taken (with a warning): several kspan processes on one machine must not
// fail for it. A busy address given explicitly is an error.
func openMetrics(f metricsFlags, status *live.Status, x *export.Exporter, ui *viewer, h *ha, log *slog.Logger) (*metrics.Metrics, *metricsServer, error) {
	src := metrics.Sources{Live: status}
	if h != nil {
		src.Standby = h.standby
		src.Checkpoint = h.checkpointStats
	}
	if x != nil {
		src.Exporter = x.Stats
	}
	if ui != nil {
		src.Viewer = ui.store.Stats
	}
	m := metrics.New(src)
	if f.Addr == "off" {
		return m, nil, nil
	}
	addr, _ := uiAddr(f.Addr) // validated
	p := metrics.Probes{Pprof: f.Pprof}
	p.Hosts, p.AnyHost = hostsFor(f, addr)
	srv, err := metrics.Listen(addr, m.Handler(p), log)
	if err != nil {
		if f.Addr != metrics.DefaultAddr {
			return nil, nil, err
		}
		log.Warn("metrics are off: their default address is taken (choose one with -metrics-addr, or -metrics-addr off)", "error", err)
		return m, nil, nil
	}
	return m, &metricsServer{srv: srv, log: log}, nil
}

// hostsFor is what the metrics endpoints answer at addr: the names
// -metrics-allowed-hosts lists and the host of addr, and whether
// /metrics, /healthz and /readyz answer any Host. They do when no name is
// listed and addr is beyond loopback (":9464", as the Helm chart runs):
// probes and scrapers there name the pod as they like (its IP, a Service's
// name), and these endpoints hold counters, no Event content. On loopback
// they are checked like the viewer, since only a browser on this machine
// could be led to them by DNS rebinding. /debug/pprof/ is always checked.
func hostsFor(f metricsFlags, addr string) (httpserve.Hosts, bool) {
	listed, _ := httpserve.ParseHosts(f.AllowedHosts, "-metrics-allowed-hosts") // validated
	return listed.With(addr), listed.Any() || !listed.Listed() && !loopback(addr)
}

// loopback reports whether addr (host:port) listens on this machine only:
// localhost or a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// during serves the metrics while work runs and stops them when work
// returns (m may be nil). A server that fails stops work too.
func (m *metricsServer) during(ctx context.Context, work func(context.Context) error) error {
	if m == nil {
		return work(ctx)
	}
	m.log.Info("serving metrics", "url", "http://"+m.srv.Addr().String()+"/metrics")
	return beside(ctx, m.srv.Run, work)
}

// beside runs a server while work runs, stops it when work returns, and
// stops work when the server fails.
func beside(ctx context.Context, serve, work func(context.Context) error) error {
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	srvCtx, stopSrv := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var srvErr error
	wg.Go(func() {
		if srvErr = serve(srvCtx); srvErr != nil {
			stopWork()
		}
	})
	err := work(workCtx)
	stopSrv()
	wg.Wait()
	return errors.Join(err, srvErr)
}
