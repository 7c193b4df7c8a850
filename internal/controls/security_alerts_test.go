package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func alertsEnv(t *testing.T, emails ...string) (*fakeawstest.Env, *control.Env) {
	env := fakeawstest.Start(t)
	settings := controls.SecurityAlerts{}.NewSettings().(*controls.SecurityAlertsSettings)
	settings.Emails = emails
	return env, &control.Env{AWS: env.Clients, ControlSettings: map[string]control.ControlSettings{"security-alerts": settings}}
}

func alertTarget(region string) control.Target {
	return control.Target{AccountID: fakeaws.DefaultAccountID, Region: region, HomeRegion: "us-east-1"}
}

func applyAlerts(t *testing.T, cenv *control.Env, j *controltest.MemJournal, c control.Control, regions ...string) {
	t.Helper()
	for _, r := range regions {
		if _, err := c.Apply(ctx, cenv, alertTarget(r), j.For(c.Info().ID, r)); err != nil {
			t.Fatalf("apply %s in %s: %v", c.Info().ID, r, err)
		}
	}
}

func guardDutyFinding(severity float64) fakeaws.Event {
	return fakeaws.Event{Source: "aws.guardduty", DetailType: "GuardDuty Finding", Detail: map[string]any{
		"id": "f1", "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": severity,
		"title": "Unprotected port on EC2 instance i-0abc is being probed", "resource": map[string]any{"resourceType": "Instance"},
	}}
}

// A GuardDuty finding in ap-south-1 is forwarded to the home region and
// reaches the topic as a readable message; a low one is not sent.
func TestGuardDutyFindingReachesHomeTopic(t *testing.T) {
	env, cenv := alertsEnv(t, "sec@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1", "ap-south-1")
	topic := controls.AlertTopicARN(alertTarget("us-east-1"))

	for _, d := range env.Server.InjectEvent("ap-south-1", guardDutyFinding(7.5)) {
		if d.Error != "" {
			t.Fatalf("delivery failed: %+v", d)
		}
	}
	msgs := env.Server.Published(topic)
	if len(msgs) != 1 {
		t.Fatalf("topic received %d messages, want 1", len(msgs))
	}
	for _, want := range []string{"GuardDuty finding: Unprotected port on EC2 instance i-0abc is being probed", "Severity: 7.5",
		"Account: 123456789012", "Region: ap-south-1", "Resource: Instance", "region=ap-south-1#/findings?search=id%3Df1"} {
		if !strings.Contains(msgs[0].Message, want) {
			t.Errorf("message lacks %q:\n%s", want, msgs[0].Message)
		}
	}
	env.Server.InjectEvent("ap-south-1", guardDutyFinding(2))
	if n := len(env.Server.Published(topic)); n != 1 {
		t.Fatalf("a low-severity finding was sent: %d messages", n)
	}
}

// Without the forwarder role's permission the event does not arrive.
func TestForwardingNeedsTheRole(t *testing.T) {
	env, cenv := alertsEnv(t, "sec@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1", "ap-south-1")
	if _, err := env.Clients.IAM().DeleteRolePolicy(ctx, iamDeletePolicy()); err != nil {
		t.Fatal(err)
	}
	ds := env.Server.InjectEvent("ap-south-1", guardDutyFinding(8))
	if len(ds) != 1 || !strings.Contains(ds[0].Error, "may not events:PutEvents") {
		t.Fatalf("deliveries %+v", ds)
	}
	f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || f.Compliant {
		t.Fatalf("check after the policy went: %+v %v", f, err)
	}
}

