package controls_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
)

// alertStep returns the journaled step of kind in region (the first whose
// prior mentions contains).
func alertStep(t *testing.T, j *controltest.MemJournal, region string, kind control.StepKind, contains string) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Region == region && e.Step.Kind == kind && strings.Contains(string(e.Step.Prior), contains) {
			return e.Step
		}
	}
	t.Fatalf("no %s step in %s mentioning %q", kind, region, contains)
	return control.Step{}
}

func undoOf(t *testing.T, cenv *control.Env, region string, s control.Step) control.Undo {
	t.Helper()
	u, err := controls.SecurityAlerts{}.Steps().Undo(ctx, "security-alerts", cenv, alertTarget(region), s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func topicARN() string { return controls.AlertTopicARN(alertTarget("us-east-1")) }

func TestTopicUndo(t *testing.T) {
	cases := []struct {
		name    string
		change  func(t *testing.T, env *fakeaws.Server, sn *sns.Client)
		step    func(s control.Step) control.Step
		verdict control.Verdict
		force   bool // a --force undo exists
	}{
		{name: "unchanged", verdict: control.Delete, force: true},
		{name: "deleted by the user", verdict: control.Already, change: func(t *testing.T, _ *fakeaws.Server, sn *sns.Client) {
			if _, err := sn.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN())}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "replaced without harden's tags", verdict: control.Drifted, change: func(t *testing.T, _ *fakeaws.Server, sn *sns.Client) {
			if _, err := sn.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN())}); err != nil {
				t.Fatal(err)
			}
			if _, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(controls.AlertTopicName),
				Tags: []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "key changed", verdict: control.Drifted, force: true, change: func(t *testing.T, _ *fakeaws.Server, sn *sns.Client) {
			if _, err := sn.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(topicARN()),
				AttributeName: aws.String("KmsMasterKeyId"), AttributeValue: aws.String("alias/aws/sns")}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "another run's topic", verdict: control.Drifted, step: func(s control.Step) control.Step { s.RunID = "other-run"; return s }},
		{name: "format 1 (no after)", verdict: control.Delete, force: true, step: func(s control.Step) control.Step { s.After = nil; return s }},
		{name: "unconfirmed, found by run tag", verdict: control.Delete, force: true, step: func(s control.Step) control.Step { s.Done, s.Result = false, nil; return s }},
		{name: "unconfirmed, another run's", verdict: control.Already, step: func(s control.Step) control.Step {
			s.Done, s.Result, s.RunID = false, nil, "other-run"
			return s
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, cenv := alertsEnv(t, "a@example.com")
			j := &controltest.MemJournal{}
			applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
			step := alertStep(t, j, "us-east-1", "CreateAlertTopic", controls.AlertTopicName)
			if tc.change != nil {
				tc.change(t, env.Server, env.Clients.SNS("us-east-1"))
			}
			if tc.step != nil {
				step = tc.step(step)
			}
			before := env.Server.Snapshot()
			u := undoOf(t, cenv, "us-east-1", step)
			if u.Verdict != tc.verdict || (u.Do != nil) != tc.force {
				t.Fatalf("undo: %s %q (do %v), want %s (do %v)", u.Verdict, u.What, u.Do != nil, tc.verdict, tc.force)
			}
			if string(env.Server.Snapshot()) != string(before) {
				t.Fatal("deciding the undo changed the account")
			}
			if u.Verdict == control.Drifted && u.Do != nil {
				if err := u.Do(ctx); err != nil {
					t.Fatal(err)
				}
				if _, found, _ := topicExists(env); found {
					t.Fatal("forced undo left the topic")
				}
			}
		})
	}
}

// A hand-written step naming a rule harden did not create never deletes it.
func TestRuleStepWithForeignResultIsNeverDeleted(t *testing.T) {
	env, cenv := alertsEnv(t)
	eb := env.Clients.EventBridge("eu-west-1")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("harden-alerts-guardduty"),
		EventPattern: aws.String(`{"source":["aws.guardduty"]}`), Tags: []ebtypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}}); err != nil {
		t.Fatal(err)
	}
	prior, _ := json.Marshal(map[string]any{"exists": false, "name": "harden-alerts-guardduty"})
	result, _ := json.Marshal(map[string]string{"arn": "arn:aws:events:eu-west-1:123456789012:rule/something-else"})
	u := undoOf(t, cenv, "eu-west-1", control.Step{Kind: "PutAlertRule", Prior: prior, Result: result, Done: true, RunID: "20260101T000000Z-0000"})
	if u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("%s %q (do %v)", u.Verdict, u.What, u.Do != nil)
	}
}

