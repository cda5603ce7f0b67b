package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// The chart under test, and the manifests rendered from it.
const (
	chartDir     = "deploy/helm/kspan"
	kustomizeDir = "deploy/kustomize"
	kubectlBin   = "/usr/bin/kubectl"
)

// chartHelm is the pinned helm that make tools builds (KSPAN_HELM overrides).
func chartHelm(t *testing.T) string {
	t.Helper()
	h := os.Getenv("KSPAN_HELM")
	if h == "" {
		h = filepath.Join(env.root, ".cache", "bin", "helm")
	}
	if _, err := os.Stat(h); err != nil {
		t.Fatalf("helm not found at %s: run `make tools` (or `make helm`) first: %v", h, err)
	}
	return h
}

// chartRender runs helm template on the chart for a release in ns.
func chartRender(t *testing.T, release, ns string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(chartHelm(t), append([]string{"template", release, chartDir, "--namespace", ns}, args...)...)
	cmd.Dir = env.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %s %v: %v\n%s", release, args, err, stderr.Bytes())
	}
	return out
}

// chartObjects splits a rendering into its documents, by "Kind/name".
func chartObjects(t *testing.T, out []byte) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	for doc := range strings.SplitSeq(string(out), "\n---\n") {
		var m metav1.PartialObjectMetadata
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if m.Kind != "" {
			objs[m.Kind+"/"+m.Name] = []byte(doc)
		}
	}
	return objs
}

// kubectl runs kubectl as the cluster's admin with stdin.
func kubectl(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(kubectlBin, append([]string{"--kubeconfig", env.kubeconfig}, args...)...)
	cmd.Dir = env.root
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDeployDryRun: what the chart renders, with the default values and with
// every option (less the ServiceMonitor, whose CRD this cluster lacks), and
// the committed kustomize manifests are accepted by the apiserver (server-side
// dry run: admission, validation and defaulting, nothing stored). The
// namespace warns on the restricted Pod Security level, so a securityContext
// that does not meet it shows up as a warning.
func TestDeployDryRun(t *testing.T) {
	ns := namespace(t, "kspan")
	ctx := context.Background()
	nsObj, err := env.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/warn"] = "restricted"
	if _, err := env.client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantApplied := []string{"serviceaccount/kspan", "clusterrole.rbac.authorization.k8s.io/kspan",
		"clusterrolebinding.rbac.authorization.k8s.io/kspan", "role.rbac.authorization.k8s.io/kspan",
		"rolebinding.rbac.authorization.k8s.io/kspan", "service/kspan", "deployment.apps/kspan"}
	check := func(t *testing.T, out string, err error, want []string) {
		t.Helper()
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w+" serverside-applied (server dry run)") {
				t.Errorf("%s was not applied; kubectl said:\n%s", w, out)
			}
		}
		if strings.Contains(strings.ToLower(out), "warning") {
			t.Errorf("the apiserver warned:\n%s", out)
		}
	}
	t.Run("default-values", func(t *testing.T) {
		out, err := kubectl(t, chartRender(t, "kspan", ns), "apply", "--server-side", "--dry-run=server", "-f", "-")
		check(t, out, err, wantApplied)
	})
	t.Run("every-option", func(t *testing.T) {
		out, err := kubectl(t, chartRender(t, "kspan", ns, "-f", chartDir+"/ci/full-values.yaml", "--set", "serviceMonitor.enabled=false"),
			"apply", "--server-side", "--dry-run=server", "-f", "-")
		check(t, out, err, wantApplied)
	})
	t.Run("kustomize", func(t *testing.T) {
		out, err := kubectl(t, nil, "apply", "--server-side", "--dry-run=server", "-k", kustomizeDir)
		check(t, out, err, append([]string{"namespace/kspan"}, wantApplied...))
	})
}

// rbacIdentity is a ServiceAccount of the chart bound to its rules, and a
// kubeconfig that authenticates as it with a token from the TokenRequest API.
type rbacIdentity struct {
	ns, name   string // the ServiceAccount (and the chart's full name)
	kubeconfig string
	client     kubernetes.Interface
}

