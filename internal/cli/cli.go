package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/kspan-project/kspan/internal/output"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/tree"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the command could not do its work
	ExitUsage   = 2 // bad flags or arguments
	ExitSkipped = 3 // done, but some input was skipped (each one was logged)
)

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode maps Run's error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitFailed
}

// Env is what Run reads from its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `kspan turns Kubernetes Events into OpenTelemetry traces.

Usage:
  kspan [flags]                  watch the cluster (kubeconfig as kubectl finds it)
  kspan replay [flags] FILE...   replay recorded Events and objects ("-" is stdin)
  kspan show [flags] KIND/NAME   draw an object's recent changes from what the apiserver
                                 holds now (installed as kubectl-kspan: kubectl kspan KIND/NAME)
  kspan version                  print the version

Run "kspan replay -h" and "kspan show -h" for their flags.
`

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// Run runs the command in args (without the program name).
func Run(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "-help", "--help", "-version", "--version"}, args[0]) {
		return runLive(ctx, args, env)
	}
	switch args[0] {
	case "replay":
		return runReplay(ctx, args[1:], env)
	case "show":
		return runShow(ctx, "kspan show", args[1:], env)
	case "version", "-version", "--version":
		fmt.Fprintln(env.Stdout, "kspan", Version)
		return nil
	case "help", "-h", "-help", "--help":
		// The commands, then live mode's flags (those of the bare command).
		fmt.Fprint(env.Stdout, usage+"\n")
		help := env
		help.Stderr = env.Stdout
		return runLive(ctx, []string{"-h"}, help)
	}
	fmt.Fprint(env.Stderr, usage)
	return &exitError{ExitUsage, fmt.Errorf("unknown command %q", args[0])}
}

// parseFlags parses args into fs. Left alone, the flag package prints a
// parse error and the usage, and main prints the error again: here an error
// is only returned (main prints it once, with a hint), and -h prints the
// usage (help is true then).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (help bool, err error) {
	usage := fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(args)
	fs.SetOutput(stderr)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return true, nil
	case err != nil:
		return false, &exitError{ExitUsage, fmt.Errorf("%w (%s -h lists the flags)", err, fs.Name())}
	}
	return false, nil
}

// outputs builds the output pipeline, the same way for both commands: the
// -o writer (the tree draws each trace as it comes in live mode, all of
// them at the end of a replay), the OTLP exporter when an endpoint is
// configured (replay waits for room in its queue instead of dropping
// spans, as nothing else waits on its engine) and the viewer's store when
// the viewer runs (ui may be nil).
func outputs(ctx context.Context, cfg Config, env Env, log *slog.Logger, replaying bool, ui *viewer) (*output.Pipeline, error) {
	w, closeW, err := openOutput(cfg.OutputFile, env.Stdout)
	if err != nil {
		return nil, err
	}
	var parts output.Parts
	if cfg.Output == "otlp-json" {
		parts.Writer = sink.NewJSON(w, closeW, cfg.Resource())
	} else {
		t := sink.NewTree(w, treeOptions(cfg, w, env))
		t.Stream = !replaying
		parts.Writer = t
	}
	if cfg.OTLP.Enabled() {
		x := cfg.OTLP
		x.Resource = cfg.Resource()
		x.WaitWhenFull = replaying
		x.Log = log
		parts.OTLP = &x
	}
	if ui != nil {
		parts.Viewer = ui.store
	}
	return output.New(ctx, parts)
}

func openOutput(path string, stdout io.Writer) (io.Writer, io.Closer, error) {
	if path == "" || path == "-" {
		return stdout, nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening output file: %w", err)
	}
	return f, f, nil
}

func treeOptions(cfg Config, out io.Writer, env Env) tree.Options {
	opt := tree.Options{Width: cfg.Width}
	f, isFile := out.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	if opt.Width == 0 && tty {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			opt.Width = w
		}
	}
	switch cfg.Color {
	case "always":
		opt.Color = true
	case "auto":
		opt.Color = tty && env.Getenv("NO_COLOR") == ""
	}
	return opt
}

func newLogger(w io.Writer, cfg Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel)) // validated
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// RunPlugin runs kspan as the kubectl plugin kubectl-kspan: kubectl kspan
// KIND/NAME is kspan show KIND/NAME.
func RunPlugin(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintln(env.Stdout, "kubectl-kspan", Version)
		return nil
	}
	return runShow(ctx, "kubectl kspan", args, env)
}
