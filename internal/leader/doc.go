// Package leader runs kspan's work on one replica at a time, with
// client-go's leader election on a coordination.k8s.io Lease.
//
// The other replicas wait, answer their probes, and take over when the
// leader stops or its lease runs out. A leader told to stop (SIGTERM)
// finishes its work first (exports what it holds, saves the checkpoint)
// and only then releases the lease, so that its successor starts from a
// checkpoint that has everything it exported. A leader that loses the
// lease (it could not renew it in time) stops at once without exporting
// more: the next leader may already be exporting.
package leader
