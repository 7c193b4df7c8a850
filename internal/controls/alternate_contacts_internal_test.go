package controls

import (
	"testing"

	"github.com/harden-dev/harden/internal/control"
)

func TestContactVerdict(t *testing.T) {
	harden := contactState{Type: "SECURITY", Name: "Sec", Title: "T", Email: "s@example.com", Phone: "1"}
	old := contactState{Type: "SECURITY", Name: "Old", Title: "T", Email: "o@example.com", Phone: "2"}
	other := contactState{Type: "SECURITY", Name: "Other", Title: "T", Email: "x@example.com", Phone: "3"}
	none := contactPrior{}
	had := contactPrior{Exists: true, Contact: old}
	for _, tc := range []struct {
		name    string
		current contactState
		exists  bool
		prior   contactPrior
		want    control.Verdict
	}{
		{"still harden's, none before", harden, true, none, control.Restore},
		{"still harden's, one before", harden, true, had, control.Restore},
		{"removed, none before", contactState{}, false, none, control.Already},
		{"prior back", old, true, had, control.Already},
		{"removed, one before", contactState{}, false, had, control.Drifted},
		{"changed, none before", other, true, none, control.Drifted},
		{"changed, one before", other, true, had, control.Drifted},
	} {
		if got := contactVerdict(tc.current, tc.exists, harden, tc.prior); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestPutVerdict(t *testing.T) {
	for _, tc := range []struct {
		name                                 string
		exists, isAfter, isPrior, priorExist bool
		want                                 control.Verdict
	}{
		{"harden's, created", true, true, false, false, control.Restore},
		{"harden's, replaced one", true, true, false, true, control.Restore},
		{"gone, created", false, false, false, false, control.Already},
		{"prior back", true, false, true, true, control.Already},
		{"gone, replaced one", false, false, false, true, control.Drifted},
		{"changed", true, false, false, true, control.Drifted},
		{"changed, created", true, false, false, false, control.Drifted},
	} {
		if got := putVerdict(tc.exists, tc.isAfter, tc.isPrior, tc.priorExist); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
