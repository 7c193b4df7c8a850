package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const analyzerRegion = "eu-west-1"

// createUserAnalyzer makes an ACCOUNT analyzer as a user would, and
// returns its ARN.
func createUserAnalyzer(t *testing.T, env *fakeawstest.Env, name string, tags map[string]string) string {
	t.Helper()
	out, err := env.Clients.AccessAnalyzer(analyzerRegion).CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String(name), Type: aatypes.TypeAccount, Tags: tags})
	if err != nil {
		t.Fatalf("user's analyzer %s: %v", name, err)
	}
	return aws.ToString(out.Arn)
}

func deleteAnalyzer(t *testing.T, env *fakeawstest.Env, name string) {
	t.Helper()
	if _, err := env.Clients.AccessAnalyzer(analyzerRegion).DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String(name)}); err != nil {
		t.Fatalf("delete analyzer %s: %v", name, err)
	}
}

// analyzerTags reads the tags of the analyzer named name; it fails the
// test when there is none.
func analyzerTags(t *testing.T, env *fakeawstest.Env, name string) map[string]string {
	t.Helper()
	out, err := env.Clients.AccessAnalyzer(analyzerRegion).GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String(name)})
	if err != nil {
		t.Fatalf("analyzer %s: %v", name, err)
	}
	return out.Analyzer.Tags
}

// appliedAnalyzerStep applies access-analyzer in eu-west-1 and returns its
// one step.
func appliedAnalyzerStep(t *testing.T, env *fakeawstest.Env) (controls.AccessAnalyzer, *control.Env, control.Target, control.Step) {
	t.Helper()
	c := controls.AccessAnalyzer{}
	cenv := &control.Env{AWS: env.Clients}
	tg := target(c, analyzerRegion)
	return c, cenv, tg, appliedJournal(t, c, cenv, tg).Entries[0].Step
}

// Issue 6, finding 1: after apply, the user raised the minimum password
// length to 20 and replaced harden's analyzer with their own of the same
// name. Both undos are drift; neither the policy nor the analyzer changes.
func TestRollbackLeavesUsersNewerPolicyAndAnalyzer(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	policy := controls.IAMPasswordPolicy{}
	policyStep := appliedJournal(t, policy, cenv, target(policy, "")).Entries[0].Step
	analyzer, _, analyzerTarget, analyzerStep := appliedAnalyzerStep(t, env)

	setPasswordPolicy(t, env, hardenPolicyRaisedTo20)
	deleteAnalyzer(t, env, controls.AnalyzerName)
	createUserAnalyzer(t, env, controls.AnalyzerName, map[string]string{"owner": "security-team"})
	users := env.Server.Snapshot()
	env.Server.ResetLog()

	u := undoVerdict(t, policy, cenv, target(policy, ""), policyStep)
	if u.Verdict != control.Drifted || u.What != "MinimumPasswordLength: harden set 14, now 20" {
		t.Fatalf("password policy undo = %s %q", u.Verdict, u.What)
	}
	u = undoVerdict(t, analyzer, cenv, analyzerTarget, analyzerStep)
	if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, "lacks harden's tag managed-by=harden") {
		t.Fatalf("analyzer undo = %s %q (force possible: %v), want drift that --force cannot undo", u.Verdict, u.What, u.Do != nil)
	}
	for _, undo := range []struct {
		c    control.Control
		tg   control.Target
		step control.Step
	}{{policy, target(policy, ""), policyStep}, {analyzer, analyzerTarget, analyzerStep}} {
		var drift *controltest.DriftError
		if err := controltest.Undo(ctx, undo.c, cenv, undo.tg, undo.step); !errors.As(err, &drift) {
			t.Fatalf("%s undo = %v, want drift", undo.c.Info().ID, err)
		}
	}
	if w := env.Server.Writes(); len(w) != 0 || string(env.Server.Snapshot()) != string(users) {
		t.Fatalf("rollback changed the user's settings: %+v", w)
	}
	if minimumPasswordLength(t, env) != 20 || analyzerTags(t, env, controls.AnalyzerName)["owner"] != "security-team" {
		t.Fatal("the user's policy or analyzer is gone")
	}
}

