package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accttypes "github.com/aws/aws-sdk-go-v2/service/account/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func contactsEnv(env *fakeawstest.Env) *control.Env {
	return &control.Env{AWS: env.Clients, ControlSettings: map[string]control.ControlSettings{
		"alternate-contacts": &controls.AlternateContactsSettings{
			SecurityName: "Sec Team", SecurityTitle: "Security", SecurityEmail: "security@example.com", SecurityPhone: "+1 555 0100"}}}
}

func putSecurityContact(t *testing.T, env *fakeawstest.Env, name string) {
	t.Helper()
	_, err := env.Clients.Account().PutAlternateContact(ctx, &account.PutAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactTypeSecurity, Name: aws.String(name), Title: aws.String("CISO"),
		EmailAddress: aws.String("ciso@example.com"), PhoneNumber: aws.String("+1 555 0199")})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAlternateContactsMissingSettingIsUnmanaged(t *testing.T) {
	env := fakeawstest.Start(t)
	c := controls.AlternateContacts{}
	cenv := &control.Env{AWS: env.Clients}
	f, err := c.Check(ctx, cenv, target(c, ""))
	if err != nil || f.Compliant || !strings.Contains(f.Unmanaged, "controls.alternate-contacts.security_email") {
		t.Fatalf("no settings: %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if changed, err := c.Apply(ctx, cenv, target(c, ""), j.For("alternate-contacts", "us-east-1")); err != nil || len(changed) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply without settings changed %v, %v", changed, err)
	}
}

// Without the security contact, a configured billing contact is still
// applied through the engine; the target then ends unmanaged naming the
// security settings (not an error), and a second apply writes nothing.
func TestAlternateContactsAppliesWhatIsConfigured(t *testing.T) {
	env := fakeawstest.Start(t)
	c := controls.AlternateContacts{}
	cenv := &control.Env{AWS: env.Clients, ControlSettings: map[string]control.ControlSettings{
		"alternate-contacts": &controls.AlternateContactsSettings{
			BillingName: "Bill Payer", BillingTitle: "Finance", BillingEmail: "billing@example.com", BillingPhone: "+1 555 0101"}}}
	run := &engine.Run{Controls: []control.Control{c}, Env: cenv, AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1",
		Regions: []string{"us-east-1"}, Concurrency: 4}
	plan := run.Check(ctx)
	if len(plan) != 1 || plan[0].Status != engine.NonCompliant || !strings.Contains(plan[0].Note, "controls.alternate-contacts.security_email") {
		t.Fatalf("plan: %+v", plan)
	}
	res := run.Apply(ctx, plan, (&controltest.MemJournal{}).For)
	if len(res) != 1 || res[0].Status != engine.Unmanaged || res[0].Err != nil || !strings.Contains(res[0].Reason, "controls.alternate-contacts.security_email") {
		t.Fatalf("apply: %+v", res)
	}
	out, err := env.Clients.Account().GetAlternateContact(ctx, &account.GetAlternateContactInput{AlternateContactType: accttypes.AlternateContactTypeBilling})
	if err != nil || aws.ToString(out.AlternateContact.Name) != "Bill Payer" {
		t.Fatalf("billing contact: %+v, %v", out, err)
	}
	env.Server.ResetLog()
	if res := run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For); res[0].Status != engine.Unmanaged || len(env.Server.Writes()) != 0 {
		t.Fatalf("second apply: %+v, writes %+v", res, env.Server.Writes())
	}
}

func TestAlternateContactsSettingsValidate(t *testing.T) {
	s := &controls.AlternateContactsSettings{OperationsName: "Ops"}
	var fe *control.FieldError
	if err := s.Validate(); err == nil || !errors.As(err, &fe) || fe.Field != "operations_title" {
		t.Fatalf("partial operations contact: %v", err)
	}
	s = &controls.AlternateContactsSettings{SecurityName: "a", SecurityTitle: "b", SecurityEmail: "not-an-address", SecurityPhone: "1"}
	if err := s.Validate(); err == nil || !errors.As(err, &fe) || fe.Field != "security_email" {
		t.Fatalf("bad email: %v", err)
	}
}

// applyContacts applies the security contact and returns the journal.
func applyContacts(t *testing.T, env *fakeawstest.Env) *controltest.MemJournal {
	t.Helper()
	c := controls.AlternateContacts{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, contactsEnv(env), target(c, ""), j.For("alternate-contacts", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	if len(j.Entries) != 1 {
		t.Fatalf("journal %+v", j.Entries)
	}
	return j
}

func TestAlternateContactsRestoresPrior(t *testing.T) {
	env := fakeawstest.Start(t)
	putSecurityContact(t, env, "Old CISO")
	before := env.Server.Snapshot()
	j := applyContacts(t, env)
	c := controls.AlternateContacts{}
	u, err := c.Steps().Undo(ctx, "alternate-contacts", contactsEnv(env), target(c, ""), j.Entries[0].Step)
	if err != nil || u.Verdict != control.Restore || !strings.Contains(u.What, "Old CISO") {
		t.Fatalf("undo = %+v, %v", u, err)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("prior contact not restored:\n%s\n%s", before, after)
	}
}

func TestAlternateContactsDrift(t *testing.T) {
	env := fakeawstest.Start(t)
	j := applyContacts(t, env)
	putSecurityContact(t, env, "Someone Else")
	changed := env.Server.Snapshot()
	c := controls.AlternateContacts{}
	err := controltest.Undo(ctx, c, contactsEnv(env), target(c, ""), j.Entries[0].Step)
	var drift *controltest.DriftError
	if !errors.As(err, &drift) || !strings.Contains(err.Error(), "now Someone Else") {
		t.Fatalf("undo after a change = %v", err)
	}
	if after := env.Server.Snapshot(); string(after) != string(changed) {
		t.Fatal("drift was not left alone")
	}
	u, err := c.Steps().Undo(ctx, "alternate-contacts", contactsEnv(env), target(c, ""), j.Entries[0].Step)
	if err != nil || u.Do == nil {
		t.Fatalf("forced undo: %+v, %v", u, err)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients.Account().GetAlternateContact(ctx, &account.GetAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactTypeSecurity}); err == nil {
		t.Fatal("forced undo did not remove the contact harden added")
	}
}

func TestAlternateContactsDeletedByUser(t *testing.T) {
	env := fakeawstest.Start(t)
	j := applyContacts(t, env)
	if _, err := env.Clients.Account().DeleteAlternateContact(ctx, &account.DeleteAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactTypeSecurity}); err != nil {
		t.Fatal(err)
	}
	c := controls.AlternateContacts{}
	u, err := c.Steps().Undo(ctx, "alternate-contacts", contactsEnv(env), target(c, ""), j.Entries[0].Step)
	if err != nil || u.Verdict != control.Already {
		t.Fatalf("undo of a deleted contact = %+v, %v", u, err)
	}
}
