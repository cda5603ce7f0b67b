package live

import (
	"context"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// informerVerbs are what an informer needs on its resource: one list, then a
// watch (and a relist after an expired watch).
var informerVerbs = []string{"list", "watch"}

// accessTimeout bounds the access reviews of one resource.
const accessTimeout = 10 * time.Second

// MissingPermissionError says which verbs kspan may not use on a resource,
// cluster-wide: its informers would fail every list and watch.
type MissingPermissionError struct {
	Verbs    []string
	Resource schema.GroupResource
}

func (e *MissingPermissionError) Error() string {
	return fmt.Sprintf("missing permission: %s %s cluster-wide", strings.Join(e.Verbs, ", "), e.Resource)
}

// checkAccess asks the apiserver, with SelfSubjectAccessReviews, whether
// kspan's identity may use each verb on gr in all namespaces. It returns a
// *MissingPermissionError naming the verbs denied, or another error when the
// reviews themselves failed (then nothing is known about the access).
func checkAccess(ctx context.Context, client kubernetes.Interface, gr schema.GroupResource, verbs ...string) error {
	ctx, cancel := context.WithTimeout(ctx, accessTimeout)
	defer cancel()
	var denied []string
	for _, verb := range verbs {
		r, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: gr.Group, Resource: gr.Resource,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("checking access to %s %s: %w", verb, gr, err)
		}
		if !r.Status.Allowed || r.Status.Denied {
			denied = append(denied, verb)
		}
	}
	if len(denied) > 0 {
		return &MissingPermissionError{Verbs: denied, Resource: gr}
	}
	return nil
}
