package kspanreceiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap/exp/zapslog"
	"k8s.io/client-go/kubernetes"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/leader"
	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
)

// kspanReceiver runs kspan's live mode in the Collector: the watches and
// the engine in one goroutine of its own (live.Run), the spans handed to
// the next consumer from the engine's goroutine.
type kspanReceiver struct {
	cfg    *Config
	engine correlate.Config
	set    receiver.Settings
	next   consumer.Traces
	obs    *receiverhelper.ObsReport
	log    *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	cp     *checkpoint.Checkpoint
	stop   func() // stops the checkpoint's saver
	state  leader.State
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Traces) (*kspanReceiver, error) {
	eng, err := cfg.engine()
	if err != nil {
		return nil, err
	}
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "kubernetes", ReceiverCreateSettings: set})
	if err != nil {
		return nil, err
	}
	log := slog.New(zapslog.NewHandler(set.Logger.Core()))
	return &kspanReceiver{cfg: cfg, engine: eng, set: set, next: next, obs: obs, log: log}, nil
}

// Start starts watching the cluster, or with leader_election campaigning
// for the Lease and watching while it leads. The checkpoint (a storage
// extension's) is opened first. A cluster that cannot be reached is
// reported to the host as a fatal error.
func (r *kspanReceiver) Start(ctx context.Context, host component.Host) error {
	if r.cfg.Storage != nil {
		cp, err := r.openCheckpoint(ctx, host, *r.cfg.Storage)
		if err != nil {
			return err
		}
		r.cp = cp
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done = cancel, make(chan struct{})
	var saver sync.WaitGroup
	if r.cp != nil {
		saveCtx, stopSaving := context.WithCancel(runCtx)
		saver.Go(func() { r.cp.Run(saveCtx) })
		r.stop = func() { stopSaving(); saver.Wait() }
	}
	opt := live.Options{
		Client:     live.ClientOptions{Kubeconfig: r.cfg.Kubeconfig, Context: r.cfg.Context},
		Engine:     r.engine,
		Sink:       &consumerSink{r: r, res: r.cfg.resource()},
		Log:        r.log,
		WatchBatch: live.DefaultWatchBatch,
	}
	if r.cp != nil {
		opt.Checkpoint = r.cp
	}
	go func() {
		defer close(r.done)
		var err error
		if r.cfg.LeaderElection == nil {
			err = live.Run(runCtx, opt)
		} else {
			err = r.lead(runCtx, opt)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			r.log.Error("kspan stopped", "error", err)
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// lead campaigns for the Lease and runs the live work while it leads: a
// lost lease aborts the run without exporting what it held (the next leader
// does), and Shutdown releases the lease once the run has exported it.
func (r *kspanReceiver) lead(ctx context.Context, opt live.Options) error {
	client, err := live.Clientset(opt.Client)
	if err != nil {
		return err
	}
	lease := r.cfg.LeaderElection.lease()
	lease.Log = r.log
	for {
		err = r.leadOnce(ctx, client, lease, opt)
		if !errors.Is(err, leader.ErrLost) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("leadership lost: campaigning again", "lease", lease.Namespace+"/"+lease.Name)
	}
}

// leadOnce campaigns once: until ctx ends or the lease, once held, is lost.
func (r *kspanReceiver) leadOnce(ctx context.Context, client kubernetes.Interface, lease leader.Config, opt live.Options) error {
	return leader.Run(ctx, client, lease, &r.state, func(ctx context.Context) error {
		// A lost lease aborts the run: the next leader exports what it held.
		runCtx, stop := live.LeadContext(ctx, leader.ErrLost)
		defer stop()
		return live.Run(runCtx, opt)
	})
}

func (r *kspanReceiver) openCheckpoint(ctx context.Context, host component.Host, id component.ID) (*checkpoint.Checkpoint, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage %s: no such extension", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage %s: not a storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, r.set.ID, "")
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", id, err)
	}
	return checkpoint.Open(ctx, &storageStore{client: client, name: id.String()}, checkpoint.Options{Log: r.log})
}

// Shutdown exports what the engine holds (every open trace), saves the
// checkpoint and stops, within ctx.
func (r *kspanReceiver) Shutdown(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("kspan receiver: %w before the open traces were exported", ctx.Err())
	}
	if r.cp == nil {
		return nil
	}
	r.stop()
	return r.cp.Close(ctx)
}

// consumerSink hands the engine's batches to the next consumer as ptrace,
// counted by the Collector's receiver telemetry (accepted and refused
// spans); delivered batches are recorded in the checkpoint.
type consumerSink struct {
	r   *kspanReceiver
	res otlp.Resource
}

func (s *consumerSink) Export(ctx context.Context, spans []span.Span) error {
	td, err := toTraces(s.res, spans)
	if err != nil {
		return err
	}
	ctx = s.r.obs.StartTracesOp(ctx)
	err = s.r.next.ConsumeTraces(ctx, td)
	s.r.obs.EndTracesOp(ctx, "kspan", len(spans), err)
	if err != nil {
		return err
	}
	if s.r.cp != nil {
		s.r.cp.Delivered(spans, time.Now())
	}
	return nil
}

func (s *consumerSink) Close(context.Context) error { return nil }
