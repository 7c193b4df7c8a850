package controls_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/detective"
	dttypes "github.com/aws/aws-sdk-go-v2/service/detective/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const dtRegion = "eu-west-1"

// dtSetup starts fakeaws with GuardDuty enabled in eu-west-1 age ago.
func dtSetup(t *testing.T, age time.Duration) (*fakeawstest.Env, controls.Detective, *control.Env, control.Target) {
	t.Helper()
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	gd := controls.GuardDuty{}
	if _, err := gd.Apply(ctx, cenv, target(gd, dtRegion), (&controltest.MemJournal{}).For("guardduty", dtRegion)); err != nil {
		t.Fatal(err)
	}
	env.Server.Backdate(age)
	env.Server.ResetLog()
	c := controls.Detective{}
	return env, c, cenv, target(c, dtRegion)
}

func graphARNs(t *testing.T, env *fakeawstest.Env) []string {
	t.Helper()
	out, err := env.Clients.Detective(dtRegion).ListGraphs(ctx, &detective.ListGraphsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, g := range out.GraphList {
		arns = append(arns, aws.ToString(g.Arn))
	}
	return arns
}

// Before GuardDuty's 48 hours: deferred until then, no write. After: the
// graph is created, and rollback deletes it.
func TestDetectiveBeforeAndAfter48Hours(t *testing.T) {
	env, c, cenv, tg := dtSetup(t, 10*time.Hour)
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.DeferredUntil.IsZero() {
		t.Fatalf("check at 10 hours: %+v %v", f, err)
	}
	until, ok := strings.CutPrefix(f.Deferred, "deferred until ")
	until, rest, _ := strings.Cut(until, ": ")
	at, perr := time.Parse(time.RFC3339, until)
	if !ok || perr != nil || rest != "GuardDuty must have been enabled for 48 hours" {
		t.Fatalf("deferral: %q", f.Deferred)
	}
	if d := time.Until(at); d < 37*time.Hour || d > 39*time.Hour {
		t.Fatalf("deferred until %s, want 38 hours from now", at)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, tg, j.For("detective", dtRegion)); err != nil || len(ch) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply while deferred: %v %+v %v", ch, j.Entries, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("writes while deferred: %+v", w)
	}

	env.Server.Backdate(40 * time.Hour)
	before := env.Server.Snapshot()
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionCreate || f.Deferred != "" {
		t.Fatalf("check at 50 hours: %+v %v", f, err)
	}
	j = appliedJournal(t, c, cenv, tg)
	if arns := graphARNs(t, env); len(arns) != 1 {
		t.Fatalf("graphs: %v", arns)
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback did not delete the graph")
	}
}

// Without GuardDuty the target is deferred too, counted from now; with the
// setting at 0 the graph comes as soon as GuardDuty is on.
func TestDetectiveWithoutGuardDutyAndSetting(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.Detective{}
	f, err := c.Check(ctx, cenv, target(c, dtRegion))
	if err != nil || !f.DeferredUntil.IsZero() || !strings.Contains(f.Deferred, "(it is not enabled yet") {
		t.Fatalf("check without GuardDuty: %+v %v", f, err)
	}
	_, c, cenv, tg := dtSetup(t, 0)
	cenv.ControlSettings = map[string]control.ControlSettings{"detective": &controls.DetectiveSettings{GuardDutyHours: 0}}
	if f, err := c.Check(ctx, cenv, tg); err != nil || f.Action != control.ActionCreate {
		t.Fatalf("check with 0 hours: %+v %v", f, err)
	}
	var fe *control.FieldError
	if err := (&controls.DetectiveSettings{GuardDutyHours: -1}).Validate(); !errors.As(err, &fe) {
		t.Fatalf("validate -1: %v", err)
	}
}

