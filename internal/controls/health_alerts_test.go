package controls_test

import (
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
)

// AWS Health's global events arrive in us-east-1 only: a run that leaves
// it out says so on the home target, compliant or not, and a run that
// covers it (or a target that does not say) has no such note.
func TestHealthAlertsNamesUncoveredGlobalRegion(t *testing.T) {
	_, cenv := alertsEnv(t, "security@example.com")
	home := func(regions ...string) control.Target {
		return control.Target{AccountID: fakeaws.DefaultAccountID, Region: "eu-west-1", HomeRegion: "eu-west-1", Regions: regions}
	}
	j := &controltest.MemJournal{}
	if _, err := (controls.SecurityAlerts{}).Apply(ctx, cenv, home("eu-west-1"), j.For("security-alerts", "eu-west-1")); err != nil {
		t.Fatal(err)
	}
	c := controls.HealthAlerts{}
	for _, tc := range []struct {
		name     string
		target   control.Target
		wantNote bool
	}{
		{"us-east-1 left out", home("eu-west-1", "eu-central-1"), true},
		{"us-east-1 covered", home("eu-west-1", "us-east-1"), false},
		{"regions unknown", home(), false},
		{"not the home region", control.Target{AccountID: fakeaws.DefaultAccountID, Region: "eu-central-1", HomeRegion: "eu-west-1",
			Regions: []string{"eu-west-1", "eu-central-1"}}, false},
	} {
		f, err := c.Check(ctx, cenv, tc.target)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.Contains(f.Note, "arrive only in us-east-1"); got != tc.wantNote {
			t.Errorf("%s: note %q, want the us-east-1 note: %v", tc.name, f.Note, tc.wantNote)
		}
	}
	// Compliant after apply, the note stays: it is about the run's regions.
	if _, err := c.Apply(ctx, cenv, home("eu-west-1"), j.For("health-alerts", "eu-west-1")); err != nil {
		t.Fatal(err)
	}
	f, err := c.Check(ctx, cenv, home("eu-west-1"))
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "arrive only in us-east-1") {
		t.Fatalf("after apply: %+v %v", f, err)
	}
}
