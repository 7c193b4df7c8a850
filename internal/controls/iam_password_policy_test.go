package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// appliedJournal applies c to tg and returns what it journaled.
func appliedJournal(t *testing.T, c control.Control, cenv *control.Env, tg control.Target) *controltest.MemJournal {
	t.Helper()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, tg.Region)); err != nil {
		t.Fatalf("apply %s: %v", c.Info().ID, err)
	}
	if len(j.Entries) == 0 {
		t.Fatalf("apply %s journaled nothing", c.Info().ID)
	}
	return j
}

// undoVerdict asks for a step's undo decision, as rollback's preview does.
func undoVerdict(t *testing.T, c control.Control, cenv *control.Env, tg control.Target, s control.Step) control.Undo {
	t.Helper()
	u, err := c.Steps().Undo(ctx, c.Info().ID, cenv, tg, s)
	if err != nil {
		t.Fatalf("undo decision for %s: %v", s.Kind, err)
	}
	return u
}

// withoutAfter returns s as a journal of format 1 recorded it.
func withoutAfter(s control.Step) control.Step {
	s.After = nil
	return s
}

func setPasswordPolicy(t *testing.T, env *fakeawstest.Env, in *iam.UpdateAccountPasswordPolicyInput) {
	t.Helper()
	if _, err := env.Clients.IAM().UpdateAccountPasswordPolicy(ctx, in); err != nil {
		t.Fatalf("user's password policy: %v", err)
	}
}

// hardenPolicyRaisedTo20 is harden's policy on a fresh account with the
// minimum length raised to 20 by the user.
var hardenPolicyRaisedTo20 = &iam.UpdateAccountPasswordPolicyInput{
	MinimumPasswordLength: aws.Int32(20), PasswordReusePrevention: aws.Int32(24),
	RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true,
	AllowUsersToChangePassword: true,
}

func minimumPasswordLength(t *testing.T, env *fakeawstest.Env) int32 {
	t.Helper()
	out, err := env.Clients.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil {
		t.Fatalf("read password policy: %v", err)
	}
	return aws.ToInt32(out.PasswordPolicy.MinimumPasswordLength)
}

func TestPasswordPolicyRaisedAfterApplyIsDrift(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.IAMPasswordPolicy{}
	tg := target(c, "")
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	setPasswordPolicy(t, env, hardenPolicyRaisedTo20)
	raised := env.Server.Snapshot()

	u := undoVerdict(t, c, cenv, tg, step)
	if u.Verdict != control.Drifted || u.What != "MinimumPasswordLength: harden set 14, now 20" || u.Do == nil {
		t.Fatalf("undo = %s %q (force possible: %v), want drifted naming the length", u.Verdict, u.What, u.Do != nil)
	}
	var drift *controltest.DriftError
	if err := controltest.Undo(ctx, c, cenv, tg, step); !errors.As(err, &drift) {
		t.Fatalf("undo without --force = %v, want a drift", err)
	}
	if string(env.Server.Snapshot()) != string(raised) || minimumPasswordLength(t, env) != 20 {
		t.Fatal("a drifted undo changed the account")
	}
}

func TestPasswordPolicyForcedDriftPutsPriorBack(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.IAMPasswordPolicy{}
	tg := target(c, "")
	setPasswordPolicy(t, env, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(8), MaxPasswordAge: aws.Int32(90)})
	before := env.Server.Snapshot()
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	raised := *hardenPolicyRaisedTo20
	raised.MaxPasswordAge = aws.Int32(30)
	setPasswordPolicy(t, env, &raised)

	u := undoVerdict(t, c, cenv, tg, step)
	want := "MinimumPasswordLength: harden set 14, now 20; MaxPasswordAge: harden set 90, now 30"
	if u.Verdict != control.Drifted || u.What != want {
		t.Fatalf("undo = %s %q, want drifted %q", u.Verdict, u.What, want)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatalf("forced undo: %v", err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("forced undo did not put the prior policy back:\n%s\n%s", before, env.Server.Snapshot())
	}
}

func TestPasswordPolicyDeletedByUser(t *testing.T) {
	for _, tc := range []struct {
		name        string
		priorPolicy bool
		verdict     control.Verdict
		what        string
	}{
		{"no policy before: nothing left to undo", false, control.Already, ""},
		{"a policy before: drift", true, control.Drifted, "MinimumPasswordLength: harden set 14, now unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			cenv := &control.Env{AWS: env.Clients}
			c := controls.IAMPasswordPolicy{}
			tg := target(c, "")
			if tc.priorPolicy {
				setPasswordPolicy(t, env, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(8)})
			}
			step := appliedJournal(t, c, cenv, tg).Entries[0].Step
			if _, err := env.Clients.IAM().DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
				t.Fatal(err)
			}
			u := undoVerdict(t, c, cenv, tg, step)
			if u.Verdict != tc.verdict || !strings.HasPrefix(u.What, tc.what) {
				t.Fatalf("undo = %s %q, want %s %q", u.Verdict, u.What, tc.verdict, tc.what)
			}
		})
	}
}

func TestPasswordPolicyRestoreSaysWhat(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.IAMPasswordPolicy{}
	tg := target(c, "")
	setPasswordPolicy(t, env, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(8), RequireSymbols: true})
	before := env.Server.Snapshot()
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	u := undoVerdict(t, c, cenv, tg, step)
	want := "restore the account password policy (MinimumPasswordLength 14 → 8, RequireNumbers true → false, " +
		"RequireUppercaseCharacters true → false, RequireLowercaseCharacters true → false, " +
		"AllowUsersToChangePassword true → false, PasswordReusePrevention 24 → unset)"
	if u.Verdict != control.Restore || u.What != want {
		t.Fatalf("undo = %s %q, want restore %q", u.Verdict, u.What, want)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("restore did not put the prior policy back")
	}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("second undo = %s %q, want nothing left", u.Verdict, u.What)
	}
}

// A journal of format 1 has no after state: the undo derives it from the
// prior policy, and still tells a restore from a drift.
func TestPasswordPolicyFormat1Step(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.IAMPasswordPolicy{}
	tg := target(c, "")
	before := env.Server.Snapshot()
	// The prior state as format 1 wrote it: no policy.
	step := withoutAfter(appliedJournal(t, c, cenv, tg).Entries[0].Step)
	step.Prior = []byte(`{"exists":false}`)
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Restore {
		t.Fatalf("format-1 undo = %s %q, want restore", u.Verdict, u.What)
	}
	setPasswordPolicy(t, env, hardenPolicyRaisedTo20)
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Drifted || u.What != "MinimumPasswordLength: harden set 14, now 20" {
		t.Fatalf("format-1 undo after a change = %s %q, want drifted", u.Verdict, u.What)
	}
	if _, err := env.Clients.IAM().DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil || string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("format-1 undo with the policy gone: %v", err)
	}
}
