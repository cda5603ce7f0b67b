package live

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
)

// ListRequest names an object as kubectl does: a resource (deploy,
// deployment, deployments.apps...), a name, and a namespace ("" for the
// kubeconfig context's, else default; ignored for a cluster-scoped kind).
type ListRequest struct {
	Resource, Name, Namespace string
}

// ObjectRef is the object a ListRequest named. UID is empty when the
// apiserver no longer has it (its Events may still be there).
type ObjectRef struct {
	Kind, Namespace, Name, UID string
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Listed is what ListFor read: the object and the records of the lists.
type Listed struct {
	Object  ObjectRef
	Records []record.Record
}

// workloadResources are listed beside the object in its namespace: what
// owns and what is owned by the objects that roll out.
var workloadResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "batch", Version: "v1", Resource: "cronjobs"},
}

// eventsResource is core/v1 Events, as kubectl get events lists them.
var eventsResource = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// listPage is how many items each list request asks for.
const listPage = 500

// ListFor finds the object req names and lists, as they are now, the
// Events of its namespace (of every namespace for a cluster-scoped object),
// the objects of its kind there and the workload objects there
// (workloadResources), decoded as kspan replay decodes kubectl output. It
// watches nothing. A list the credentials may not read is warned about and
// left out.
func ListFor(ctx context.Context, o ClientOptions, req ListRequest, log *slog.Logger) (Listed, error) {
	var out Listed
	cfg, err := RESTConfig(o)
	if err != nil {
		return out, err
	}
	cfg.UserAgent = "kspan-show"
	ns := req.Namespace
	if ns == "" {
		if ns, _, err = o.loader().Namespace(); err != nil {
			return out, fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return out, fmt.Errorf("discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(disc)
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(req.Resource).WithVersion(""))
	if err != nil {
		return out, fmt.Errorf("the server has no resource %q: %w", req.Resource, err)
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return out, fmt.Errorf("kind of %s: %w", gvr, err)
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return out, fmt.Errorf("mapping of %s: %w", gvk, err)
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	if !namespaced {
		ns = ""
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return out, fmt.Errorf("dynamic client: %w", err)
	}
	out.Object = ObjectRef{Kind: gvk.Kind, Namespace: ns, Name: req.Name}
	obj, err := dyn.Resource(mapping.Resource).Namespace(ns).Get(ctx, req.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		log.Warn("the object is not there (deleted?): drawing what its Events say", "object", out.Object.String())
	case err != nil:
		return out, fmt.Errorf("getting %s: %w", out.Object, err)
	default:
		out.Object.UID = string(obj.GetUID())
	}

	lists := []schema.GroupVersionResource{mapping.Resource}
	if namespaced {
		for _, w := range workloadResources {
			if w != mapping.Resource {
				lists = append(lists, w)
			}
		}
	}
	lists = append(lists, eventsResource)
	for _, r := range lists {
		recs, err := listAll(ctx, dyn, r, ns, log)
		if err != nil {
			return out, err
		}
		out.Records = append(out.Records, recs...)
	}
	return out, nil
}

// listAll lists resource r in namespace ns ("": all), a page at a time,
// decoding each page as kubectl output.
func listAll(ctx context.Context, dyn dynamic.Interface, r schema.GroupVersionResource, ns string, log *slog.Logger) ([]record.Record, error) {
	var recs []record.Record
	opts := metav1.ListOptions{Limit: listPage}
	for {
		list, err := dyn.Resource(r).Namespace(ns).List(ctx, opts)
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			log.Warn("cannot list; drawing without them", "resource", r.GroupResource().String(), "namespace", ns, "error", err)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", r.GroupResource(), err)
		}
		b, err := list.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encoding the list of %s: %w", r.GroupResource(), err)
		}
		got, probs := decode.Read(bytes.NewReader(b), "apiserver "+r.GroupResource().String())
		for _, p := range probs {
			log.Warn("skipped an item the apiserver listed", "where", p.Source, "error", p.Err)
		}
		recs = append(recs, got...)
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return recs, nil
		}
	}
}