func TestTargetUndoDriftAndForce(t *testing.T) {
	env, cenv := alertsEnv(t)
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "eu-west-1")
	step := alertStep(t, j, "eu-west-1", "PutAlertTarget", "harden-alerts-access-analyzer")
	eb := env.Clients.EventBridge("eu-west-1")
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("harden-alerts-access-analyzer"), Targets: []ebtypes.Target{{
		Id: aws.String("harden-alert-home-bus"), Arn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default"), RoleArn: aws.String("arn:aws:iam::123456789012:role/other")}}}); err != nil {
		t.Fatal(err)
	}
	u := undoOf(t, cenv, "eu-west-1", step)
	if u.Verdict != control.Drifted || u.Do == nil || !strings.Contains(u.What, "role/other") {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("harden-alerts-access-analyzer")})
	if err != nil || len(out.Targets) != 0 {
		t.Fatalf("forced undo left %+v (%v)", out.Targets, err)
	}
	// Once gone, the undo has nothing left to do.
	if u := undoOf(t, cenv, "eu-west-1", step); u.Verdict != control.Already {
		t.Fatalf("after removal: %s %q", u.Verdict, u.What)
	}
}

// A confirmed subscription is removed on rollback; a pending one cannot be.
func TestSubscriptionUndo(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
	step := alertStep(t, j, "us-east-1", "SubscribeAlertEmail", "a@example.com")
	if u := undoOf(t, cenv, "us-east-1", step); u.Verdict != control.Already || !strings.Contains(u.What, "pending") {
		t.Fatalf("pending: %s %q", u.Verdict, u.What)
	}
	env.Server.ConfirmSubscription(topicARN(), "a@example.com")
	u := undoOf(t, cenv, "us-east-1", step)
	if u.Verdict != control.Delete {
		t.Fatalf("confirmed: %s %q", u.Verdict, u.What)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := controls.SendTestAlert(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || len(res.Subscriptions) != 0 {
		t.Fatalf("after unsubscribe: %+v %v", res, err)
	}
}

// The forwarder role goes after every region's rules; one that is not
// harden's (another id) is never deleted.
func TestForwarderRoleUndo(t *testing.T) {
	_, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
	step := alertStep(t, j, "us-east-1", "CreateAlertForwarderRole", controls.ForwarderRoleName)
	u := undoOf(t, cenv, "us-east-1", step)
	if u.Verdict != control.Delete || !u.AfterAllRegions {
		t.Fatalf("%+v", u)
	}
	var result map[string]string
	_ = json.Unmarshal(step.Result, &result)
	result["role_id"] = "AROAOTHER"
	step.Result, _ = json.Marshal(result)
	if u := undoOf(t, cenv, "us-east-1", step); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("foreign role: %s %q", u.Verdict, u.What)
	}
}

// An AWS Health event in eu-west-1 reaches the home topic as a readable
// message through security-alerts' forwarding.
func TestHealthEventReachesHomeTopic(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1", "eu-west-1")
	applyAlerts(t, cenv, j, controls.HealthAlerts{}, "us-east-1", "eu-west-1")
	ev := fakeaws.Event{Source: "aws.health", DetailType: "AWS Health Event", Resources: []string{"i-0abc"}, Detail: map[string]any{
		"service": "EC2", "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", "eventTypeCategory": "scheduledChange",
		"eventDescription": []any{map[string]any{"language": "en_US", "latestDescription": "Your instance will be retired."}},
	}}
	for _, d := range env.Server.InjectEvent("eu-west-1", ev) {
		if d.Error != "" {
			t.Fatalf("delivery: %+v", d)
		}
	}
	msgs := env.Server.Published(topicARN())
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, want := range []string{"AWS Health event: EC2 AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", "Region: eu-west-1", "Resource: i-0abc", "Your instance will be retired."} {
		if !strings.Contains(msgs[0].Message, want) {
			t.Errorf("message lacks %q:\n%s", want, msgs[0].Message)
		}
	}
}

// A key policy someone narrowed is put back; rollback restores theirs.
func TestKeyPolicyDriftIsRepairedAndRestored(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	c := controls.SecurityAlerts{}
	applyAlerts(t, cenv, &controltest.MemJournal{}, c, "us-east-1")
	km := env.Clients.KMS("us-east-1")
	narrowed := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`
	key, err := km.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.AlertKeyAlias)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := km.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default"), Policy: aws.String(narrowed)}); err != nil {
		t.Fatal(err)
	}
	// Now EventBridge may not use the key: nothing reaches the topic.
	if ds := env.Server.InjectEvent("us-east-1", guardDutyFinding(8)); len(ds) != 1 || !strings.Contains(ds[0].Error, "kms:GenerateDataKey") {
		t.Fatalf("deliveries %+v", ds)
	}
	f, err := c.Check(ctx, cenv, alertTarget("us-east-1"))
	if err != nil || f.Compliant {
		t.Fatalf("check: %+v %v", f, err)
	}
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, c, "us-east-1")
	if ds := env.Server.InjectEvent("us-east-1", guardDutyFinding(8)); len(ds) != 1 || ds[0].Error != "" {
		t.Fatalf("after repair %+v", ds)
	}
	if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "PutAlertKeyPolicy" {
		t.Fatalf("journal %+v", j.Entries)
	}
	u := undoOf(t, cenv, "us-east-1", j.Entries[0].Step)
	if u.Verdict != control.Restore {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
}

func TestKeyUndo(t *testing.T) {
	cases := []struct {
		name    string
		step    func(s control.Step) control.Step
		verdict control.Verdict
	}{
		{"confirmed", func(s control.Step) control.Step { return s }, control.Delete},
		{"format 1", func(s control.Step) control.Step { s.After = nil; return s }, control.Delete},
		{"another run's key", func(s control.Step) control.Step { s.RunID = "other"; return s }, control.Drifted},
		{"unconfirmed, found by tag", func(s control.Step) control.Step { s.Done, s.Result = false, nil; return s }, control.Delete},
		{"unconfirmed, not found", func(s control.Step) control.Step { s.Done, s.Result, s.RunID = false, nil, "other"; return s }, control.Already},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, cenv := alertsEnv(t, "a@example.com")
			j := &controltest.MemJournal{}
			applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
			step := tc.step(alertStep(t, j, "us-east-1", "CreateAlertKey", controls.AlertKeyAlias))
			before := env.Server.Snapshot()
			u := undoOf(t, cenv, "us-east-1", step)
			if u.Verdict != tc.verdict {
				t.Fatalf("%s %q, want %s", u.Verdict, u.What, tc.verdict)
			}
			if tc.verdict == control.Drifted && u.Do != nil {
				t.Fatal("a key harden did not create could be deleted")
			}
			if string(env.Server.Snapshot()) != string(before) {
				t.Fatal("deciding changed the account")
			}
		})
	}
}

// A create harden never saw answered (killed in between) is undone when
// the role carries that run's tag, and left when it does not.
func TestUnconfirmedForwarderRoleUndo(t *testing.T) {
	_, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
	step := alertStep(t, j, "us-east-1", "CreateAlertForwarderRole", controls.ForwarderRoleName)
	step.Done, step.Result = false, nil
	if u := undoOf(t, cenv, "us-east-1", step); u.Verdict != control.Delete || u.Do == nil {
		t.Fatalf("unconfirmed create of this run: %s %q", u.Verdict, u.What)
	}
	step.RunID = "20200101T000000Z-other"
	if u := undoOf(t, cenv, "us-east-1", step); u.Verdict != control.Already {
		t.Fatalf("unconfirmed create of another run: %s %q", u.Verdict, u.What)
	}
}

// Deciding the undo of a rule harden created reads the rule, its tags
// (harden's ownership proof) and its targets in one round trip, not one
// after another: rollback makes this read again after the rule's target
// is removed, on the longest chain of the alert controls.
func TestRuleUndoReadsInOneRoundTrip(t *testing.T) {
	env, cenv := alertsEnv(t)
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "eu-west-1")
	const rule = "harden-alerts-guardduty"
	if err := undoOf(t, cenv, "eu-west-1", alertStep(t, j, "eu-west-1", "PutAlertTarget", rule)).Do(ctx); err != nil {
		t.Fatal(err)
	}
	step := alertStep(t, j, "eu-west-1", "PutAlertRule", rule)
	const latency = 300 * time.Millisecond
	env.Server.SetLatency(latency)
	env.Server.ResetLog()
	start := time.Now()
	u := undoOf(t, cenv, "eu-west-1", step)
	took := time.Since(start)
	env.Server.SetLatency(0)
	if u.Verdict != control.Delete {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
	var actions []string
	for _, r := range env.Server.Requests() {
		actions = append(actions, r.Action)
	}
	sort.Strings(actions)
	if got := strings.Join(actions, ","); got != "DescribeRule,ListTagsForResource,ListTargetsByRule" {
		t.Fatalf("reads %s", got)
	}
	if took >= 2*latency {
		t.Fatalf("deciding took %s at %s a call: the reads went one after another", took, latency)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients.EventBridge("eu-west-1").DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(rule)}); err == nil {
		t.Fatal("the rule is still there")
	}
}

// Deciding the undo of the alert key reads the key and its tags in one
// round trip; a key already gone is still "already gone", not an error.
func TestKeyUndoReadsInOneRoundTrip(t *testing.T) {
	env, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
	step := alertStep(t, j, "us-east-1", "CreateAlertKey", controls.AlertKeyAlias)
	const latency = 300 * time.Millisecond
	env.Server.SetLatency(latency)
	start := time.Now()
	u := undoOf(t, cenv, "us-east-1", step)
	took := time.Since(start)
	env.Server.SetLatency(0)
	if u.Verdict != control.Delete {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
	if took >= 2*latency {
		t.Fatalf("deciding took %s at %s a call: the reads went one after another", took, latency)
	}
	var result map[string]string
	_ = json.Unmarshal(step.Result, &result)
	result["key_id"] = "00000000-0000-0000-0000-000000000000"
	step.Result, _ = json.Marshal(result)
	if u := undoOf(t, cenv, "us-east-1", step); u.Verdict != control.Already {
		t.Fatalf("missing key: %s %q", u.Verdict, u.What)
	}
}

// The role's undo deletes its inline policy only when its read found one:
// once the policy's own undo removed it, deleting the role is one write.
func TestForwarderRoleUndoDeletesThePolicyOnlyWhenThere(t *testing.T) {
	for _, policyUndone := range []bool{true, false} {
		env, cenv := alertsEnv(t, "a@example.com")
		j := &controltest.MemJournal{}
		applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
		if policyUndone {
			u := undoOf(t, cenv, "us-east-1", alertStep(t, j, "us-east-1", "PutAlertForwarderRolePolicy", controls.ForwarderRoleName))
			if err := u.Do(ctx); err != nil {
				t.Fatal(err)
			}
		}
		u := undoOf(t, cenv, "us-east-1", alertStep(t, j, "us-east-1", "CreateAlertForwarderRole", controls.ForwarderRoleName))
		env.Server.ResetLog()
		if err := u.Do(ctx); err != nil {
			t.Fatal(err)
		}
		var writes []string // attempted, failed or not
		for _, r := range env.Server.Requests() {
			if r.Write {
				writes = append(writes, r.Action)
			}
		}
		want := "DeleteRole"
		if !policyUndone {
			want = "DeleteRolePolicy,DeleteRole"
		}
		if got := strings.Join(writes, ","); got != want {
			t.Fatalf("policy undone %v: writes %s, want %s", policyUndone, got, want)
		}
	}
}

// Rollback undoes the alert key (its alias, then the key) in the topic's
// chain, after the topic and without waiting for the rules: the key's
// steps name the topic's resource, and no rule's.
func TestAlertKeyIsUndoneInTheTopicsChain(t *testing.T) {
	_, cenv := alertsEnv(t, "a@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1")
	resource := func(kind control.StepKind, contains string) string {
		return undoOf(t, cenv, "us-east-1", alertStep(t, j, "us-east-1", kind, contains)).Resource
	}
	topic := resource("CreateAlertTopic", controls.AlertTopicName)
	if topic == "" {
		t.Fatal("the topic's steps name no resource")
	}
	for _, kind := range []control.StepKind{"CreateAlertKey", "CreateAlertKeyAlias"} {
		if got := resource(kind, controls.AlertKeyAlias); got != topic {
			t.Errorf("%s names %q, want the topic's %q", kind, got, topic)
		}
	}
	if got := resource("SubscribeAlertEmail", "a@example.com"); got != topic {
		t.Errorf("SubscribeAlertEmail names %q, want the topic's %q", got, topic)
	}
	if got := resource("PutAlertRule", "harden-alerts-guardduty"); got == topic || got == "" {
		t.Errorf("a rule names %q: it must be its own chain", got)
	}
}
