// Package rules is the table of controller Events that are reported on one
// object but are about a sub-object named in their message: "Scaled up
// replica set R" on a Deployment is about ReplicaSet R, "Created pod: P" on a
// ReplicaSet is about Pod P. The correlation engine makes such an event the
// parent of the sub-object's own events. Rules are data: adding a controller
// means adding a row, not code.
package rules
