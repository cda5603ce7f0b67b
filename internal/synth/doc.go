// Package synth makes synthetic captures of Deployment rollouts in the shape
// of the recorded ones (testdata/live-capture): kspan's capture format,
// core/v1 Events as the kubelet, the scheduler and the controllers write
// them, and object metadata with owner references and managedFields, in
// observation order with etcd revisions in that order. The engine's and
// replay's benchmarks measure kspan on them.
package synth
