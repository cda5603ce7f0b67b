// Package rollout decides a workload rollout's outcome from the status its
// controller publishes: complete, failed, or not yet (in progress), with the
// criteria `kubectl rollout status` uses. It is pure: no I/O, no clock.
// docs/rollouts.md describes what kspan does with it.
package rollout