// A graph deleted by the user is nothing to undo; a graph made since
// (another ARN) is never deleted; a step naming a graph harden did not
// create (no harden tag) is never deleted, not even forced.
func TestDetectiveOwnership(t *testing.T) {
	env, c, cenv, tg := dtSetup(t, 72*time.Hour)
	j := appliedJournal(t, c, cenv, tg)
	step := j.Entries[0].Step
	mine := graphARNs(t, env)[0]
	if _, err := env.Clients.Detective(dtRegion).DeleteGraph(ctx, &detective.DeleteGraphInput{GraphArn: aws.String(mine)}); err != nil {
		t.Fatal(err)
	}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("deleted by the user: %s %q", u.Verdict, u.What)
	}
	out, err := env.Clients.Detective(dtRegion).CreateGraph(ctx, &detective.CreateGraphInput{Tags: map[string]string{"owner": "sec"}})
	if err != nil {
		t.Fatal(err)
	}
	users := aws.ToString(out.GraphArn)
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("the user's new graph: %s %q", u.Verdict, u.What)
	}
	forged := step
	forged.Result = []byte(`{"arn":"` + users + `"}`)
	if u := undoVerdict(t, c, cenv, tg, forged); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("step naming the user's graph: %s %q", u.Verdict, u.What)
	}
	unconfirmed := control.Step{Kind: "CreateGraph", Prior: []byte(`{"graph":"none"}`), RunID: step.RunID}
	if u := undoVerdict(t, c, cenv, tg, unconfirmed); u.Verdict != control.Already {
		t.Fatalf("unconfirmed create, the user's graph there: %s %q", u.Verdict, u.What)
	}
}

// An unconfirmed CreateGraph is found by harden's run tag.
func TestDetectiveUnconfirmedCreate(t *testing.T) {
	env, c, cenv, tg := dtSetup(t, 72*time.Hour)
	before := env.Server.Snapshot()
	step := control.Step{Kind: "CreateGraph", Prior: []byte(`{"graph":"none"}`), RunID: "20260101T000000Z-0000"}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("never happened: %s %q", u.Verdict, u.What)
	}
	appliedJournal(t, c, cenv, tg)
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("unconfirmed create not deleted")
	}
}

