package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/kspan-project/kspan/internal/output"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/kspan-project/kspan/internal/replay"
)

// replayOptions is everything kspan replay reads from its flags and the
// environment: the settings it shares with live mode, and its own.
// newReplayFlags binds it to one FlagSet; complete completes and checks it
// once, after parsing.
type replayOptions struct {
	Config
	ReorderWindow time.Duration
}

// newReplayFlags binds replay's flags to a new FlagSet whose usage goes to
// stderr.
func newReplayFlags(getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *replayOptions) {
	r := &replayOptions{Config: defaultConfig(getenv)}
	fs := flag.NewFlagSet("kspan replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	r.Config.bind(fs)
	fs.DurationVar(&r.ReorderWindow, "reorder-window", replay.DefaultWindow, "how far out of order the records of a kspan capture may come and still be replayed in order; captures are read as they are replayed, holding about this much of each (kubectl output is read whole)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kspan replay [flags] FILE...\n\n"+
			"Replays kubectl output (JSON or YAML: objects, Lists, watch streams), the earlier\n"+
			"kspan's captures and kspan's own captures, in any mix, and prints the traces.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, r
}

// complete turns the settings into typed values (Config.complete) and
// reports every invalid one at once.
func (r *replayOptions) complete() error {
	var windowErr error
	if r.ReorderWindow <= 0 {
		windowErr = fmt.Errorf("-reorder-window %v: must be positive", r.ReorderWindow)
	}
	return errors.Join(r.Config.complete(), windowErr)
}

func runReplay(ctx context.Context, args []string, env Env) error {
	fs, r := newReplayFlags(env.Getenv, env.Stderr)
	if help, err := parseFlags(fs, args, env.Stderr); help || err != nil {
		return err
	}
	if err := r.complete(); err != nil {
		return &exitError{ExitUsage, err}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{ExitUsage, errors.New("no input files (use - for standard input)")}
	}
	cfg := r.Config
	log := newLogger(env.Stderr, cfg)
	cfg.warnEnv(log)
	replayMemory(env.Getenv)
	ui, out, err := openOutputs(ctx, cfg, env, log)
	if err != nil {
		return err
	}
	defer ui.close()
	res, err := replayInto(ctx, cfg, log, out, replay.Options{Files: fs.Args(), Stdin: env.Stdin, Window: r.ReorderWindow})
	st := res.Stats
	log.Info("replay done", "records", res.Records, "events", st.Events, "objects", st.Objects,
		"spans", st.Spans, "filtered", st.Filtered, "duplicates", st.Duplicates, "suppressed_repeats", st.Suppressed,
		"late_spans", st.LateSpans, "forced_decisions", st.ForcedDecisions, "forced_flushes", st.ForcedFlushes,
		"forgotten", st.Forgotten, "evicted_objects", st.Index.Evicted, "owner_cycles", st.Cycles,
		"deep_chains", st.DeepChains, "truncated_messages", st.Truncated, "clamped_times", res.ClampedTimes,
		"skipped_inputs", res.Skipped, "out_of_window", res.OutOfWindow)
	if err == nil {
		err = ui.serve(ctx)
	}
	if err != nil {
		return err
	}
	if n := res.Skipped; n > 0 {
		return &exitError{ExitSkipped, fmt.Errorf("%d part(s) of the input were skipped (see the warnings above)", n)}
	}
	return nil
}

// ReplayGCPercent is the garbage collector's target replay runs with when
// GOGC is not set: a replay is a batch job over a capture of any length,
// and trades some CPU (about a third more time) for a peak of memory about
// 40% lower than Go's default (100) gives.
const ReplayGCPercent = 20

// replayMemory sets replay's garbage collection: ReplayGCPercent unless
// GOGC says otherwise, and no heap profile sampling (replay serves no
// profiles; the samples' buckets take memory of their own).
func replayMemory(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(ReplayGCPercent)
	}
	runtime.MemProfileRate = 0
}

// openOutputs opens the viewer (nil when not asked for) and the outputs cfg
// asks for, to replay into.
func openOutputs(ctx context.Context, cfg Config, env Env, log *slog.Logger) (*viewer, *output.Pipeline, error) {
	ui, err := openViewer(cfg, false, log, nil)
	if err != nil {
		return nil, nil, err
	}
	out, err := outputs(ctx, cfg, env, log, true, ui)
	if err != nil {
		ui.close()
		return nil, nil, err
	}
	return ui, out, nil
}

// replayInto replays opt with cfg's engine, then closes out (opt.Sink is
// out, or passes to it): the error then also says what out did not deliver.
func replayInto(ctx context.Context, cfg Config, log *slog.Logger, out *output.Pipeline, opt replay.Options) (replay.Result, error) {
	opt.Engine, opt.Log = cfg.Engine, log
	if opt.Sink == nil {
		opt.Sink = out
	}
	res, err := replay.Run(ctx, opt)
	if cerr := out.Close(context.WithoutCancel(ctx)); err == nil {
		if cerr != nil {
			cerr = fmt.Errorf("writing output: %w", cerr)
		}
		err = errors.Join(out.Undelivered(), cerr)
	}
	return res, err
}
