package controls_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

var ctx = context.Background()

func target(c control.Control, region string) control.Target {
	if c.Info().Scope == control.Account {
		region = "us-east-1"
	}
	return control.Target{AccountID: fakeaws.DefaultAccountID, Region: region, HomeRegion: "us-east-1"}
}

// idsReissued names the controls whose rollback recreates what they
// deleted: AWS gives the recreation new ids (CreateDefaultVpc, security
// group rules authorized again).
var idsReissued = map[string]bool{"default-vpc": true, "default-security-group": true}

// lifecycleSettings are the settings TestLifecycle runs with: controls
// whose defaults leave nothing to apply or a finding (no contact, no budget
// amount, no alert email) get values a person would set.
var lifecycleSettings = map[string]control.ControlSettings{
	"security-alerts": &controls.SecurityAlertsSettings{Emails: []string{"security@example.com"}, GuardDutyMinSeverity: 4},
	"budget-alarm":    &controls.BudgetAlarmSettings{Amount: 100, Currency: "USD", Emails: []string{"finance@example.com"}},
	"alternate-contacts": &controls.AlternateContactsSettings{
		SecurityName: "Sec Team", SecurityTitle: "Security", SecurityEmail: "security@example.com", SecurityPhone: "+1 555 0100",
		BillingName: "Bill Payer", BillingTitle: "Finance", BillingEmail: "billing@example.com", BillingPhone: "+1 555 0101",
	},
}

// TestLifecycle runs every control through the contract on a fresh account:
// check, apply, check, apply again with no writes, rollback to the exact
// prior state, rollback again with no writes.
func TestLifecycle(t *testing.T) {
	byID := map[string]control.Control{}
	for _, c := range controls.All() {
		byID[c.Info().ID] = c
	}
	for _, c := range controls.All() {
		t.Run(c.Info().ID, func(t *testing.T) {
			env := fakeawstest.Start(t)
			cenv := &control.Env{AWS: env.Clients, ControlSettings: lifecycleSettings}
			tg := target(c, "eu-west-1")
			// Prerequisites are applied first, as the engine does; the
			// account "before" is the account with them in place.
			if err := applyPrerequisites(byID, c, cenv, tg.Region, map[string]bool{}); err != nil {
				t.Fatal(err)
			}
			// ... and in place for three days, as a later run finds them
			// (Detective waits 48 hours after GuardDuty).
			env.Server.Backdate(72 * time.Hour)
			env.Server.ResetLog()

			f, err := c.Check(ctx, cenv, tg)
			if err != nil {
				t.Fatalf("check fresh: %v", err)
			}
			if f.Compliant || f.Action == control.ActionNone || len(f.Changes) == 0 {
				t.Fatalf("fresh account should need a change: %+v", f)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("check wrote: %+v", w)
			}
			before := env.Server.Snapshot()

			j := &controltest.MemJournal{}
			changed, err := applyAsEngine(ctx, c, cenv, tg, j.For(c.Info().ID, tg.Region))
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if len(changed) == 0 || len(j.Entries) == 0 {
				t.Fatalf("apply reported no change: %v, journal %+v", changed, j.Entries)
			}
			writes := env.Server.Writes()
			if len(writes) != len(j.Entries) {
				t.Fatalf("%d writes but %d journal entries: every write must be journaled", len(writes), len(j.Entries))
			}
			for _, w := range writes {
				// IAM is global: its calls are signed for us-east-1.
				if w.Region != tg.Region && c.Info().Scope == control.Regional && w.Service != "iam" {
					t.Fatalf("write in %s, want only %s: %+v", w.Region, tg.Region, w)
				}
			}

			f, err = c.Check(ctx, cenv, tg)
			if err != nil || !f.Compliant {
				t.Fatalf("after apply: compliant=%v err=%v changes=%+v", f.Compliant, err, f.Changes)
			}

			env.Server.ResetLog()
			j2 := &controltest.MemJournal{}
			changed, err = applyAsEngine(ctx, c, cenv, tg, j2.For(c.Info().ID, tg.Region))
			if err != nil || len(changed) != 0 || len(j2.Entries) != 0 {
				t.Fatalf("second apply: changed %v, journal %v, err %v", changed, j2.Entries, err)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("second apply made %d writes: %+v", len(w), w)
			}

			kept := false
			for _, e := range j.Reversed() {
				err := controltest.Undo(ctx, c, cenv, tg, e.Step)
				var r *control.RetainedError
				if errors.As(err, &r) {
					kept = true
					continue
				}
				if err != nil {
					t.Fatalf("rollback %s: %v", e.Step.Kind, err)
				}
			}
			after := env.Server.Snapshot()
			if idsReissued[c.Info().ID] {
				// Rollback recreates what the control deleted, under new
				// ids: the account comes back in shape, not in ids.
				if fakeawstest.WithoutEC2IDs(t, after) != fakeawstest.WithoutEC2IDs(t, before) {
					t.Fatalf("rollback did not restore the account's shape:\nbefore %s\nafter  %s", before, after)
				}
			} else if kept {
				// Only the log-archive KMS key is kept on purpose.
				if fakeawstest.WithoutKMS(t, after) != fakeawstest.WithoutKMS(t, before) {
					t.Fatalf("rollback left more than the kept key:\nbefore %s\nafter  %s", before, after)
				}
			} else if string(after) != string(before) {
				t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
			}
			env.Server.ResetLog()
			for _, e := range j.Reversed() {
				var r *control.RetainedError
				if err := controltest.Undo(ctx, c, cenv, tg, e.Step); err != nil && !errors.As(err, &r) {
					t.Fatalf("second rollback %s: %v", e.Step.Kind, err)
				}
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("second rollback wrote: %+v", w)
			}
		})
	}
}

