package controls_test

import (
	"os"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/controls"
)

// The README's control and IAM tables must name every control and every
// IAM action it needs, so the front door stays true as controls change.
func TestREADMEListsEveryControlAndAction(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range controls.All() {
		i := c.Info()
		var row string
		for _, line := range strings.Split(readme, "\n") {
			if strings.HasPrefix(line, "| `"+i.ID+"` |") && strings.Contains(line, i.ReadActions[0]) {
				row = line
			}
		}
		if row == "" {
			t.Errorf("README has no IAM permissions row for %s", i.ID)
			continue
		}
		for _, a := range append(append([]string(nil), i.ReadActions...), i.WriteActions...) {
			if !strings.Contains(row, "`"+a+"`") {
				t.Errorf("README's row for %s does not list %s", i.ID, a)
			}
		}
		for _, id := range i.SecurityHub {
			if !strings.Contains(readme, id) {
				t.Errorf("README does not mention %s's Security Hub id %s", i.ID, id)
			}
		}
	}
}
