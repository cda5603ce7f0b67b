package leader

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLost is the cause of the work context's cancellation when the lease
// was lost, and Run's error then.
var ErrLost = errors.New("leadership lost: another replica may be exporting")

// Config says which Lease to hold and how.
type Config struct {
	Namespace, Name string
	// Identity names this replica in the Lease (default: the host name and
	// a random suffix).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's (15s,
	// 10s, 2s by default): a standby takes over at most LeaseDuration
	// after the leader last renewed.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
}

// Defaults are client-go's usual settings.
var Defaults = Config{Name: "kspan", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Namespace == "" || c.Name == "" {
		errs = append(errs, errors.New("leader election needs a namespace and a name for its Lease"))
	}
	if c.LeaseDuration <= c.RenewDeadline {
		errs = append(errs, fmt.Errorf("-leader-elect-lease-duration %v must be longer than -leader-elect-renew-deadline %v", c.LeaseDuration, c.RenewDeadline))
	}
	if c.RetryPeriod <= 0 || float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod) {
		errs = append(errs, fmt.Errorf("-leader-elect-renew-deadline %v must be longer than %.1f × -leader-elect-retry-period %v", c.RenewDeadline, leaderelection.JitterFactor, c.RetryPeriod))
	}
	return errors.Join(errs...)
}

// State says whether this replica leads; safe for concurrent use.
type State struct {
	leading atomic.Bool
	leader  atomic.Pointer[string]
}

// Leading reports whether this replica holds the lease and works.
func (s *State) Leading() bool { return s != nil && s.leading.Load() }

// Leader is the identity of the replica last seen leading.
func (s *State) Leader() string {
	if s == nil {
		return ""
	}
	if p := s.leader.Load(); p != nil {
		return *p
	}
	return ""
}

// Run campaigns for the lease until ctx is done. While this replica leads,
// it runs work with a context that ends when ctx does (work should then
// finish what it holds) or when the lease is lost (cause ErrLost: work
// should stop without exporting more). Run releases the lease once work
// has returned, and returns work's error; ErrLost when the lease was lost;
// nil when ctx ended while standing by.
func Run(ctx context.Context, client kubernetes.Interface, cfg Config, state *State, work func(context.Context) error) error {
	if cfg.Identity == "" {
		cfg.Identity = identity()
	}
	log := cfg.Log.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// The elector has its own context: SIGTERM first stops the work, and
	// only then the elector, which releases the lease.
	elCtx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElector()
	workDone := make(chan error, 1)
	started := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            cfg.Name,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				close(started)
				state.leading.Store(true)
				log.Info("leading: this replica exports")
				workCtx, stop := context.WithCancelCause(ctx)
				go func() {
					<-leading.Done()
					if elCtx.Err() == nil { // not released by us: lost
						stop(ErrLost)
					}
				}()
				err := work(workCtx)
				stop(nil)
				workDone <- err
			},
			OnStoppedLeading: func() {
				state.leading.Store(false)
			},
			OnNewLeader: func(id string) {
				state.leader.Store(&id)
				if id != cfg.Identity {
					log.Info("standing by", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	log.Info("campaigning for the lease", "lease_duration", cfg.LeaseDuration)
	elDone := make(chan struct{})
	go func() {
		le.Run(elCtx)
		close(elDone)
	}()

	select {
	case <-ctx.Done():
		select {
		case <-started:
		default:
			// Standing by: nothing to finish.
			stopElector()
			<-elDone
			return nil
		}
	case <-started:
	}
	// Leading: wait for the work (it stops when ctx ends or the lease is
	// lost), then release the lease.
	err = <-workDone
	lost := false
	select {
	case <-elDone:
		lost = elCtx.Err() == nil
	default:
	}
	stopElector()
	<-elDone
	state.leading.Store(false)
	if lost {
		log.Error("lost the lease; stopped without exporting what was held (the next leader exports it)")
		return errors.Join(ErrLost, err)
	}
	log.Info("released the lease")
	return err
}

// identity is the host name (the pod's name) and a random suffix.
func identity() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "kspan"
	}
	return strings.ToLower(h) + "_" + strings.ToLower(rand.Text()[:8])
}

// Namespace is where the Lease (and the checkpoint) go by default: the
// POD_NAMESPACE variable, else the service account's namespace when in a
// cluster, else "default".
func Namespace(getenv func(string) string) string {
	if ns := getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "default"
}
