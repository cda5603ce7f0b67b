package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/leader"
	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/output"
)

// haFlags are live mode's restart and high-availability flags.
type haFlags struct {
	// Checkpoint is "none", "file:PATH" or "configmap:NAMESPACE/NAME".
	Checkpoint         string
	CheckpointInterval time.Duration
	CheckpointMax      int
	LeaderElect        bool
	Lease              leader.Config

	// checkpointKind and checkpointTarget are Checkpoint parsed by complete.
	checkpointKind, checkpointTarget string
}

func (h *haFlags) bind(fs *flag.FlagSet, getenv func(string) string) {
	h.Checkpoint = "none"
	h.Lease = leader.Defaults
	h.Lease.Namespace = leader.Namespace(getenv)
	fs.StringVar(&h.Checkpoint, "checkpoint", h.Checkpoint, "remember what was exported, so a restart or a new leader exports each Event once: none, file:PATH (a journal, saved with every delivery) or configmap:NAMESPACE/NAME (saved every -checkpoint-interval and at shutdown)")
	fs.DurationVar(&h.CheckpointInterval, "checkpoint-interval", time.Second, "how often a configmap checkpoint is saved")
	fs.IntVar(&h.CheckpointMax, "checkpoint-max", checkpoint.DefaultMax, "most Events (and root spans) the checkpoint remembers; the oldest are forgotten (counted)")
	fs.BoolVar(&h.LeaderElect, "leader-elect", false, "run as one of several replicas: only the holder of a Lease watches and exports; the others stand by")
	fs.StringVar(&h.Lease.Namespace, "leader-elect-namespace", h.Lease.Namespace, "namespace of the Lease (default: $POD_NAMESPACE, else the service account's, else default)")
	fs.StringVar(&h.Lease.Name, "leader-elect-name", h.Lease.Name, "name of the Lease")
	fs.DurationVar(&h.Lease.LeaseDuration, "leader-elect-lease-duration", h.Lease.LeaseDuration, "how long a standby waits after the leader's last renewal before taking over")
	fs.DurationVar(&h.Lease.RenewDeadline, "leader-elect-renew-deadline", h.Lease.RenewDeadline, "how long the leader keeps trying to renew before it stops exporting")
	fs.DurationVar(&h.Lease.RetryPeriod, "leader-elect-retry-period", h.Lease.RetryPeriod, "how often the Lease is tried")
}

// complete parses -checkpoint into its kind and target and reports every
// invalid setting at once.
func (h *haFlags) complete() error {
	var errs []error
	var err error
	if h.checkpointKind, h.checkpointTarget, err = parseCheckpoint(h.Checkpoint); err != nil {
		errs = append(errs, err)
	}
	if h.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("-checkpoint-interval must be positive"))
	}
	if h.CheckpointMax <= 0 {
		errs = append(errs, errors.New("-checkpoint-max must be positive"))
	}
	if h.LeaderElect {
		errs = append(errs, h.Lease.Validate())
	}
	return errors.Join(errs...)
}

// parseCheckpoint splits -checkpoint into its kind and target.
func parseCheckpoint(v string) (kind, target string, err error) {
	if v == "" || v == "none" {
		return "none", "", nil
	}
	kind, target, _ = strings.Cut(v, ":")
	switch {
	case kind == "file" && target != "":
		return kind, target, nil
	case kind == "configmap":
		ns, name, ok := strings.Cut(target, "/")
		if ok && ns != "" && name != "" && !strings.Contains(name, "/") {
			return kind, target, nil
		}
	}
	return "", "", fmt.Errorf("-checkpoint %q: want none, file:PATH or configmap:NAMESPACE/NAME", v)
}

// ha runs the live work, under leader election when asked, with the
// checkpoint opened when (and only when) this replica starts to lead.
type ha struct {
	flags haFlags
	log   *slog.Logger
	state leader.State
	cp    atomic.Pointer[checkpoint.Checkpoint]
}

// standby reports whether this replica waits for the lease.
func (h *ha) standby() bool { return h.flags.LeaderElect && !h.state.Leading() }

// checkpointStats are the checkpoint's counters, once it is open.
func (h *ha) checkpointStats() (checkpoint.Stats, bool) {
	if cp := h.cp.Load(); cp != nil {
		return cp.Stats(), true
	}
	return checkpoint.Stats{}, false
}

// run runs the live work until ctx is done; out is opt.Sink, whose
// deliveries the checkpoint records while this replica leads.
func (h *ha) run(ctx context.Context, opt live.Options, out *output.Pipeline) error {
	if !h.flags.LeaderElect {
		return h.lead(ctx, opt, out)
	}
	client, err := live.Clientset(opt.Client)
	if err != nil {
		return err
	}
	lease := h.flags.Lease
	lease.Log = h.log
	standingBy := true
	err = leader.Run(ctx, client, lease, &h.state, func(ctx context.Context) error {
		standingBy = false
		// A lost lease aborts the live run: the next leader exports what
		// it held.
		runCtx, stop := live.LeadContext(ctx, leader.ErrLost)
		defer stop()
		return h.lead(runCtx, opt, out)
	})
	if standingBy {
		// Never led: the outputs were never used.
		return errors.Join(err, opt.Sink.Close(context.WithoutCancel(ctx)))
	}
	return err
}

// lead opens the checkpoint and runs the live work.
func (h *ha) lead(ctx context.Context, opt live.Options, out *output.Pipeline) error {
	cp, err := h.openCheckpoint(ctx, opt.Client)
	if err != nil {
		return errors.Join(err, opt.Sink.Close(context.WithoutCancel(ctx)))
	}
	if cp == nil {
		return live.Run(ctx, opt)
	}
	h.cp.Store(cp)
	opt.Checkpoint = cp
	out.Record(cp)
	saveCtx, stopSaving := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { cp.Run(saveCtx) })
	err = live.Run(ctx, opt) // closes the outputs: nothing is delivered after it
	out.Record(nil)
	stopSaving()
	wg.Wait()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(err, cp.Close(closeCtx))
}

func (h *ha) openCheckpoint(ctx context.Context, co live.ClientOptions) (*checkpoint.Checkpoint, error) {
	kind, target := h.flags.checkpointKind, h.flags.checkpointTarget
	var store checkpoint.Store
	switch kind {
	case "none":
		return nil, nil
	case "file":
		store = &checkpoint.File{Path: target, Max: h.flags.CheckpointMax}
	case "configmap":
		client, err := live.Clientset(co)
		if err != nil {
			return nil, err
		}
		ns, name, _ := strings.Cut(target, "/")
		store = &checkpoint.ConfigMap{Client: client, Namespace: ns, Name: name}
	}
	return checkpoint.Open(ctx, store, checkpoint.Options{Max: h.flags.CheckpointMax, Interval: h.flags.CheckpointInterval, Log: h.log})
}