// Issue 6, finding 2: a hand-written CreateAnalyzer step naming the user's
// analyzer never deletes it, whatever ARN it records.
func TestHandWrittenStepNeverDeletesUsersAnalyzer(t *testing.T) {
	env := fakeawstest.Start(t)
	c := controls.AccessAnalyzer{}
	cenv := &control.Env{AWS: env.Clients}
	tg := target(c, analyzerRegion)
	arn := createUserAnalyzer(t, env, "org-standard", map[string]string{"owner": "security-team"})
	users := env.Server.Snapshot()
	prior := []byte(`{"name":"org-standard"}`)
	for _, tc := range []struct {
		name string
		step control.Step
	}{
		{"its own ARN", control.Step{Kind: "CreateAnalyzer", Prior: prior, Result: []byte(`{"arn":"` + arn + `"}`), Done: true, RunID: "r1"}},
		{"another ARN", control.Step{Kind: "CreateAnalyzer", Prior: prior, Result: []byte(`{"arn":"` + arn + `-other"}`), Done: true, RunID: "r1"}},
		{"no result", control.Step{Kind: "CreateAnalyzer", Prior: prior, Done: true, RunID: "r1"}},
		{"format 2 with harden's after", control.Step{Kind: "CreateAnalyzer", Prior: prior, Done: true, RunID: "r1",
			After:  []byte(`{"name":"org-standard","type":"ACCOUNT","tags":{"managed-by":"harden","harden-run":"r1"}}`),
			Result: []byte(`{"arn":"` + arn + `"}`)}},
		{"unconfirmed", control.Step{Kind: "CreateAnalyzer", Prior: prior, RunID: "r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := undoVerdict(t, c, cenv, tg, tc.step)
			if u.Verdict == control.Delete || u.Do != nil {
				t.Fatalf("undo = %s %q (do: %v): would delete the user's analyzer", u.Verdict, u.What, u.Do != nil)
			}
			var drift *controltest.DriftError
			if err := controltest.Undo(ctx, c, cenv, tg, tc.step); err != nil && !errors.As(err, &drift) {
				t.Fatal(err)
			}
			if string(env.Server.Snapshot()) != string(users) {
				t.Fatal("the user's analyzer changed")
			}
		})
	}
}

// A same-named analyzer that is not the one the step created is drift that
// --force cannot undo, even when it carries harden's tags: AWS makes the
// ARN from the name, so the creation time and the run tag tell them apart.
func TestReplacedAnalyzerIsNeverDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags map[string]string
		why  string
	}{
		{"untagged", nil, "lacks harden's tag"},
		{"another harden run", control.Tags("20270101T000000Z-0001"), "created by harden run 20270101T000000Z-0001"},
		{"harden's own tags, recreated", control.Tags("20260101T000000Z-0000"), "was created at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			c, cenv, tg, step := appliedAnalyzerStep(t, env)
			deleteAnalyzer(t, env, controls.AnalyzerName)
			createUserAnalyzer(t, env, controls.AnalyzerName, tc.tags)
			replaced := env.Server.Snapshot()
			u := undoVerdict(t, c, cenv, tg, step)
			if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, tc.why) {
				t.Fatalf("undo = %s %q (force possible: %v), want unforceable drift saying %q", u.Verdict, u.What, u.Do != nil, tc.why)
			}
			var drift *controltest.DriftError
			if err := controltest.Undo(ctx, c, cenv, tg, step); !errors.As(err, &drift) || string(env.Server.Snapshot()) != string(replaced) {
				t.Fatalf("undo = %v; analyzer changed: %v", err, string(env.Server.Snapshot()) != string(replaced))
			}
		})
	}
}

