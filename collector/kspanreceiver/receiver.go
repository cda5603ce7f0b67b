package kspanreceiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	store  checkpoint.Store // nil: no checkpoint
	cp     atomic.Pointer[checkpoint.Checkpoint]
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
// for the Lease and watching while it leads. The checkpoint's store (a
// storage extension's client, or the ConfigMap) is found first; the
// checkpoint is read from it each time the receiver starts to watch. A
// cluster that cannot be reached is reported to the host as a fatal error.
func (r *kspanReceiver) Start(ctx context.Context, host component.Host) error {
	opt := live.Options{
		Client:     live.ClientOptions{Kubeconfig: r.cfg.Kubeconfig, Context: r.cfg.Context},
		Engine:     r.engine,
		Sink:       &consumerSink{r: r, res: r.cfg.resource()},
		Log:        r.log,
		WatchBatch: live.DefaultWatchBatch,
	}
	switch {
	case r.cfg.Storage != nil:
		store, err := r.openStorage(ctx, host, *r.cfg.Storage)
		if err != nil {
			return err
		}
		r.store = store
	case r.cfg.CheckpointConfigMap != "":
		client, err := live.Clientset(opt.Client)
		if err != nil {
			return err
		}
		ns, name, err := r.cfg.configMap()
		if err != nil {
			return err
		}
		r.store = &checkpoint.ConfigMap{Client: client, Namespace: ns, Name: name}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		var err error
		if r.cfg.LeaderElection == nil {
			err = r.watch(runCtx, opt)
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

// watch reads the checkpoint, runs the live work until ctx ends (its last
// traces exported), then saves the checkpoint.
func (r *kspanReceiver) watch(ctx context.Context, opt live.Options) error {
	if r.store == nil {
		return live.Run(ctx, opt)
	}
	cp, err := checkpoint.Open(ctx, r.store, checkpoint.Options{Log: r.log})
	if err != nil {
		return err
	}
	opt.Checkpoint = cp
	r.cp.Store(cp)
	saveCtx, stopSaving := context.WithCancel(ctx)
	var saver sync.WaitGroup
	saver.Go(func() { cp.Run(saveCtx) })
	err = live.Run(ctx, opt) // nothing is delivered after it returns
	r.cp.Store(nil)
	stopSaving()
	saver.Wait()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(err, cp.Close(closeCtx))
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
		return r.watch(runCtx, opt)
	})
}

// openStorage is the checkpoint's store in a storage extension.
func (r *kspanReceiver) openStorage(ctx context.Context, host component.Host, id component.ID) (checkpoint.Store, error) {
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
	return &storageStore{client: client, name: id.String()}, nil
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
		if s, ok := r.store.(*storageStore); ok {
			return s.client.Close(ctx)
		}
		return nil
	case <-ctx.Done():
		if s, ok := r.store.(*storageStore); ok {
			// The run still ends (it was cancelled) and saves: close the
			// client after it.
			go func() { <-r.done; _ = s.client.Close(context.Background()) }()
		}
		return fmt.Errorf("kspan receiver: %w before the open traces were exported", ctx.Err())
	}
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
	if cp := s.r.cp.Load(); cp != nil {
		cp.Delivered(spans, time.Now())
	}
	return nil
}

func (s *consumerSink) Close(context.Context) error { return nil }
