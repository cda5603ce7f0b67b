// Command etcd is a thin wrapper around etcd's own main package, so that etcd can be built
// from the Go module proxy at a pinned version without touching the project's go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
