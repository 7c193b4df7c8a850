package controls_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// EBS encryption by default is one flag: after harden turned it on, a
// user's change can only put the prior value back, which leaves nothing
// to undo.
func TestEBSEncryptionDisabledByUser(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.EBSEncryption{}
	tg := target(c, "eu-west-1")
	step := appliedJournal(t, c, cenv, tg).Entries[0].Step
	if _, err := env.Clients.EC2("eu-west-1").DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{}); err != nil {
		t.Fatal(err)
	}
	disabled := env.Server.Snapshot()
	env.Server.ResetLog()
	u := undoVerdict(t, c, cenv, tg, step)
	if u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("undo = %s %q, want nothing left to undo", u.Verdict, u.What)
	}
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(disabled) || len(env.Server.Writes()) != 0 {
		t.Fatal("undo wrote")
	}
}

func TestEBSEncryptionRestore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format int
	}{{"format 2", 2}, {"format 1 (no after state)", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			cenv := &control.Env{AWS: env.Clients}
			c := controls.EBSEncryption{}
			tg := target(c, "eu-west-1")
			before := env.Server.Snapshot()
			step := appliedJournal(t, c, cenv, tg).Entries[0].Step
			if tc.format == 1 {
				step = withoutAfter(step)
			}
			u := undoVerdict(t, c, cenv, tg, step)
			want := "restore EBS encryption by default in eu-west-1 (EbsEncryptionByDefault true → false)"
			if u.Verdict != control.Restore || u.What != want {
				t.Fatalf("undo = %s %q, want %q", u.Verdict, u.What, want)
			}
			if err := u.Do(ctx); err != nil || string(env.Server.Snapshot()) != string(before) {
				t.Fatalf("restore: %v", err)
			}
		})
	}
}