// rbacKubeconfig mints a token for the ServiceAccount ns/name and writes a
// kubeconfig that uses it: the apiserver authorizes it by RBAC alone.
func rbacKubeconfig(t *testing.T, ns, name string) *rbacIdentity {
	t.Helper()
	tr, err := env.client.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("minting a token for %s/%s: %v", ns, name, err)
	}
	ca := env.rest.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(env.rest.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: env.rest.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return &rbacIdentity{ns: ns, name: name, kubeconfig: path, client: kubernetes.NewForConfigOrDie(rc)}
}

// rbacKspan starts kspan as id with the suite's engine flags and extra ones,
// without waiting for anything.
func rbacKspan(t *testing.T, id *rbacIdentity, extra ...string) *kspanProc {
	t.Helper()
	dir := t.TempDir()
	return launchKspan(t, id.kubeconfig, filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "kspan.log"), extra...)
}

func (p *kspanProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// TestRBACShipped runs kspan under the chart's RBAC alone: the rendered
// ServiceAccount, ClusterRole, ClusterRoleBinding, Role and RoleBinding are
// applied for real, kspan authenticates with a token of that ServiceAccount,
// runs as the chart runs it (leader election, ConfigMap checkpoint) and
// traces a Deployment in another namespace without a single forbidden
// request.
func TestRBACShipped(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "rbac-shipped")
	id := applyChartRBAC(t, "rbac", ns)

	// The token really is limited: no single GET of an object, no Secrets.
	work := namespace(t, "rbac-shipped-work")
	if _, err := id.client.CoreV1().ServiceAccounts(work).Get(context.Background(), "default", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("GET of a ServiceAccount as kspan: %v, want forbidden", err)
	}
	if _, err := id.client.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets as kspan: %v, want forbidden", err)
	}

	// As the chart runs it: leader election on the Lease <fullname> and the
	// checkpoint in the ConfigMap <fullname>-checkpoint, both in ns.
	p := rbacKspan(t, id, "-leader-elect", "-leader-elect-namespace", ns, "-leader-elect-name", "rbac-kspan",
		"-checkpoint", "configmap:"+ns+"/rbac-kspan-checkpoint")
	waitFor(t, 60*time.Second, "kspan to start watching", func() (bool, string) {
		s := p.logText()
		return strings.Contains(s, "watching events"), s
	})

	ctx := context.Background()
	if _, err := env.client.AppsV1().Deployments(work).Create(ctx, newDeployment(work, "web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, work, "web")
	spans, evs := waitSpans(t, p, work)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	if rs := reasons(ts.onObject("Deployment", "web")); !slices.Contains(rs, "ScalingReplicaSet") {
		t.Errorf("the Deployment's spans: %v", rs)
	}
	p.stop(t)
	if _, err := env.client.CoordinationV1().Leases(ns).Get(ctx, "rbac-kspan", metav1.GetOptions{}); err != nil {
		t.Errorf("the Lease: %v", err)
	}
	if _, err := env.client.CoreV1().ConfigMaps(ns).Get(ctx, "rbac-kspan-checkpoint", metav1.GetOptions{}); err != nil {
		t.Errorf("the checkpoint ConfigMap: %v", err)
	}

	// Other tests leave Events about kinds the chart does not grant (a
	// ConfigMap, a Service): kspan rightly says it may not watch those. No
	// line may say so of a resource the chart grants, and nothing may be
	// forbidden.
	log := p.logText()
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "forbidden") || strings.Contains(l, "cannot check access") {
			t.Errorf("kspan's log under the chart's RBAC: %s", line)
		}
		if strings.Contains(l, "missing permission") || strings.Contains(l, "may not watch") {
			for _, granted := range []string{"events", "pods", "replicationcontrollers", "nodes", "replicasets", "deployments",
				"statefulsets", "daemonsets", "jobs", "cronjobs"} {
				if strings.Contains(l, "resource="+granted+" ") || strings.Contains(l, " "+granted+".") {
					t.Errorf("kspan's log under the chart's RBAC names a granted resource (%s): %s", granted, line)
				}
			}
		}
	}
}

