package controls

import "testing"

func TestCompareStepFields(t *testing.T) {
	cases := []struct {
		name   string
		fields []stepField
		state  fieldsState
		drift  string
	}{
		{name: "no fields", state: fieldsAsBefore},
		{name: "as left", fields: []stepField{{"logging", "false", "true", "true"}}, state: fieldsAsLeft},
		{name: "back to prior", fields: []stepField{{"logging", "false", "true", "false"}}, state: fieldsAsBefore},
		{name: "left as it was", fields: []stepField{{"selectors", "x", "x", "x"}}, state: fieldsAsBefore},
		{name: "changed to a third value", fields: []stepField{{"KMS key", "none", "k1", "k2"}}, state: fieldsDrifted,
			drift: "KMS key: harden set k1, now k2"},
		{name: "one of two back", fields: []stepField{
			{"log file validation", "false", "true", "false"},
			{"KMS key", "none", "k1", "k1"},
		}, state: fieldsDrifted, drift: "log file validation: harden set true, now false"},
		{name: "both back", fields: []stepField{
			{"log file validation", "false", "true", "false"},
			{"KMS key", "none", "k1", "none"},
		}, state: fieldsAsBefore},
		{name: "two changed", fields: []stepField{
			{"multi-region", "none", "true", "false"},
			{"S3 bucket", "none", "b", "c"},
		}, state: fieldsDrifted, drift: "multi-region: harden set true, now false; S3 bucket: harden set b, now c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, drift := compareStepFields(tc.fields)
			if state != tc.state || drift != tc.drift {
				t.Fatalf("got %v %q, want %v %q", state, drift, tc.state, tc.drift)
			}
		})
	}
}

func TestTrailOwnershipNotCreatedBy(t *testing.T) {
	cases := []struct {
		name  string
		owner trailOwnership
		run   string
		why   string
	}{
		{name: "this run", owner: trailOwnership{Exists: true, Harden: true, RunID: "r1"}, run: "r1"},
		{name: "older harden without run tag", owner: trailOwnership{Exists: true, Harden: true}, run: "r1"},
		{name: "any run", owner: trailOwnership{Exists: true, Harden: true, RunID: "r1"}},
		{name: "another run", owner: trailOwnership{Exists: true, Harden: true, RunID: "r2"}, run: "r1",
			why: "it was created by harden run r2, not r1"},
		{name: "untagged", owner: trailOwnership{Exists: true, RunID: "r1"}, run: "r1", why: "it lacks harden's tag managed-by=harden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if why := tc.owner.notCreatedBy(tc.run); why != tc.why {
				t.Fatalf("got %q, want %q", why, tc.why)
			}
		})
	}
}
