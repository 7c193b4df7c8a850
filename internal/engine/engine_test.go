package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

var ctx = context.Background()

func realRun(env *fakeawstest.Env, regions ...string) *engine.Run {
	return &engine.Run{
		Controls:    controls.All(),
		Env:         &control.Env{AWS: env.Clients, ControlSettings: alertEmail()},
		AccountID:   fakeaws.DefaultAccountID,
		HomeRegion:  "us-east-1",
		Regions:     regions,
		Concurrency: 8,
	}
}

// fresh reports whether a plan result is what a fresh account gives: a
// change to make, or Detective deferred until GuardDuty is 48 hours old.
func fresh(r engine.Result) bool {
	return r.Status == engine.NonCompliant || deferred(r)
}

func deferred(r engine.Result) bool {
	return r.Status == engine.Deferred && strings.HasPrefix(r.Reason, "deferred")
}

// alertEmail gives security-alerts the address it needs to be compliant.
func alertEmail() map[string]control.ControlSettings {
	s := controls.SecurityAlerts{}.NewSettings().(*controls.SecurityAlertsSettings)
	s.Emails = []string{"security@example.com"}
	return map[string]control.ControlSettings{
		"security-alerts": s,
		// What a person gives the controls that need them: a budget
		// amount and the security contact.
		"budget-alarm": &controls.BudgetAlarmSettings{Amount: 100, Currency: "USD"},
		"alternate-contacts": &controls.AlternateContactsSettings{SecurityName: "Sec Team", SecurityTitle: "Security",
			SecurityEmail: "security@example.com", SecurityPhone: "+1 555 0100"},
	}
}

func byKey(results []engine.Result) map[string]engine.Result {
	m := map[string]engine.Result{}
	for _, r := range results {
		m[r.Key()] = r
	}
	return m
}

func TestAccessDeniedInOneRegion(t *testing.T) {
	env := fakeawstest.Start(t)
	// Only EBS's call is denied: the network controls use EC2 too.
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Action: "GetEbsEncryptionByDefault", Region: "eu-west-1", Error: fakeaws.AccessDenied})
	run := realRun(env, "eu-west-1", "eu-west-2", "us-east-1")
	plan := run.Check(ctx)
	account, regional := 0, 0
	for _, c := range controls.All() {
		if c.Info().Scope == control.Account {
			account++
		} else {
			regional++
		}
	}
	if want := account + regional*3; len(plan) != want {
		t.Fatalf("want %d results (%d account-wide, %d regional x 3), got %d", want, account, regional, len(plan))
	}
	res := byKey(plan)
	denied := res["ebs-default-encryption@eu-west-1"]
	if denied.Status != engine.Error || !strings.Contains(denied.Reason, "ec2:GetEbsEncryptionByDefault") {
		t.Fatalf("denied target: %+v", denied)
	}
	if msg := denied.Err.Error(); strings.Contains(msg, "RequestID") || !strings.Contains(msg, "UnauthorizedOperation") || !strings.Contains(msg, "eu-west-1") {
		t.Fatalf("error line should be short and name code and region: %q", msg)
	}
	for k, r := range res {
		if k != "ebs-default-encryption@eu-west-1" && !fresh(r) && r.Status != engine.Unmanaged {
			t.Fatalf("%s: %s (%v): one region's failure must not affect others", k, r.Status, r.Err)
		}
	}
	// Apply does every other target and leaves the denied one as it was.
	j := &controltest.MemJournal{}
	applied := byKey(run.Apply(ctx, plan, j.For))
	for k, r := range applied {
		want := engine.Compliant
		switch {
		case k == "ebs-default-encryption@eu-west-1":
			want = engine.Error
		case deferred(r):
			want = engine.Deferred
		}
		if r.Status != want {
			t.Fatalf("after apply %s: %s (%v)", k, r.Status, r.Err)
		}
	}
	// password policy 1, public access block 1, log archive 8 (a new
	// bucket's Block Public Access is S3's own, read not written), trail 2,
	// Config 4 in the home region (with the service-linked role) and 3 in
	// each other, EBS 2 (not eu-west-1), analyzers 3, GuardDuty detectors
	// 3, Security Hub 2 a region (hub, standards) and the aggregator in the
	// home region, default VPCs 21 (gateway detach and delete, a subnet per
	// zone, the VPC: 6 in each eu region, 9 in us-east-1). Regions racing
	// to create the role get "has been taken": journaled as refused, not
	// done. The default security groups are left out: default-vpc deletes
	// them with their VPC in the same apply, before or after their rules
	// are revoked. security-alerts 12 at home (key, alias, topic,
	// subscription, role, role policy, 3 rules and their targets) and 4 in
	// each other region (GuardDuty and Access Analyzer rules and targets:
	// the aggregator securityhub makes first brings Security Hub findings
	// home), health-alerts 2 a region.
	n := 0
	for _, e := range j.Reversed() {
		if e.Control != "default-security-group" {
			n++
		}
	}
	// CloudTrail alarms 35 (log group, retention, role, role policy, trail
	// delivery, 15 filters, 15 alarms), budget 1, anomaly monitor and
	// subscription 2, security contact 1.
	if n != 58+12+4*2+2*3+35+1+2+1 {
		t.Fatalf("journaled writes that happened = %d, want 123", n)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "access-analyzer", Action: "ListAnalyzers", Error: fakeaws.Throttle, Times: 4})
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Error: fakeaws.Throttle, Times: 3})
	plan := realRun(env, "eu-west-1", "eu-west-2").Check(ctx)
	for _, r := range plan {
		if !fresh(r) {
			t.Fatalf("%s: %s (%v)", r.Key(), r.Status, r.Err)
		}
	}
	throttled := 0
	for _, r := range env.Server.Requests() {
		if r.Error == "ThrottlingException" || r.Error == "RequestLimitExceeded" {
			throttled++
		}
	}
	if throttled != 7 {
		t.Fatalf("throttled calls = %d, want 7", throttled)
	}
}

