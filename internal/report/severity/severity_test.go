package severity_test

import (
	"testing"

	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/report/severity"
)

// Every registered control's Security Hub ids have a severity, so that
// every finding carries one.
func TestEveryControlHasASeverity(t *testing.T) {
	for _, c := range controls.All() {
		in := c.Info()
		if severity.OfControl(in.ID, in.SecurityHub) == severity.None {
			t.Errorf("%s has no severity: name its Security Hub controls, or give it one in withoutSecurityHub", in.ID)
		}
		for _, id := range in.SecurityHub {
			if _, ok := severity.OfSecurityHub(id); !ok {
				t.Errorf("%s: Security Hub control %s is not in the severity table (internal/report/severity)", in.ID, id)
			}
		}
	}
}

func TestOf(t *testing.T) {
	cases := []struct {
		ids  []string
		want severity.Severity
	}{
		{[]string{"IAM.7", "IAM.15", "IAM.16"}, severity.Medium},
		{[]string{"CloudTrail.1", "CloudTrail.4"}, severity.High},
		{[]string{"Config.1"}, severity.Critical},
		{[]string{"CloudTrail.4"}, severity.Low},
		{nil, severity.None},
		{[]string{"Nope.1"}, severity.None},
	}
	for _, c := range cases {
		if got := severity.Of(c.ids); got != c.want {
			t.Errorf("Of(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
}

func TestThreshold(t *testing.T) {
	if !severity.High.AtLeast(severity.Medium) || severity.Low.AtLeast(severity.Medium) ||
		!severity.None.AtLeast(severity.Low) || severity.None.AtLeast(severity.Medium) {
		t.Fatal("AtLeast ordering")
	}
	if _, err := severity.Parse("urgent"); err == nil {
		t.Fatal("Parse accepted an unknown severity")
	}
	if s, _ := severity.Parse(" HIGH "); s != severity.High {
		t.Fatalf("Parse(HIGH) = %q", s)
	}
}
