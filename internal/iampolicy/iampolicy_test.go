package iampolicy_test

import (
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/iampolicy"
)

func infos() []control.Info {
	var out []control.Info
	for _, c := range controls.All() {
		out = append(out, c.Info())
	}
	return out
}

// plan's policy has every read action of every control and no write
// action; apply's adds every write action.
func TestBuild(t *testing.T) {
	plan := iampolicy.Build(infos(), iampolicy.Plan).Actions()
	apply := iampolicy.Build(infos(), iampolicy.Apply).Actions()
	has := func(list []string, a string) bool {
		for _, x := range list {
			if x == a {
				return true
			}
		}
		return false
	}
	for _, in := range infos() {
		for _, a := range in.ReadActions {
			if !has(plan, a) || !has(apply, a) {
				t.Errorf("%s: read action %s missing", in.ID, a)
			}
		}
		for _, a := range in.WriteActions {
			if !has(apply, a) {
				t.Errorf("%s: write action %s missing from apply", in.ID, a)
			}
		}
	}
	for _, a := range plan {
		if strings.Contains(a, ":Put") || strings.Contains(a, ":Create") || strings.Contains(a, ":Delete") {
			t.Errorf("plan policy allows a write: %s", a)
		}
	}
	doc := iampolicy.Build(infos()[:1], iampolicy.Rollback)
	if doc.Version != "2012-10-17" || len(doc.Statement) != 2 || doc.Statement[1].Sid != "IamPasswordPolicy" {
		t.Errorf("rollback policy for one control: %+v", doc)
	}
	if _, err := iampolicy.ParseFor("delete"); err == nil {
		t.Error("ParseFor accepted delete")
	}
}
