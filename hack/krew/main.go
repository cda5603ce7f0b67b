// Command krew builds the kubectl-kspan archives of a release and the krew
// plugin manifest that installs them: go run ./hack/krew -version v0.1.0.
// The archives and kspan.yaml go to -out (dist/); a release uploads the
// archives where -base-url says, and the manifest goes to a krew index (or
// kubectl krew install --manifest=dist/kspan.yaml --archive=dist/ARCHIVE).
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

func main() {
	version := flag.String("version", "v0.1.0", "the release's version (a tag)")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64", "GOOS/GOARCH pairs, comma-separated")
	out := flag.String("out", "dist", "where the archives and the manifest go")
	base := flag.String("base-url", "https://github.com/kspan-project/kspan/releases/download", "the releases' download URL; the version and archive name are appended")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	var ps []platform
	for p := range strings.SplitSeq(*platforms, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok {
			log.Fatalf("platform %q: want GOOS/GOARCH", p)
		}
		archive := fmt.Sprintf("kubectl-kspan_%s_%s_%s.tar.gz", *version, goos, goarch)
		sum, err := build(goos, goarch, *version, filepath.Join(*out, archive))
		if err != nil {
			log.Fatalf("%s/%s: %v", goos, goarch, err)
		}
		ps = append(ps, platform{OS: goos, Arch: goarch, URI: *base + "/" + *version + "/" + archive, SHA256: sum})
		log.Printf("%s %s", archive, sum)
	}
	f, err := os.Create(filepath.Join(*out, "kspan.yaml"))
	if err != nil {
		log.Fatal(err)
	}
	if err := Manifest(f, *version, ps); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s", f.Name())
}

// platform is one archive of the manifest.
type platform struct {
	OS, Arch, URI, SHA256 string
}

// build compiles kubectl-kspan for goos/goarch as the image is built and
// writes it, alone, to a gzipped tar at path; it returns the archive's
// SHA-256.
func build(goos, goarch, version, path string) (string, error) {
	dir, err := os.MkdirTemp("", "krew")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "kubectl-kspan")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "grpcnotrace",
		"-ldflags", "-s -w -X github.com/kspan-project/kspan/internal/cli.Version="+version, "-o", bin, "./cmd/kspan")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(f, h))
	tw := tar.NewWriter(gz)
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "kubectl-kspan", Mode: 0o755, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
		return "", err
	}
	if _, err := tw.Write(b); err != nil {
		return "", err
	}
	for _, c := range []io.Closer{tw, gz, f} {
		if err := c.Close(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Manifest writes the krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2).
func Manifest(w io.Writer, version string, ps []platform) error {
	return manifest.Execute(w, struct {
		Version   string
		Platforms []platform
	}{version, ps})
}

var manifest = template.Must(template.New("kspan.yaml").Parse(`apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: kspan
spec:
  version: {{.Version}}
  homepage: https://github.com/kspan-project/kspan
  shortDescription: Draw an object's recent changes as traces from its Events
  description: |
    kubectl kspan KIND/NAME lists the Events and workload objects the apiserver
    holds for an object's namespace and draws what each recent change of the
    object did (a Deployment's rollouts: the ReplicaSets scaled, the pods
    created, scheduled, pulled and started, with their timings) as text
    waterfalls, or as OTLP/JSON (-o otlp-json), or in a browser (-ui).
    It lists, watches nothing and installs nothing in the cluster.
  platforms:
{{- range .Platforms}}
  - selector:
      matchLabels:
        os: {{.OS}}
        arch: {{.Arch}}
    uri: {{.URI}}
    sha256: {{.SHA256}}
    bin: kubectl-kspan
{{- end}}
`))