func TestHomeLifecycleWithEmail(t *testing.T) {
	env, cenv := alertsEnv(t, "sec@example.com")
	c := controls.SecurityAlerts{}
	home := alertTarget("us-east-1")
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, home)
	if err != nil || f.Compliant || f.Action != control.ActionCreate {
		t.Fatalf("fresh: %+v %v", f, err)
	}
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, c, "us-east-1")
	f, err = c.Check(ctx, cenv, home)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "sec@example.com: pending confirmation") {
		t.Fatalf("after apply: %+v %v", f, err)
	}
	env.Server.ResetLog()
	if ch, err := c.Apply(ctx, cenv, home, (&controltest.MemJournal{}).For(c.Info().ID, "us-east-1")); err != nil || len(ch) != 0 {
		t.Fatalf("second apply: %v %v", ch, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second apply wrote %+v", w)
	}
	if err := j.UndoAll(ctx, c, cenv, alertTarget); err != nil {
		t.Fatal(err)
	}
	if fakeawstest.WithoutKMS(t, env.Server.Snapshot()) != fakeawstest.WithoutKMS(t, before) {
		t.Fatalf("rollback left more than the key scheduled for deletion")
	}
}

// Without an email the home region still gets its topic and rules (the
// other alert controls notify the topic; a subscription can come later),
// but the target stays a finding that names the setting: through the
// engine, apply ends unmanaged (not an error, not compliant) and a second
// apply writes nothing. Once an address is set, apply subscribes it and
// the pending confirmation is a note on a compliant target.
func TestMissingEmailNamesTheSetting(t *testing.T) {
	env, cenv := alertsEnv(t)
	c := controls.SecurityAlerts{}
	f, err := c.Check(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || f.Compliant || f.Action != control.ActionCreate || !strings.Contains(f.Note, "controls.security-alerts.emails") {
		t.Fatalf("fresh: %+v %v", f, err)
	}
	run := &engine.Run{Controls: []control.Control{c}, Env: cenv, AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1",
		Regions: []string{"us-east-1"}, Concurrency: 4}
	res := run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For)
	if len(res) != 1 || res[0].Status != engine.Unmanaged || res[0].Err != nil ||
		res[0].Reason != "no email address configured: set controls.security-alerts.emails" {
		t.Fatalf("apply without an email: %+v", res)
	}
	if _, found, _ := topicExists(env); !found {
		t.Fatal("no topic without an email")
	}
	f, err = c.Check(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || f.Compliant || f.Unmanaged != res[0].Reason || f.Action != control.ActionNone || len(f.Changes) != 0 {
		t.Fatalf("after apply: %+v %v", f, err)
	}
	env.Server.ResetLog()
	if res := run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For); res[0].Status != engine.Unmanaged || len(env.Server.Writes()) != 0 {
		t.Fatalf("second apply without an email: %+v, writes %+v", res, env.Server.Writes())
	}

	cenv.ControlSettings["security-alerts"].(*controls.SecurityAlertsSettings).Emails = []string{"sec@example.com"}
	res = run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For)
	if res[0].Status != engine.Compliant || !strings.Contains(res[0].Note, "sec@example.com: pending confirmation") {
		t.Fatalf("apply with an email: %+v", res)
	}
}

func topicExists(env *fakeawstest.Env) (string, bool, error) {
	arn := controls.AlertTopicARN(alertTarget("us-east-1"))
	_, err := env.Clients.SNS("us-east-1").GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	return arn, err == nil, err
}

