package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process under measurement.
type proc struct {
	path string
	cmd  *exec.Cmd
	log  string
	out  bytes.Buffer
	done chan error
}

func startProc(log, path string, args ...string) (*proc, error) {
	return startProcEnv(nil, log, path, args...)
}

// startProcEnv starts a process with env added to this one's.
func startProcEnv(env []string, log, path string, args ...string) (*proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	p := &proc{path: filepath.Base(path), log: log, done: make(chan error, 1)}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
	return p, nil
}

func (p *proc) logContains(s string) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte(s))
}

// exited is an error once the process has ended early.
func (p *proc) exited() error {
	if p.cmd.ProcessState != nil {
		return fmt.Errorf("%s exited (log: %s)", p.path, p.log)
	}
	return nil
}

// stop sends SIGTERM and waits; it returns the number the process printed.
func (p *proc) stop() (int64, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return 0, fmt.Errorf("%s: %w (log: %s)", p.path, err, p.log)
		}
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("%s did not stop within 30s", p.path)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(p.out.String()), 10, 64)
	return n, nil
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
	}
}

// usage reads a process's CPU seconds (user + system) and peak RSS (MB).
func usage(pid int, ticks float64) (cpu, rssMB float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			rssMB = kb / 1024
		}
	}
	return (ut + st) / ticks, rssMB, nil
}