// applyAsEngine applies c to tg as the engine does: its early part first
// (control.EarlyApply), then Apply.
func applyAsEngine(ctx context.Context, c control.Control, cenv *control.Env, tg control.Target, j control.Journal) ([]control.Change, error) {
	if e, ok := c.(control.EarlyApply); ok {
		if err := e.ApplyEarly(ctx, cenv, tg, j); err != nil {
			return nil, fmt.Errorf("early part: %w", err)
		}
	}
	return c.Apply(ctx, cenv, tg, j)
}

// applyPrerequisites applies c's prerequisites and theirs, deepest first,
// each once, as the engine's order does.
func applyPrerequisites(byID map[string]control.Control, c control.Control, cenv *control.Env, region string, done map[string]bool) error {
	for _, dep := range c.Info().DependsOn {
		if done[dep] {
			continue
		}
		done[dep] = true
		d, ok := byID[dep]
		if !ok {
			continue // as the engine does: a dependency not in the registry is ignored
		}
		if err := applyPrerequisites(byID, d, cenv, region, done); err != nil {
			return err
		}
		if _, err := d.Apply(ctx, cenv, target(d, region), (&controltest.MemJournal{}).For(dep, region)); err != nil {
			return fmt.Errorf("apply prerequisite %s: %w", dep, err)
		}
	}
	return nil
}

func TestPasswordPolicyNeverWeakens(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.IAMPasswordPolicy{}
	_, err := env.Clients.IAM().UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(20), RequireSymbols: true, MaxPasswordAge: aws.Int32(90), HardExpiry: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	before := env.Server.Snapshot()
	f, _ := c.Check(ctx, cenv, target(c, ""))
	for _, ch := range f.Changes {
		if ch.Field == "MinimumPasswordLength" || ch.Field == "RequireSymbols" {
			t.Fatalf("plans to change a stricter setting: %+v", ch)
		}
	}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, ""), j.For("iam-password-policy", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	got, err := env.Clients.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil {
		t.Fatal(err)
	}
	p := got.PasswordPolicy
	if aws.ToInt32(p.MinimumPasswordLength) != 20 || aws.ToInt32(p.MaxPasswordAge) != 90 || !aws.ToBool(p.HardExpiry) ||
		aws.ToInt32(p.PasswordReusePrevention) != 24 || !p.RequireNumbers || !p.AllowUsersToChangePassword {
		t.Fatalf("merged policy = %+v", p)
	}
	for _, e := range j.Reversed() {
		if err := controltest.Undo(ctx, c, cenv, target(c, ""), e.Step); err != nil {
			t.Fatal(err)
		}
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the exact prior policy:\n%s\n%s", before, after)
	}
}