func TestPersistentThrottlingIsAnError(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Region: "eu-west-2", Error: fakeaws.Throttle})
	// Paced retries of a throttling that never stops end at the call's
	// deadline; a short one keeps the test short.
	clients, err := awsclient.Load(ctx, awsclient.Options{Region: "us-east-1", EndpointURL: env.URL,
		MaxBackoff: 20 * time.Millisecond, Timeouts: awsclient.Timeouts{Call: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	run := realRun(env, "eu-west-1", "eu-west-2")
	run.Env = &control.Env{AWS: clients}
	res := byKey(run.Check(ctx))
	r := res["ebs-default-encryption@eu-west-2"]
	if r.Status != engine.Error || !strings.Contains(r.Reason, "throttled") {
		t.Fatalf("persistent throttling: %+v", r)
	}
	if res["ebs-default-encryption@eu-west-1"].Status != engine.NonCompliant {
		t.Fatal("other region affected")
	}
}

// A region that answers "invalid token" is an error with a credentials
// hint, never a skip: the engine cannot tell a disabled region from bad
// credentials, and regions come from DescribeRegions before the run.
func TestInvalidTokenIsAnError(t *testing.T) {
	env := fakeawstest.Start(t)
	res := byKey(realRun(env, "af-south-1", "eu-west-1").Check(ctx))
	for _, c := range controls.All() {
		if c.Info().Scope != control.Regional {
			continue
		}
		id := c.Info().ID
		r := res[id+"@af-south-1"]
		if r.Status != engine.Error || r.Err == nil || !strings.Contains(r.Reason, "credentials") {
			t.Fatalf("%s in a region answering invalid-token: %+v", id, r)
		}
		if !fresh(res[id+"@eu-west-1"]) {
			t.Fatalf("%s in eu-west-1 affected", id)
		}
	}
	// The home region too: IAM answering UnrecognizedClientException.
	env.Server.AddFault(fakeaws.Fault{Service: "iam", Error: "UnrecognizedClientException", Status: 403,
		Message: "The security token included in the request is invalid."})
	r := byKey(realRun(env, "eu-west-1").Check(ctx))["iam-password-policy@us-east-1"]
	if r.Status != engine.Error || !strings.Contains(r.Reason, "credentials") {
		t.Fatalf("iam answering UnrecognizedClientException: %+v", r)
	}
}

// An explicit deny in a service control policy leaves the target not
// checked, with the reason; a denial naming the action names that action.
func TestDeniedBySCPAndDeniedAction(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Region: "eu-west-1", Error: "UnauthorizedOperation", Status: 403,
		Message: "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/x is not authorized to perform: ec2:GetEbsEncryptionByDefault with an explicit deny in a service control policy"})
	env.Server.AddFault(fakeaws.Fault{Service: "access-analyzer", Region: "eu-west-1", Error: "AccessDeniedException", Status: 403,
		Message: "User: arn:aws:iam::123456789012:user/x is not authorized to perform: access-analyzer:ListAnalyzers on resource: arn:aws:access-analyzer:eu-west-1:123456789012:*"})
	res := byKey(realRun(env, "eu-west-1").Check(ctx))
	r := res["ebs-default-encryption@eu-west-1"]
	if r.Status != engine.NotChecked || r.NotChecked != engine.DeniedBySCP || r.NotChecked.Expected() || r.Err != nil {
		t.Fatalf("SCP-denied target: %+v", r)
	}
	r = res["access-analyzer@eu-west-1"]
	if r.Status != engine.Error || r.Reason != "access denied: allow access-analyzer:ListAnalyzers for this identity in eu-west-1" {
		t.Fatalf("denied target: %+v", r)
	}
}

// fakeControl is a control whose behaviour a test sets.
type fakeControl struct {
	info    control.Info
	check   func(region string) (control.Finding, error)
	apply   func(region string) error
	mu      sync.Mutex
	applied []string
}

