package planfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/regions"
)

type settings struct {
	Days int `yaml:"days"`
}

func (s *settings) Validate() error { return nil }

// ctl is a control that only has an id.
type ctl struct{ control.Control }

func (ctl) Info() control.Info { return control.Info{ID: "ebs", Scope: control.Regional} }

func results() []engine.Result {
	ebs := control.Info{ID: "ebs", Scope: control.Regional}
	return []engine.Result{
		{Control: ebs, Region: "eu-west-1", Status: engine.NonCompliant, Action: control.ActionUpdate,
			Changes: []control.Change{{Field: "on", Current: "false", Desired: "true"}}},
		{Control: ebs, Region: "us-east-1", Status: engine.Compliant},
	}
}

func TestRoundTripAndStale(t *testing.T) {
	f, err := New("v1", "2026-11-24T00:00:00Z", "123456789012", "us-east-1",
		regions.Set{Enabled: []string{"eu-west-1", "us-east-1"}}, []control.Control{ctl{}},
		map[string]control.ControlSettings{"ebs": &settings{Days: 9}}, results())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := back.Stale(results()); len(s) != 0 {
		t.Fatalf("same account is stale: %v", s)
	}
	now := results()
	now[0].Changes[0].Current = "maybe"
	now[1].Status = engine.NonCompliant
	now = append(now, engine.Result{Control: control.Info{ID: "ebs"}, Region: "eu-west-2", Status: engine.Compliant})
	s := back.Stale(now)
	if len(s) != 3 || !strings.Contains(s[0], "ebs in eu-west-1: was update (on: false -> true), now update (on: maybe -> true)") ||
		!strings.Contains(s[1], "ebs in us-east-1: was compliant, now noncompliant") || !strings.Contains(s[2], "eu-west-2: not in the plan") {
		t.Fatalf("stale: %q", s)
	}
	if s := back.Stale(results()[:1]); len(s) != 1 || !strings.Contains(s[0], "no longer checked") {
		t.Fatalf("missing target: %q", s)
	}
	got := map[string]control.ControlSettings{"ebs": &settings{}}
	if err := back.ApplySettings(got); err != nil || got["ebs"].(*settings).Days != 9 {
		t.Fatalf("settings: %v %+v", err, got["ebs"])
	}
	os.WriteFile(path, []byte(`{"schema":"harden.plan/v0"}`), 0o644)
	if _, err := Read(path); err == nil {
		t.Fatal("read a plan of another schema")
	}
	if why := Unsaveable([]engine.Result{{Control: control.Info{ID: "x"}, Region: "r", Status: engine.Error}}); why == "" {
		t.Fatal("an errored plan is saveable")
	}
}