func TestAnalyzerUndo(t *testing.T) {
	env := fakeawstest.Start(t)
	before := env.Server.Snapshot()
	c, cenv, tg, step := appliedAnalyzerStep(t, env)
	if tags := analyzerTags(t, env, controls.AnalyzerName); tags[control.TagRun] != step.RunID || tags[control.TagManagedBy] != control.TagManagedByID {
		t.Fatalf("analyzer tags %v, want harden's with run %s", tags, step.RunID)
	}
	if !strings.Contains(string(step.Result), `"created_at"`) {
		t.Fatalf("result %s records no creation time", step.Result)
	}
	env.Server.ResetLog()
	u := undoVerdict(t, c, cenv, tg, step)
	if u.Verdict != control.Delete || u.What != "delete analyzer harden-access-analyzer in eu-west-1" {
		t.Fatalf("undo = %s %q", u.Verdict, u.What)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(env.Server.Requests()); n != 2 {
		t.Fatalf("undo made %d calls, want 2 (one list, one delete)", n)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("analyzer not deleted")
	}
	// Deleted by the user (or by this undo): nothing left.
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already || u.What != "analyzer harden-access-analyzer in eu-west-1 is already gone" {
		t.Fatalf("undo of a deleted analyzer = %s %q", u.Verdict, u.What)
	}
}

// Format 1 tagged the analyzer managed-by=harden only, recorded its ARN
// and no after state.
func TestAnalyzerFormat1Step(t *testing.T) {
	prior := []byte(`{"name":"` + controls.AnalyzerName + `"}`)
	for _, tc := range []struct {
		name   string
		done   bool
		tags   map[string]string
		delete bool
	}{
		{"confirmed", true, map[string]string{"managed-by": "harden"}, true},
		{"unconfirmed", false, map[string]string{"managed-by": "harden"}, true},
		{"confirmed, not harden's", true, map[string]string{"owner": "security-team"}, false},
		{"unconfirmed, not harden's", false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			c := controls.AccessAnalyzer{}
			cenv := &control.Env{AWS: env.Clients}
			tg := target(c, analyzerRegion)
			before := env.Server.Snapshot()
			arn := createUserAnalyzer(t, env, controls.AnalyzerName, tc.tags)
			created := env.Server.Snapshot()
			step := control.Step{Kind: "CreateAnalyzer", Prior: prior, Done: tc.done, RunID: "20250101T000000Z-0000"}
			if tc.done {
				step.Result = []byte(`{"arn":"` + arn + `"}`)
			}
			u := undoVerdict(t, c, cenv, tg, step)
			if (u.Verdict == control.Delete) != tc.delete {
				t.Fatalf("undo = %s %q, want delete: %v", u.Verdict, u.What, tc.delete)
			}
			var drift *controltest.DriftError
			if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil && !errors.As(err, &drift) {
				t.Fatal(err)
			}
			want := created
			if tc.delete {
				want = before
			}
			if string(env.Server.Snapshot()) != string(want) {
				t.Fatalf("after undo the analyzer is there: %v, want deleted: %v", string(env.Server.Snapshot()) == string(created), tc.delete)
			}
		})
	}
}

// A create killed before AWS answered: the undo looks for the analyzer
// by name and harden's run tag.
func TestUnconfirmedAnalyzerCreate(t *testing.T) {
	env := fakeawstest.Start(t)
	before := env.Server.Snapshot()
	c, cenv, tg, step := appliedAnalyzerStep(t, env)
	step.Done, step.Result = false, nil
	u := undoVerdict(t, c, cenv, tg, step)
	if u.Verdict != control.Delete || !strings.Contains(u.What, "arn:aws:access-analyzer:eu-west-1:") {
		t.Fatalf("unconfirmed create found by tag: %s %q, want a delete naming the ARN", u.Verdict, u.What)
	}
	if err := u.Do(ctx); err != nil || string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("delete: %v", err)
	}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already || !strings.Contains(u.What, "never happened") {
		t.Fatalf("not found: %s %q", u.Verdict, u.What)
	}
	// Another run's analyzer of that name is not this step's.
	createUserAnalyzer(t, env, controls.AnalyzerName, control.Tags("20270101T000000Z-0001"))
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("another run's analyzer: %s %q", u.Verdict, u.What)
	}
}
