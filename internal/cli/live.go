package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/klog/v2"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/live"
)

// liveOptions is everything live mode (the bare command) reads from its
// flags and the environment: the settings it shares with replay, and its
// own. newLiveFlags binds it to one FlagSet; complete completes and checks
// it once, after parsing.
type liveOptions struct {
	Config
	Client live.ClientOptions
	// Capture is the file every record is captured to ("": none).
	Capture    string
	WatchBatch time.Duration
	Metrics    metricsFlags
	HA         haFlags
}

// newLiveFlags binds live mode's flags to a new FlagSet whose usage goes
// to stderr.
func newLiveFlags(getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *liveOptions) {
	l := &liveOptions{Config: defaultConfig(getenv)}
	fs := flag.NewFlagSet("kspan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	l.Config.bind(fs)
	l.Metrics.bind(fs)
	l.HA.bind(fs, getenv)
	fs.StringVar(&l.Client.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)")
	fs.StringVar(&l.Client.Context, "context", "", "kubeconfig context to use (default: its current context)")
	fs.DurationVar(&l.WatchBatch, "watch-batch", live.DefaultWatchBatch, "once the caches have synced, wait up to this long after draining the apiserver connection before reading it again, so that watch events are handled in batches (about half the CPU; at most this much more latency; never across a whole second of the clock, which observation times are compared in; 0 reads each event as it comes)")
	fs.StringVar(&l.Capture, "capture", "", "record every Event and object change, with the time it was seen, to this file in kspan's capture format (replay it with kspan replay)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kspan [flags]\n\nWatches the cluster's Events and prints or exports their traces until interrupted.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, l
}

// complete turns the settings into typed values (Config.complete,
// haFlags.complete) and reports every invalid one at once.
func (l *liveOptions) complete() error {
	var batchErr error
	if l.WatchBatch < 0 || l.WatchBatch > time.Second {
		batchErr = fmt.Errorf("-watch-batch %v: want 0 to 1s", l.WatchBatch)
	}
	return errors.Join(l.Config.complete(), l.Metrics.validate(), l.HA.complete(), batchErr)
}

func runLive(ctx context.Context, args []string, env Env) error {
	fs, l := newLiveFlags(env.Getenv, env.Stderr)
	if help, err := parseFlags(fs, args, env.Stderr); help || err != nil {
		return err
	}
	if err := l.complete(); err != nil {
		return &exitError{ExitUsage, err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{ExitUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	cfg := l.Config
	log := newLogger(env.Stderr, cfg)
	cfg.warnEnv(log)
	h := &ha{flags: l.HA, log: log}
	// client-go logs through klog: into the same structured log, once.
	klog.SetSlogLogger(log.With("logger", "client-go"))
	if cfg.Engine.Stream && cfg.Output == "tree" {
		log.Warn("-stream sends each trace in pieces: the tree output draws each piece as it comes (the viewer and OTLP backends join them)")
	}
	status := &live.Status{}
	ui, err := openViewer(cfg, true, log, func() []correlate.OpenRollout {
		if sn := status.Snapshot(); sn != nil {
			return sn.Rollouts
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer ui.close()
	out, err := outputs(ctx, cfg, env, log, false, ui)
	if err != nil {
		return err
	}
	opt := live.Options{Client: l.Client, Engine: cfg.Engine, Sink: out, Log: log, WatchBatch: l.WatchBatch}
	if l.Capture != "" {
		f, err := os.OpenFile(l.Capture, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("opening the capture file: %w", err)
		}
		defer f.Close()
		opt.Capture = f
		if cfg.ClusterName != "" {
			opt.CaptureFields = map[string]string{"cluster": cfg.ClusterName}
		}
	}
	opt.Status = status
	m, ms, err := openMetrics(l.Metrics, opt.Status, out.Exporter(), ui, h, log)
	if err != nil {
		return errors.Join(err, out.Close(ctx))
	}
	out.Observe(m.ObserveExport)
	return ms.during(ctx, func(ctx context.Context) error {
		return ui.during(ctx, func(ctx context.Context) error { return h.run(ctx, opt, out) })
	})
}
