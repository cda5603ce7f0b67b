// Package filter says which Events kspan exports: by namespace, involved
// object kind, reason and type, each as an include list and an exclude list.
// The engine still sees every Event, so a filtered one keeps informing
// causality (a hidden "Created pod" still makes the pod's events one trace);
// it only gets no span, and its children hang from the nearest exported
// ancestor.
package filter
