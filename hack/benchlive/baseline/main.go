// Command baseline is the live benchmark's yardstick: what any watcher of
// a cluster's Events pays. It runs one client-go shared informer on
// events.k8s.io/v1 Events (the API kspan reads), counts what it receives,
// and prints the count when SIGTERM stops it. It keeps nothing else.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: baseline KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Args[1])
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 20, 40 // as kspan's client
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var n atomic.Int64
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Events().V1().Events().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { n.Add(1) },
		UpdateFunc: func(_, _ any) { n.Add(1) },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		fmt.Fprintln(os.Stderr, "baseline: watching events")
	}
	<-ctx.Done()
	f.Shutdown()
	fmt.Println(n.Load())
	return nil
}
