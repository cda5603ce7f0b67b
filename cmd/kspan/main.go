// Command kspan turns Kubernetes Events into OpenTelemetry traces.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kspan-project/kspan/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	run := cli.Run
	if plugin(os.Args[0]) {
		run = cli.RunPlugin
	}
	err := run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kspan:", err)
	}
	os.Exit(cli.ExitCode(err))
}

// plugin says the binary runs as kubectl's plugin: named kubectl-kspan (a
// copy or a link), kubectl kspan KIND/NAME runs it.
func plugin(arg0 string) bool {
	name := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	return name == "kubectl-kspan"
}
