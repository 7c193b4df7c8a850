package docgen_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/docgen"
)

var update = flag.Bool("update", false, "rewrite docs/controls from the registry")

// docs/controls holds exactly one current page per registered control,
// and the index.
func TestControlDocsAreCurrent(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "controls")
	want := map[string]string{"README.md": docgen.Index(controls.All())}
	for _, c := range controls.All() {
		want[c.Info().ID+".md"] = docgen.Page(c)
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for _, f := range old {
			if _, ok := want[filepath.Base(f)]; !ok {
				os.Remove(f)
			}
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != text {
			t.Errorf("docs/controls/%s is not current (run go generate ./internal/docgen and commit it): %v", name, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("docs/controls/%s documents no registered control: remove it (go generate ./internal/docgen)", filepath.Base(f))
		}
	}
}

// Every page names its control's Security Hub ids and IAM actions.
func TestPagesAreComplete(t *testing.T) {
	for _, c := range controls.All() {
		in := c.Info()
		page := docgen.Page(c)
		for _, s := range append(append(append([]string(nil), in.SecurityHub...), in.ReadActions...), in.WriteActions...) {
			if !strings.Contains(page, s) {
				t.Errorf("%s's page lacks %s", in.ID, s)
			}
		}
	}
}
