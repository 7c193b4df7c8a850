package controls_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func setPublicAccessBlock(t *testing.T, env *fakeawstest.Env, acls, ignore, policy, restrict bool) {
	t.Helper()
	_, err := env.Clients.S3Control("us-east-1").PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(fakeaws.DefaultAccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(acls), IgnorePublicAcls: aws.Bool(ignore),
			BlockPublicPolicy: aws.Bool(policy), RestrictPublicBuckets: aws.Bool(restrict)},
	})
	if err != nil {
		t.Fatalf("user's public access block: %v", err)
	}
}

func deletePublicAccessBlock(t *testing.T, env *fakeawstest.Env) {
	t.Helper()
	_, err := env.Clients.S3Control("us-east-1").DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{
		AccountId: aws.String(fakeaws.DefaultAccountID)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPublicAccessBlockTurnedOffAfterApplyIsDrift(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.S3PublicAccessBlock{}
	tg := target(c, "")
	before := env.Server.Snapshot()
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	setPublicAccessBlock(t, env, true, true, true, false)
	changed := env.Server.Snapshot()

	u := undoVerdict(t, c, cenv, tg, step)
	if u.Verdict != control.Drifted || u.What != "RestrictPublicBuckets: harden set true, now false" || u.Do == nil {
		t.Fatalf("undo = %s %q, want drifted naming RestrictPublicBuckets", u.Verdict, u.What)
	}
	var drift *controltest.DriftError
	if err := controltest.Undo(ctx, c, cenv, tg, step); !errors.As(err, &drift) {
		t.Fatalf("undo without --force = %v, want a drift", err)
	}
	if string(env.Server.Snapshot()) != string(changed) {
		t.Fatal("a drifted undo changed the account")
	}
	// --force puts the prior state back: no configuration at all.
	if err := u.Do(ctx); err != nil {
		t.Fatalf("forced undo: %v", err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("forced undo did not remove the configuration:\n%s", env.Server.Snapshot())
	}
}

func TestPublicAccessBlockDeletedByUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prior   bool
		verdict control.Verdict
		what    string
	}{
		{"none before: nothing left to undo", false, control.Already,
			"the account's S3 Block Public Access is already as it was before harden's change"},
		{"three flags before: drift", true, control.Drifted,
			"BlockPublicAcls: harden set true, now unset; IgnorePublicAcls: harden set true, now unset; " +
				"BlockPublicPolicy: harden set true, now unset; RestrictPublicBuckets: harden set true, now unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			cenv := &control.Env{AWS: env.Clients}
			c := controls.S3PublicAccessBlock{}
			tg := target(c, "")
			if tc.prior {
				setPublicAccessBlock(t, env, true, true, true, false)
			}
			step := appliedJournal(t, c, cenv, tg).Entries[0].Step
			deletePublicAccessBlock(t, env)
			gone := env.Server.Snapshot()
			u := undoVerdict(t, c, cenv, tg, step)
			if u.Verdict != tc.verdict || u.What != tc.what {
				t.Fatalf("undo = %s %q, want %s %q", u.Verdict, u.What, tc.verdict, tc.what)
			}
			var drift *controltest.DriftError
			if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil && !errors.As(err, &drift) {
				t.Fatal(err)
			}
			if string(env.Server.Snapshot()) != string(gone) {
				t.Fatal("undo changed the account")
			}
		})
	}
}

func TestPublicAccessBlockRestoreSaysWhat(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.S3PublicAccessBlock{}
	tg := target(c, "")
	setPublicAccessBlock(t, env, true, false, true, false)
	before := env.Server.Snapshot()
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	u := undoVerdict(t, c, cenv, tg, step)
	want := "restore the account's S3 Block Public Access (IgnorePublicAcls true → false, RestrictPublicBuckets true → false)"
	if u.Verdict != control.Restore || u.What != want {
		t.Fatalf("undo = %s %q, want %q", u.Verdict, u.What, want)
	}
	if err := u.Do(ctx); err != nil || string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("restore: %v", err)
	}
}

// Format 1 journaled no after state: harden's write is known (all four on).
func TestPublicAccessBlockFormat1Step(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.S3PublicAccessBlock{}
	tg := target(c, "")
	setPublicAccessBlock(t, env, true, true, false, false)
	before := env.Server.Snapshot()
	step := withoutAfter(appliedJournal(t, c, cenv, tg).Entries[0].Step)
	step.Prior = []byte(`{"exists":true,"block_public_acls":true,"ignore_public_acls":true,"block_public_policy":false,"restrict_public_buckets":false}`)
	setPublicAccessBlock(t, env, true, true, false, true)
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Drifted || u.What != "BlockPublicPolicy: harden set true, now false" {
		t.Fatalf("format-1 undo after a change = %s %q, want drifted", u.Verdict, u.What)
	}
	setPublicAccessBlock(t, env, true, true, true, true)
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil || string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("format-1 undo did not restore: %v", err)
	}
}