// grepLines keeps the lines of s that contain sub (case-insensitive).
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(strings.ToLower(line), sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// rbacBindLess creates a ServiceAccount named name in ns bound to a copy of
// the chart's ClusterRole (and its Role) with the rules for drop removed
// ("group/resource").
func rbacBindLess(t *testing.T, ns, name string, drop ...string) *rbacIdentity {
	t.Helper()
	ctx := context.Background()
	objs := chartObjects(t, chartRender(t, name, ns))
	full := name
	if !strings.Contains(name, "kspan") {
		full = name + "-kspan"
	}
	var sa corev1.ServiceAccount
	var cr rbacv1.ClusterRole
	var crb rbacv1.ClusterRoleBinding
	var role rbacv1.Role
	var rb rbacv1.RoleBinding
	for k, into := range map[string]any{"ServiceAccount/": &sa, "ClusterRole/": &cr, "ClusterRoleBinding/": &crb, "Role/": &role, "RoleBinding/": &rb} {
		doc, ok := objs[k+full]
		if !ok {
			t.Fatalf("no %s%s in the chart's rendering", k, full)
		}
		if err := yaml.Unmarshal(doc, into); err != nil {
			t.Fatalf("%s%s: %v", k, full, err)
		}
	}
	var rules []rbacv1.PolicyRule
	removed := 0
	for _, r := range cr.Rules {
		var keep []string
		for _, res := range r.Resources {
			if slices.Contains(drop, r.APIGroups[0]+"/"+res) {
				removed++
				continue
			}
			keep = append(keep, res)
		}
		if len(keep) > 0 {
			r.Resources = keep
			rules = append(rules, r)
		}
	}
	if removed != len(drop) {
		t.Fatalf("removed %d of the rules for %v from %+v", removed, drop, cr.Rules)
	}
	cr.Rules = rules
	var err error
	if _, err = env.client.CoreV1().ServiceAccounts(ns).Create(ctx, &sa, metav1.CreateOptions{}); err == nil {
		_, err = env.client.RbacV1().ClusterRoles().Create(ctx, &cr, metav1.CreateOptions{})
	}
	if err == nil {
		_, err = env.client.RbacV1().ClusterRoleBindings().Create(ctx, &crb, metav1.CreateOptions{})
	}
	if err == nil {
		_, err = env.client.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{})
	}
	if err == nil {
		_, err = env.client.RbacV1().RoleBindings(ns).Create(ctx, &rb, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("creating the RBAC without %v: %v", drop, err)
	}
	return rbacKubeconfig(t, ns, full)
}

// TestRBACMissing: a missing permission is named. Without list and watch on
// Events kspan cannot work and exits 1 at once saying so; without
// ReplicaSets it runs on, warns once naming replicasets.apps, and still
// traces every Event (owner walks through ReplicaSets degrade to what the
// controllers' messages say).
func TestRBACMissing(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "rbac-missing")

	t.Run("events", func(t *testing.T) {
		t.Parallel()
		id := rbacBindLess(t, ns, "no-events", "/events", "events.k8s.io/events")
		p := rbacKspan(t, id)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("kspan still runs 30s after start without permission to watch Events; log:\n%s", tail([]byte(p.logText()), 40))
		}
		log := p.logText()
		if code := p.cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("kspan exited with %v (code %d), want 1", err, code)
		}
		const want = "missing permission: list, watch events.events.k8s.io cluster-wide"
		if !strings.Contains(log, want) {
			t.Errorf("kspan's error does not say %q; log:\n%s", want, tail([]byte(log), 40))
		}
		if strings.Contains(log, "watching events") {
			t.Errorf("kspan said it watches events; log:\n%s", tail([]byte(log), 40))
		}
	})

	t.Run("replicasets", func(t *testing.T) {
		t.Parallel()
		id := rbacBindLess(t, ns, "no-replicasets", "apps/replicasets")
		p := rbacKspan(t, id)
		waitFor(t, 60*time.Second, "kspan to start watching", func() (bool, string) {
			s := p.logText()
			return strings.Contains(s, "watching events"), s
		})
		work := namespace(t, "rbac-missing-rs")
		ctx := context.Background()
		if _, err := env.client.AppsV1().Deployments(work).Create(ctx, newDeployment(work, "web", 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitDeployment(t, work, "web")
		spans, evs := waitSpans(t, p, work)
		newTraceSet(t, spans).check(evs)
		if p.cmd.ProcessState != nil {
			t.Fatalf("kspan exited: %v", p.cmd.ProcessState)
		}
		p.stop(t)

		log := p.logText()
		warn := grepLines(log, "replicasets.apps")
		if n := strings.Count(warn, "level=WARN"); n != 1 || !strings.Contains(warn, "ClusterRole") ||
			!strings.Contains(warn, "missing permission: list, watch replicasets.apps cluster-wide") {
			t.Errorf("want one warning naming replicasets.apps and the ClusterRole; the log's lines about it:\n%s", warn)
		}
		if f := grepLines(log, "forbidden"); f != "" {
			t.Errorf("kspan still made forbidden requests:\n%s", tail([]byte(f), 20))
		}
	})
}

// TestHelmInstall installs the chart onto the local control plane with helm
// install --wait (two replicas with leader election, the image make image
// builds): every object it renders is created and valid, the Deployment
// becomes available (kwok runs its pods), and helm uninstall removes the
// cluster-scoped objects too. The chart defines no helm test: the image's
// own run is TestImage.
func TestHelmInstall(t *testing.T) {
	ns := namespace(t, "helm-install")
	helm := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(chartHelm(t), append(args, "--kubeconfig", env.kubeconfig)...)
		cmd.Dir = env.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	helm("install", "kspan", chartDir, "--namespace", ns, "--wait", "--timeout", "3m",
		"--set", "image.repository=localhost/kspan", "--set", "image.tag=dev", "--set", "image.pullPolicy=Never",
		"--set", "clusterName=e2e", "--set", "serviceNameFrom=component")
	if st := helm("status", "kspan", "--namespace", ns); !strings.Contains(st, "STATUS: deployed") {
		t.Errorf("helm status:\n%s", st)
	}
	ctx := context.Background()
	d, err := env.client.AppsV1().Deployments(ns).Get(ctx, "kspan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "localhost/kspan:dev" {
		t.Errorf("the Deployment: %d available, image %s; want 2, localhost/kspan:dev", d.Status.AvailableReplicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "-service-name-from=component") {
		t.Errorf("the Deployment's args %q lack -service-name-from=component", d.Spec.Template.Spec.Containers[0].Args)
	}
	for _, get := range []func() error{
		func() error {
			_, err := env.client.CoreV1().ServiceAccounts(ns).Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := env.client.CoreV1().Services(ns).Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := env.client.RbacV1().Roles(ns).Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := env.client.RbacV1().RoleBindings(ns).Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := env.client.RbacV1().ClusterRoles().Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := env.client.RbacV1().ClusterRoleBindings().Get(ctx, "kspan", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); err != nil {
			t.Errorf("an object the chart installs: %v", err)
		}
	}
	helm("uninstall", "kspan", "--namespace", ns, "--wait")
	if _, err := env.client.RbacV1().ClusterRoles().Get(ctx, "kspan", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ClusterRole after helm uninstall: %v, want not found", err)
	}
}

// applyChartRBAC applies the chart's ServiceAccount, ClusterRole,
// ClusterRoleBinding, Role and RoleBinding for release in ns for real, and
// returns an identity of that ServiceAccount (<release>-kspan).
func applyChartRBAC(t *testing.T, release, ns string) *rbacIdentity {
	t.Helper()
	rbac := chartRender(t, release, ns, "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/clusterrole.yaml",
		"--show-only", "templates/clusterrolebinding.yaml", "--show-only", "templates/role.yaml", "--show-only", "templates/rolebinding.yaml")
	if out, err := kubectl(t, rbac, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("applying the chart's RBAC: %v\n%s", err, out)
	}
	return rbacKubeconfig(t, ns, release+"-kspan")
}