func TestS3PublicAccessBlockPartial(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.S3PublicAccessBlock{}
	_, err := env.Clients.S3Control("us-east-1").PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(fakeaws.DefaultAccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, target(c, ""))
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 1 || f.Changes[0].Field != "RestrictPublicBuckets" {
		t.Fatalf("partial configuration: %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, ""), j.For("s3", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Reversed() {
		if err := controltest.Undo(ctx, c, cenv, target(c, ""), e.Step); err != nil {
			t.Fatal(err)
		}
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback should restore the three flags, not delete them:\n%s\n%s", before, after)
	}
}

func TestAccessAnalyzerExistingCounts(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.AccessAnalyzer{}
	_, err := env.Clients.AccessAnalyzer("eu-west-1").CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String("org-standard"), Type: aatypes.TypeAccount})
	if err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	f, err := c.Check(ctx, cenv, target(c, "eu-west-1"))
	if err != nil || !f.Compliant || f.Note == "" {
		t.Fatalf("existing analyzer should count: %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, "eu-west-1"), j.For("access-analyzer", "eu-west-1")); err != nil || len(j.Entries) != 0 {
		t.Fatalf("apply over an existing analyzer: %v, %+v", err, j.Entries)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("writes: %+v", w)
	}
}

// A write interrupted before AWS confirmed it is journaled without Done;
// rollback must cope both when it happened and when it did not.
func TestRollbackOfUnconfirmedStep(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.AccessAnalyzer{}
	tg := target(c, "eu-west-1")
	// The journal names the run: an unconfirmed create is found by its
	// run tag.
	step := control.Step{Kind: "CreateAnalyzer", Prior: []byte(`{"name":"` + controls.AnalyzerName + `"}`),
		RunID: "20260101T000000Z-0000"}
	before := env.Server.Snapshot()
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil {
		t.Fatalf("rollback of a write that never happened: %v", err)
	}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("access-analyzer", "eu-west-1")); err != nil {
		t.Fatal(err)
	}
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil {
		t.Fatalf("rollback of a write that happened: %v", err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("unconfirmed step not undone")
	}
}

// outsideBenchmarks are controls no Security Hub control checks: the
// after-account-creation checklist's cost alerts.
var outsideBenchmarks = map[string]bool{"budget-alarm": true, "cost-anomaly-detection": true}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range controls.All() {
		i := c.Info()
		// The notification controls follow AWS's secure-account baseline;
		// no Security Hub control covers them.
		noSecurityHubID := i.ID == "security-alerts" || i.ID == "health-alerts" || outsideBenchmarks[i.ID]
		if i.ID == "" || i.Title == "" || i.Desired == "" || len(i.ReadActions) == 0 || len(i.WriteActions) == 0 ||
			i.Service == "" && len(i.SecurityHub) == 0 && !noSecurityHubID {
			t.Errorf("incomplete metadata: %+v", i)
		}
		if i.Scope != control.Account && i.Scope != control.Regional {
			t.Errorf("%s: bad scope %q", i.ID, i.Scope)
		}
		if seen[i.ID] {
			t.Errorf("duplicate id %s", i.ID)
		}
		seen[i.ID] = true
	}
	// A stage a control needs is one its prerequisite declares, of a
	// control it lists as one.
	byID := map[string]control.Info{}
	for _, c := range controls.All() {
		byID[c.Info().ID] = c.Info()
	}
	for _, c := range controls.All() {
		i := c.Info()
		names := map[string]bool{}
		for _, s := range i.Stages {
			if s.Name == "" || s.What == "" || names[s.Name] {
				t.Errorf("%s: stage %+v unnamed, undescribed or repeated", i.ID, s)
			}
			names[s.Name] = true
		}
		for dep, stage := range i.Needs {
			if !slices.Contains(i.DependsOn, dep) && !slices.Contains(i.After, dep) && !slices.Contains(i.AfterHome, dep) {
				t.Errorf("%s needs stage %q of %s, which it neither depends on nor runs after", i.ID, stage, dep)
			}
			if _, ok := byID[dep].Stage(stage); !ok {
				t.Errorf("%s needs stage %q, which %s does not declare", i.ID, stage, dep)
			}
		}
	}
	if _, err := controls.Select(controls.All(), []string{"nope"}, nil); err == nil {
		t.Fatal("unknown id accepted")
	}
	got, err := controls.Select(controls.All(), nil, []string{"access-analyzer"})
	if err != nil || len(got) != len(controls.All())-1 {
		t.Fatalf("skip: %d, %v", len(got), err)
	}
}
