// Package e2e holds kspan's end-to-end tests: a real Kubernetes control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) that
// the tests start themselves on 127.0.0.1 with hack/cluster.sh, the real
// kspan binary watching it, and workloads whose traces are checked for
// structure. There is no skip: when the environment cannot start, the tests
// fail and say why.
package e2e