func TestRuleDriftIsLeftAlone(t *testing.T) {
	env, cenv := alertsEnv(t)
	c := controls.SecurityAlerts{}
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, c, "eu-west-1")
	_, err := env.Clients.EventBridge("eu-west-1").PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("harden-alerts-guardduty"),
		EventPattern: aws.String(`{"source":["aws.guardduty"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Reversed() {
		if e.Step.Kind != "PutAlertRule" {
			continue
		}
		u, err := c.Steps().Undo(ctx, c.Info().ID, cenv, alertTarget("eu-west-1"), e.Step)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(u.What, "harden-alerts-guardduty") && u.Verdict != control.Drifted {
			t.Fatalf("changed rule: %+v", u)
		}
	}
}

func TestForeignTopicIsUnmanaged(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	if _, err := env.Clients.SNS("us-east-1").CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(controls.AlertTopicName)}); err != nil {
		t.Fatal(err)
	}
	f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || f.Unmanaged == "" {
		t.Fatalf("%+v %v", f, err)
	}
}

func iamDeletePolicy() *iam.DeleteRolePolicyInput {
	return &iam.DeleteRolePolicyInput{RoleName: aws.String(controls.ForwarderRoleName), PolicyName: aws.String("put-events-to-home-bus")}
}

func TestSendTestAlert(t *testing.T) {
	env, cenv := alertsEnv(t, "sec@example.com")
	home := alertTarget("us-east-1")
	if _, err := controls.SendTestAlert(ctx, cenv, home); !errors.Is(err, controls.ErrNoAlertTopic) {
		t.Fatalf("without a topic: %v", err)
	}
	applyAlerts(t, cenv, &controltest.MemJournal{}, controls.SecurityAlerts{}, "us-east-1")
	res, err := controls.SendTestAlert(ctx, cenv, home)
	if err != nil || res.Confirmed() != 0 || len(res.Subscriptions) != 1 {
		t.Fatalf("pending: %+v %v", res, err)
	}
	if !env.Server.ConfirmSubscription(res.TopicARN, "sec@example.com") {
		t.Fatal("no subscription to confirm")
	}
	if res, err = controls.SendTestAlert(ctx, cenv, home); err != nil || res.Confirmed() != 1 {
		t.Fatalf("confirmed: %+v %v", res, err)
	}
	msgs := env.Server.Published(res.TopicARN)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[1].Subject, "[harden test]") || !strings.Contains(msgs[1].Message, "TEST MESSAGE") {
		t.Fatalf("messages %+v", msgs)
	}
}

// A region outside home says when the home region's role is missing.
func TestMissingRoleIsNotedOutsideHome(t *testing.T) {
	_, cenv := alertsEnv(t, "a@example.com")
	c := controls.SecurityAlerts{}
	applyAlerts(t, cenv, &controltest.MemJournal{}, c, "eu-west-1")
	f, err := c.Check(ctx, cenv, alertTarget("eu-west-1"))
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "harden-alert-forwarder is missing") {
		t.Fatalf("%+v %v", f, err)
	}
	applyAlerts(t, cenv, &controltest.MemJournal{}, c, "us-east-1")
	if f, err = c.Check(ctx, cenv, alertTarget("eu-west-1")); err != nil || f.Note != "" {
		t.Fatalf("with the role: %+v %v", f, err)
	}
}

func TestSecurityAlertsSettingsValidate(t *testing.T) {
	cases := []struct {
		emails   []string
		severity float64
		field    string
	}{
		{nil, 4, ""},
		{[]string{"a@example.com", "b@example.org"}, 7, ""},
		{[]string{"not-an-address"}, 4, "emails"},
		{[]string{"a@example.com, b@example.com"}, 4, "emails"},
		{nil, 0, "guardduty_min_severity"},
		{nil, 11, "guardduty_min_severity"},
	}
	for _, tc := range cases {
		err := (&controls.SecurityAlertsSettings{Emails: tc.emails, GuardDutyMinSeverity: tc.severity}).Validate()
		var fe *control.FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%v %v: %v", tc.emails, tc.severity, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%v %v: %v, want a %s error", tc.emails, tc.severity, err, tc.field)
		}
	}
}

// The severity setting moves the GuardDuty rule's threshold; rollback
// puts the earlier pattern back.
func TestSeveritySettingUpdatesTheRule(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	c := controls.SecurityAlerts{}
	applyAlerts(t, cenv, &controltest.MemJournal{}, c, "us-east-1")
	cenv.ControlSettings["security-alerts"].(*controls.SecurityAlertsSettings).GuardDutyMinSeverity = 7
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, c, "us-east-1")
	topic := controls.AlertTopicARN(alertTarget("us-east-1"))
	env.Server.InjectEvent("us-east-1", guardDutyFinding(5))
	if n := len(env.Server.Published(topic)); n != 0 {
		t.Fatalf("a medium finding was sent after raising the threshold to 7")
	}
	if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "PutAlertRule" {
		t.Fatalf("journal %+v", j.Entries)
	}
	if err := j.UndoAll(ctx, c, cenv, alertTarget); err != nil {
		t.Fatal(err)
	}
	env.Server.InjectEvent("us-east-1", guardDutyFinding(5))
	if n := len(env.Server.Published(topic)); n != 1 {
		t.Fatalf("after rollback the medium finding was not sent (%d)", n)
	}
}