func (f *fakeControl) Info() control.Info { return f.info }
func (f *fakeControl) Check(_ context.Context, _ *control.Env, t control.Target) (control.Finding, error) {
	f.mu.Lock()
	done := false
	for _, r := range f.applied {
		done = done || r == t.Region
	}
	f.mu.Unlock()
	if done {
		return control.Finding{Compliant: true}, nil
	}
	return f.check(t.Region)
}
func (f *fakeControl) Apply(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	err := j.Write(ctx, "Set", nil, nil, func(context.Context) (any, error) { return nil, f.apply(t.Region) })
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.applied = append(f.applied, t.Region)
	f.mu.Unlock()
	return []control.Change{{Field: "x", Current: "a", Desired: "b"}}, nil
}
func (f *fakeControl) Steps() control.Steps { return control.Steps{} }

func needsChange(string) (control.Finding, error) {
	return control.Finding{Action: control.ActionUpdate, Changes: []control.Change{{Field: "x", Current: "a", Desired: "b"}}}, nil
}

func TestPanicIsContained(t *testing.T) {
	bad := &fakeControl{info: control.Info{ID: "bad", Scope: control.Regional}, check: func(r string) (control.Finding, error) {
		if r == "r2" {
			panic("boom")
		}
		return control.Finding{Compliant: true}, nil
	}}
	run := &engine.Run{Controls: []control.Control{bad}, Regions: []string{"r1", "r2", "r3"}, HomeRegion: "r1"}
	res := byKey(run.Check(ctx))
	if res["bad@r2"].Status != engine.Error || !strings.Contains(res["bad@r2"].Err.Error(), "boom") {
		t.Fatalf("panic: %+v", res["bad@r2"])
	}
	if res["bad@r1"].Status != engine.Compliant || res["bad@r3"].Status != engine.Compliant {
		t.Fatal("a panic in one target affected another")
	}
}

func TestPrerequisites(t *testing.T) {
	var order []string
	var mu sync.Mutex
	record := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	base := &fakeControl{info: control.Info{ID: "base", Scope: control.Account}, check: needsChange,
		apply: func(string) error { time.Sleep(20 * time.Millisecond); record("base"); return nil }}
	regional := &fakeControl{info: control.Info{ID: "regional", Scope: control.Regional}, check: needsChange,
		apply: func(r string) error {
			if r == "r2" {
				return errors.New("cannot")
			}
			record("regional@" + r)
			return nil
		}}
	dependent := &fakeControl{info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"base", "regional"}},
		check: needsChange, apply: func(r string) error { record("dependent@" + r); return nil }}
	ordered, err := engine.Order([]control.Control{dependent, regional, base})
	if err != nil {
		t.Fatal(err)
	}
	if ordered[2].Info().ID != "dependent" {
		t.Fatalf("order: %s %s %s", ordered[0].Info().ID, ordered[1].Info().ID, ordered[2].Info().ID)
	}
	run := &engine.Run{Controls: ordered, Regions: []string{"r1", "r2"}, HomeRegion: "r1", Concurrency: 1}
	plan := run.Check(ctx)
	j := &controltest.MemJournal{}
	res := byKey(run.Apply(ctx, plan, j.For))
	if res["dependent@r1"].Status != engine.Compliant {
		t.Fatalf("dependent@r1: %+v", res["dependent@r1"])
	}
	if r := res["dependent@r2"]; r.Status != engine.Blocked || !strings.Contains(r.Reason, "regional in r2") {
		t.Fatalf("dependent@r2 should be blocked by regional@r2: %+v", r)
	}
	pos := map[string]int{}
	for i, s := range order {
		pos[s] = i + 1
	}
	if len(order) != 3 || pos["base"] == 0 || pos["regional@r1"] == 0 || pos["dependent@r1"] != 3 {
		t.Fatalf("apply order %v: dependent@r1 must come after both prerequisites", order)
	}
}

func TestOrderCycle(t *testing.T) {
	a := &fakeControl{info: control.Info{ID: "a", DependsOn: []string{"b"}}}
	b := &fakeControl{info: control.Info{ID: "b", DependsOn: []string{"a"}}}
	if _, err := engine.Order([]control.Control{a, b}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle not detected: %v", err)
	}
}

func TestCancelledApplyWritesNothingMore(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	var n int
	var mu sync.Mutex
	c := &fakeControl{info: control.Info{ID: "c", Scope: control.Regional}, check: needsChange,
		apply: func(string) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n == 2 {
				cancel()
			}
			return nil
		}}
	run := &engine.Run{Controls: []control.Control{c}, Regions: []string{"r1", "r2", "r3", "r4", "r5"}, HomeRegion: "r1", Concurrency: 1}
	plan := run.Check(ctx)
	j := &controltest.MemJournal{}
	results := run.Apply(cctx, plan, j.For)
	if n != 2 || len(j.Entries) != 2 {
		t.Fatalf("after cancel: %d writes, %d journal entries; want 2 and 2", n, len(j.Entries))
	}
	interrupted := 0
	for _, r := range results {
		if r.Status == engine.Error && r.Reason == "interrupted" {
			interrupted++
		}
	}
	if interrupted != 3 {
		t.Fatalf("interrupted targets = %d, want 3", interrupted)
	}
}