// fakeaws refuses a graph before GuardDuty's 48 hours and returns the same
// graph to a second CreateGraph, as the API reference says.
func TestFakeDetectivePrerequisite(t *testing.T) {
	env, _, _, _ := dtSetup(t, time.Hour)
	_, err := env.Clients.Detective(dtRegion).CreateGraph(ctx, &detective.CreateGraphInput{})
	var quota *dttypes.ServiceQuotaExceededException
	if !errors.As(err, &quota) {
		t.Fatalf("before 48 hours: %v", err)
	}
	env.Server.Backdate(48 * time.Hour)
	a, err := env.Clients.Detective(dtRegion).CreateGraph(ctx, &detective.CreateGraphInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Clients.Detective(dtRegion).CreateGraph(ctx, &detective.CreateGraphInput{})
	if err != nil || aws.ToString(a.GraphArn) != aws.ToString(b.GraphArn) {
		t.Fatalf("second CreateGraph: %v %v %v", a.GraphArn, b.GraphArn, err)
	}
}

// One run that enables GuardDuty leaves Detective deferred (unmanaged,
// not an error); a region without Detective is not checked.
func TestDetectiveInOneRunWithGuardDuty(t *testing.T) {
	env := fakeawstest.Start(t)
	if err := env.Server.SetServiceAbsent("detective", "eu-west-2", true); err != nil {
		t.Fatal(err)
	}
	run := &engine.Run{Controls: []control.Control{controls.GuardDuty{}, controls.Detective{}}, Env: &control.Env{AWS: env.Clients},
		AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1", Regions: []string{"eu-west-1", "eu-west-2"}, Concurrency: 4}
	res := byKeyResults(run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For))
	if r := res["guardduty@eu-west-1"]; r.Status != engine.Compliant {
		t.Fatalf("guardduty: %+v", r)
	}
	if r := res["detective@eu-west-1"]; r.Status != engine.Deferred || !strings.HasPrefix(r.Reason, "deferred") {
		t.Fatalf("detective: %+v", r)
	}
	if r := res["detective@eu-west-2"]; r.Status != engine.NotChecked || r.NotChecked != engine.ServiceNotOffered {
		t.Fatalf("detective where not offered: %+v", r)
	}
}

// With guardduty_min_age_hours at 0, harden tries the graph as soon as
// GuardDuty is on, and works under both readings of AWS: where AWS still
// asks for GuardDuty's 48 hours (fakeaws' default) the refusal makes the
// target deferred until then, through the engine, not an error, and
// rollback has nothing to undo; where it does not (SetDetectiveGuardDutyAge
// 0) the graph is created at once.
func TestDetectiveTriesAndDefersOnRefusal(t *testing.T) {
	zero := map[string]control.ControlSettings{"detective": &controls.DetectiveSettings{GuardDutyHours: 0}}
	run := func(env *fakeawstest.Env) (engine.Result, *controltest.MemJournal) {
		t.Helper()
		r := &engine.Run{Controls: []control.Control{controls.GuardDuty{}, controls.Detective{}}, Env: &control.Env{AWS: env.Clients, ControlSettings: zero},
			AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1", Regions: []string{dtRegion}, Concurrency: 4}
		plan := r.Check(ctx)
		j := &controltest.MemJournal{}
		return byKeyResults(r.Apply(ctx, plan, j.For))["detective@"+dtRegion], j
	}

	t.Run("AWS still asks for 48 hours", func(t *testing.T) {
		env, c, cenv, tg := dtSetup(t, 10*time.Hour)
		cenv.ControlSettings = zero
		if f, err := c.Check(ctx, cenv, tg); err != nil || f.Action != control.ActionCreate || f.Deferred != "" {
			t.Fatalf("check at 10 hours with 0: %+v %v", f, err)
		}
		before := env.Server.Snapshot()
		res, j := run(env)
		if res.Status != engine.Deferred || !strings.Contains(res.Reason, "AWS refused the behavior graph") || res.Err != nil {
			t.Fatalf("detective: %+v", res)
		}
		if d := time.Until(res.Until); d < 37*time.Hour || d > 39*time.Hour {
			t.Fatalf("deferred until %s, want GuardDuty's creation + 48 hours", res.Until)
		}
		if len(graphARNs(t, env)) != 0 || string(env.Server.Snapshot()) != string(before) {
			t.Fatal("the refused CreateGraph changed the account")
		}
		for _, e := range j.Entries {
			if e.Step.Kind != "CreateGraph" || !e.Failed {
				t.Fatalf("journal: %+v", j.Entries)
			}
			if u := undoVerdict(t, c, cenv, tg, e.Step); u.Verdict != control.Already {
				t.Fatalf("undo of the refused create: %s %q", u.Verdict, u.What)
			}
		}
		// After 48 hours a refusal is a real error (a quota), never a
		// deferral.
		env.Server.Backdate(40 * time.Hour)
		env.Server.AddFault(fakeaws.Fault{Service: "detective", Action: "CreateGraph", Error: "ServiceQuotaExceededException", Status: 402,
			Message: "The request would cause the data rate for the behavior graph to exceed the maximum allowed."})
		if res, _ := run(env); res.Status != engine.Error || !strings.Contains(res.Err.Error(), "ServiceQuotaExceededException") {
			t.Fatalf("refused after 48 hours: %+v", res)
		}
	})

	t.Run("AWS no longer asks", func(t *testing.T) {
		env, _, _, _ := dtSetup(t, time.Minute)
		env.Server.SetDetectiveGuardDutyAge(0)
		res, _ := run(env)
		if res.Status != engine.Compliant || len(graphARNs(t, env)) != 1 {
			t.Fatalf("detective: %+v", res)
		}
	})
}
