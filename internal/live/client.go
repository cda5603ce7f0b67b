package live

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientOptions says how to reach the cluster, as kubectl does.
type ClientOptions struct {
	// Kubeconfig is an explicit kubeconfig path; "" means KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account.
	Kubeconfig string
	// Context overrides the kubeconfig's current context.
	Context string
	// QPS and Burst bound kspan's own API requests (lists, watches,
	// discovery); 0 keeps client-go's defaults.
	QPS   float32
	Burst int
}

// RESTConfig loads the client configuration.
func RESTConfig(o ClientOptions) (*rest.Config, error) {
	cfg, err := o.loader().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	// client-go's defaults (5/s, burst 10) make the start-up access
	// reviews and informer lists queue; kspan's requests do not grow with
	// events, so a little more is safe.
	cfg.QPS, cfg.Burst = 20, 40
	// Watches are long streams of small objects from a nearby apiserver:
	// gunzipping them cost about a sixth of kspan's CPU in the live
	// benchmark, for little saved on the wire.
	cfg.DisableCompression = true
	if o.QPS > 0 {
		cfg.QPS = o.QPS
	}
	if o.Burst > 0 {
		cfg.Burst = o.Burst
	}
	cfg.UserAgent = "kspan"
	return cfg, nil
}

// loader finds the kubeconfig and context o names, as kubectl does.
func (o ClientOptions) loader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
}

// Clientset is a typed client of the cluster o names (RESTConfig's).
func Clientset(o ClientOptions) (kubernetes.Interface, error) {
	cfg, err := RESTConfig(o)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return client, nil
}
