package controls

import (
	"strings"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
)

func TestAnalyzerNotCreatedBy(t *testing.T) {
	const arn = "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/harden-access-analyzer"
	at := time.Date(2026, 1, 1, 0, 0, 0, 5e6, time.UTC)
	later := at.Add(time.Millisecond)
	recorded := analyzerCreated{ARN: arn, CreatedAt: &at}
	for _, tc := range []struct {
		name    string
		seen    analyzerSeen
		created analyzerCreated
		why     string
	}{
		{"harden's", analyzerSeen{arn, &at, control.Tags("r1")}, recorded, ""},
		{"other ARN", analyzerSeen{arn + "x", &at, control.Tags("r1")}, recorded, "its ARN is"},
		{"no managed-by tag", analyzerSeen{arn, &at, map[string]string{"owner": "security-team"}}, recorded, "lacks harden's tag"},
		{"managed-by someone else", analyzerSeen{arn, &at, map[string]string{"managed-by": "terraform"}}, recorded, "lacks harden's tag"},
		{"other run", analyzerSeen{arn, &at, control.Tags("r2")}, recorded, "created by harden run r2, not r1"},
		{"recreated", analyzerSeen{arn, &later, control.Tags("r1")}, recorded, "was created at"},
		{"no creation time read", analyzerSeen{arn, nil, control.Tags("r1")}, recorded, "an unknown time"},
		{"format 1: no run tag, no creation time", analyzerSeen{arn, &later, map[string]string{"managed-by": "harden"}}, analyzerCreated{ARN: arn}, ""},
		{"no ARN recorded", analyzerSeen{arn, &at, control.Tags("r1")}, analyzerCreated{}, "records no ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := tc.seen.notCreatedBy(tc.created, "r1")
			if (why == "") != (tc.why == "") || !strings.Contains(why, tc.why) {
				t.Fatalf("notCreatedBy = %q, want %q", why, tc.why)
			}
		})
	}
}
