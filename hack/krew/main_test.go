package main

import (
	"bytes"
	"testing"

	"sigs.k8s.io/yaml"
)

// The manifest is a krew Plugin (v1alpha2) with one platform per archive,
// each selecting its os and arch and running kubectl-kspan.
func TestManifest(t *testing.T) {
	var b bytes.Buffer
	ps := []platform{{"linux", "amd64", "https://example.com/v1/a.tar.gz", "aa"}, {"darwin", "arm64", "https://example.com/v1/b.tar.gz", "bb"}}
	if err := Manifest(&b, "v1.2.3", ps); err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Metadata   struct{ Name string }
		Spec       struct {
			Version               string
			ShortDescription      string `json:"shortDescription"`
			Description, Homepage string
			Platforms             []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				}
				URI, SHA256, Bin string
			}
		}
	}
	if err := yaml.UnmarshalStrict(b.Bytes(), &m); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "kspan" ||
		m.Spec.Version != "v1.2.3" || m.Spec.ShortDescription == "" || len(m.Spec.Platforms) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	for i, p := range m.Spec.Platforms {
		if p.Selector.MatchLabels["os"] != ps[i].OS || p.Selector.MatchLabels["arch"] != ps[i].Arch ||
			p.URI != ps[i].URI || p.SHA256 != ps[i].SHA256 || p.Bin != "kubectl-kspan" {
			t.Errorf("platform %d: %+v", i, p)
		}
	}
}
