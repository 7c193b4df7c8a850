package controls_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// shSetup starts fakeaws with Security Hub's prerequisites applied in
// region (Config recording, and the log archive it delivers to).
func shSetup(t *testing.T, region string) (*fakeawstest.Env, controls.SecurityHub, *control.Env, control.Target) {
	t.Helper()
	env := fakeawstest.Start(t)
	c := controls.SecurityHub{}
	cenv := &control.Env{AWS: env.Clients}
	byID := map[string]control.Control{}
	for _, x := range controls.All() {
		byID[x.Info().ID] = x
	}
	if err := applyPrerequisites(byID, c, cenv, region, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	return env, c, cenv, target(c, region)
}

// enabledStandardNames returns the enabled standards' ARNs (sorted) and
// their statuses.
func enabledStandardARNs(t *testing.T, env *fakeawstest.Env, region string) ([]string, []string) {
	t.Helper()
	out, err := env.Clients.SecurityHub(region).GetEnabledStandards(ctx, &securityhub.GetEnabledStandardsInput{})
	if err != nil {
		t.Fatalf("get enabled standards: %v", err)
	}
	var arns, statuses []string
	for _, s := range out.StandardsSubscriptions {
		arns = append(arns, aws.ToString(s.StandardsArn))
		statuses = append(statuses, string(s.StandardsStatus))
	}
	sort.Strings(arns)
	return arns, statuses
}

// stepKinds lists the kinds of j's steps, sorted: the steps written
// together (the standards, the aggregator, the generator) come in any order.
func stepKinds(j *controltest.MemJournal) []string {
	var out []string
	for _, e := range j.Entries {
		out = append(out, string(e.Step.Kind))
	}
	sort.Strings(out)
	return out
}

const (
	fsbpARN  = "arn:aws:securityhub:%s::standards/aws-foundational-security-best-practices/v/1.0.0"
	cis5ARN  = "arn:aws:securityhub:%s::standards/cis-aws-foundations-benchmark/v/5.0.0"
	cis3ARN  = "arn:aws:securityhub:%s::standards/cis-aws-foundations-benchmark/v/3.0.0"
	cis12ARN = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
	pciARN   = "arn:aws:securityhub:%s::standards/pci-dss/v/3.2.1"
)

func arnIn(format, region string) string {
	if strings.Contains(format, "%s") {
		return strings.Replace(format, "%s", region, 1)
	}
	return format
}

// In the home region: the hub without default standards, FSBP and the
// newest CIS, each waited for until READY, and an aggregator linking all
// regions; rollback puts the account back exactly.
func TestSecurityHubHomeRegionLifecycle(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "us-east-1")
	env.Server.SetStandardsReadyAfter(3)
	before := env.Server.Snapshot()
	j := appliedJournal(t, c, cenv, tg)
	if got := strings.Join(stepKinds(j), ","); got != "BatchEnableStandards,CreateFindingAggregator,EnableSecurityHub" {
		t.Fatalf("steps: %s", got)
	}
	arns, statuses := enabledStandardARNs(t, env, "us-east-1")
	if want := []string{arnIn(fsbpARN, "us-east-1"), arnIn(cis5ARN, "us-east-1")}; strings.Join(arns, " ") != strings.Join(want, " ") {
		t.Fatalf("standards: %v, want %v (never the default CIS v1.2.0)", arns, want)
	}
	for _, s := range statuses {
		if s != "READY" {
			t.Fatalf("apply returned before every standard was READY: %v", statuses)
		}
	}
	polls := 0
	for _, r := range env.Server.Requests() {
		if r.Action == "GetEnabledStandards" {
			polls++
		}
	}
	if polls < 4 {
		t.Fatalf("GetEnabledStandards called %d times; the standards needed 3 polls to be READY", polls)
	}
	hub, err := env.Clients.SecurityHub("us-east-1").DescribeHub(ctx, &securityhub.DescribeHubInput{})
	if err != nil || hub.ControlFindingGenerator != shtypes.ControlFindingGeneratorSecurityControl {
		t.Fatalf("hub: %+v %v", hub, err)
	}
	aggs, err := env.Clients.SecurityHub("us-east-1").ListFindingAggregators(ctx, &securityhub.ListFindingAggregatorsInput{})
	if err != nil || len(aggs.FindingAggregators) != 1 {
		t.Fatalf("aggregators: %+v %v", aggs, err)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("after apply: %+v %v", f, err)
	}
	env.Server.ResetLog()
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
	}
}

// The newest CIS version is resolved per region from DescribeStandards.
func TestSecurityHubNewestCISPerRegion(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-2")
	if err := env.Server.WithdrawStandard("eu-west-2", "CIS AWS Foundations Benchmark v5.0.0"); err != nil {
		t.Fatal(err)
	}
	appliedJournal(t, c, cenv, tg)
	arns, _ := enabledStandardARNs(t, env, "eu-west-2")
	if want := []string{arnIn(fsbpARN, "eu-west-2"), arnIn(cis3ARN, "eu-west-2")}; strings.Join(arns, " ") != strings.Join(want, " ") {
		t.Fatalf("standards: %v, want %v", arns, want)
	}
}

// A hub the user enabled with AWS's defaults is adopted: its standards
// stay, control findings are consolidated and the newest CIS is added;
// rollback undoes exactly that.
func TestSecurityHubExistingHub(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	if _, err := env.Clients.SecurityHub("eu-west-1").EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
		ControlFindingGenerator: shtypes.ControlFindingGeneratorStandardControl}); err != nil {
		t.Fatal(err)
	}
	enabledStandardARNs(t, env, "eu-west-1") // the defaults become READY
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 2 ||
		f.Changes[0].Field != "control findings" || f.Changes[1].Field != "standard CIS AWS Foundations Benchmark v5.0.0" {
		t.Fatalf("check: %+v %v", f, err)
	}
	j := appliedJournal(t, c, cenv, tg)
	if got := strings.Join(stepKinds(j), ","); got != "BatchEnableStandards,UpdateSecurityHubConfiguration" {
		t.Fatalf("steps: %s", got)
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback:\nbefore %s\nafter  %s", before, after)
	}
}

// An account a Security Hub administrator manages is left alone. A member
// under central configuration is one of them: it cannot read its
// configuration policy (only the delegated administrator may), but
// GetAdministratorAccount names the administrator whose policies set it.
func TestSecurityHubManagedElsewhere(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	if _, err := env.Clients.SecurityHub("eu-west-1").EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
		EnableDefaultStandards: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	env.Server.SetSecurityHubAdministrator("eu-west-1", "111122223333")
	env.Server.ResetLog()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || !strings.HasPrefix(f.Unmanaged, "managed elsewhere") || !strings.Contains(f.Unmanaged, "111122223333") {
		t.Fatalf("check: %+v %v", f, err)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, tg, j.For("securityhub", "eu-west-1")); err != nil || len(ch) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply: %v %+v %v", ch, j.Entries, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("writes: %+v", w)
	}
}

// A standard the user enabled after apply stays, and so does the hub that
// holds it (drift); harden's own standards are disabled.
func TestSecurityHubDriftOnStandardsAfterApply(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	j := appliedJournal(t, c, cenv, tg)
	if _, err := env.Clients.SecurityHub("eu-west-1").BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{
		StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String(arnIn(pciARN, "eu-west-1"))}}}); err != nil {
		t.Fatal(err)
	}
	err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg })
	var drift *controltest.DriftError
	if !errors.As(err, &drift) || !strings.Contains(drift.What, "pci-dss") {
		t.Fatalf("undo: %v", err)
	}
	arns, _ := enabledStandardARNs(t, env, "eu-west-1")
	if len(arns) != 1 || arns[0] != arnIn(pciARN, "eu-west-1") {
		t.Fatalf("standards left: %v, want only the user's PCI DSS", arns)
	}
	// --force disables the hub all the same: it is harden's.
	u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Verdict != control.Drifted || u.Do == nil {
		t.Fatalf("hub undo: %s %q", u.Verdict, u.What)
	}
}

// A standard the user disabled after apply is not disabled again; the
// other one is.
func TestSecurityHubStandardDisabledByUser(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	j := appliedJournal(t, c, cenv, tg)
	sub := "arn:aws:securityhub:eu-west-1:" + fakeaws.DefaultAccountID + ":subscription/cis-aws-foundations-benchmark/v/5.0.0"
	if _, err := env.Clients.SecurityHub("eu-west-1").BatchDisableStandards(ctx, &securityhub.BatchDisableStandardsInput{
		StandardsSubscriptionArns: []string{sub}}); err != nil {
		t.Fatal(err)
	}
	u := undoVerdict(t, c, cenv, tg, j.Entries[1].Step)
	if u.Verdict != control.Restore || u.What != "disable standards AWS Foundational Security Best Practices v1.0.0 in eu-west-1" {
		t.Fatalf("undo: %s %q", u.Verdict, u.What)
	}
}

// A hub the user disabled and enabled again is not harden's.
func TestSecurityHubReenabledHubIsNotHardens(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	j := appliedJournal(t, c, cenv, tg)
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients.SecurityHub("eu-west-1").EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
		EnableDefaultStandards: aws.Bool(false), Tags: control.Tags(j.Entries[0].Step.RunID)}); err != nil {
		t.Fatal(err)
	}
	if u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("hub enabled again by someone else, with copied tags: %s %q", u.Verdict, u.What)
	}
	unconfirmed := j.Entries[0].Step
	unconfirmed.Done, unconfirmed.Result = false, nil
	if u := undoVerdict(t, c, cenv, tg, unconfirmed); u.Verdict != control.Delete {
		t.Fatalf("unconfirmed enable found by its run tag: %s %q", u.Verdict, u.What)
	}
}

// Security Hub in a region where Config is not there is blocked; the
// other region proceeds.
func TestSecurityHubBlockedWithoutConfig(t *testing.T) {
	env := fakeawstest.Start(t)
	if err := env.Server.SetServiceAbsent("config", "eu-west-2", true); err != nil {
		t.Fatal(err)
	}
	run := &engine.Run{Controls: []control.Control{controls.LogArchive{}, controls.ConfigRecorder{}, controls.SecurityHub{}},
		Env: &control.Env{AWS: env.Clients}, AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1",
		Regions: []string{"eu-west-1", "eu-west-2"}, Concurrency: 4}
	applied := byKeyResults(run.Apply(ctx, run.Check(ctx), (&controltest.MemJournal{}).For))
	if r := applied["config-recorder@eu-west-2"]; r.Status != engine.NotChecked || r.NotChecked != engine.ServiceNotOffered {
		t.Fatalf("config in eu-west-2: %+v", r)
	}
	if r := applied["securityhub@eu-west-2"]; r.Status != engine.Blocked || !strings.Contains(r.Reason, "config-recorder") {
		t.Fatalf("securityhub in eu-west-2: %+v", r)
	}
	if r := applied["securityhub@eu-west-1"]; r.Status != engine.Compliant {
		t.Fatalf("securityhub in eu-west-1: %+v (%v)", r, r.Err)
	}
}

func byKeyResults(results []engine.Result) map[string]engine.Result {
	m := map[string]engine.Result{}
	for _, r := range results {
		m[r.Key()] = r
	}
	return m
}

// The settings name the standards; one the region does not offer is a
// note, not an error; a repeated name is refused.
func TestSecurityHubSettings(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	cenv.ControlSettings = map[string]control.ControlSettings{"securityhub": &controls.SecurityHubSettings{
		Standards: []string{"PCI DSS v3.2.1", "Made Up Standard v1"}}}
	appliedJournal(t, c, cenv, tg)
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "Made Up Standard v1 not offered in eu-west-1") {
		t.Fatalf("check: %+v %v", f, err)
	}
	if arns, _ := enabledStandardARNs(t, env, "eu-west-1"); len(arns) != 1 || arns[0] != arnIn(pciARN, "eu-west-1") {
		t.Fatalf("standards: %v", arns)
	}
	bad := &controls.SecurityHubSettings{Standards: []string{"PCI DSS v3.2.1", "PCI DSS v3.2.1"}}
	var fe *control.FieldError
	if err := bad.Validate(); !errors.As(err, &fe) || fe.Field != "standards" {
		t.Fatalf("validate: %v", err)
	}
}

// fakeaws answers as Security Hub does: InvalidAccessException before it
// is enabled, ResourceConflictException when enabled twice.
func TestFakeSecurityHubErrors(t *testing.T) {
	env := fakeawstest.Start(t)
	client := env.Clients.SecurityHub("eu-west-1")
	_, err := client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	var invalid *shtypes.InvalidAccessException
	if !errors.As(err, &invalid) {
		t.Fatalf("not enabled: %v", err)
	}
	if _, err := client.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = client.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{})
	var conflict *shtypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("enabled twice: %v", err)
	}
	arns, _ := enabledStandardARNs(t, env, "eu-west-1")
	if len(arns) != 2 || arns[0] != cis12ARN {
		t.Fatalf("EnableDefaultStandards left out enables FSBP and CIS v1.2.0, as AWS does: %v", arns)
	}
}

// Unconfirmed steps: standards enabled now are disabled; an aggregator is
// never deleted without the ARN that proves it harden's; a control
// findings step without After (format 1) still restores.
func TestSecurityHubUnconfirmedAndFormat1Steps(t *testing.T) {
	_, c, cenv, tg := shSetup(t, "us-east-1")
	j := appliedJournal(t, c, cenv, tg)
	// The standards and the aggregator are written together: find them by kind.
	standards, aggregator := stepOf(t, j, "BatchEnableStandards"), stepOf(t, j, "CreateFindingAggregator")
	standards.Done, standards.Result = false, nil
	if u := undoVerdict(t, c, cenv, tg, standards); u.Verdict != control.Restore || !strings.Contains(u.What, "CIS AWS Foundations Benchmark v5.0.0") {
		t.Fatalf("unconfirmed standards: %s %q", u.Verdict, u.What)
	}
	aggregator.Done, aggregator.Result = false, nil
	if u := undoVerdict(t, c, cenv, tg, aggregator); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("unconfirmed aggregator: %s %q", u.Verdict, u.What)
	}

	env2, c2, cenv2, tg2 := shSetup(t, "eu-west-1")
	if _, err := env2.Clients.SecurityHub("eu-west-1").EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
		EnableDefaultStandards: aws.Bool(false), ControlFindingGenerator: shtypes.ControlFindingGeneratorStandardControl}); err != nil {
		t.Fatal(err)
	}
	j2 := appliedJournal(t, c2, cenv2, tg2)
	if u := undoVerdict(t, c2, cenv2, tg2, withoutAfter(stepOf(t, j2, "UpdateSecurityHubConfiguration"))); u.Verdict != control.Restore ||
		u.What != "restore Security Hub's control findings in eu-west-1 (ControlFindingGenerator SECURITY_CONTROL → STANDARD_CONTROL)" {
		t.Fatalf("format-1 config step: %s %q", u.Verdict, u.What)
	}
}

// The delegated administrator itself under central configuration: its own
// account's policy is read where central configuration lives; a policy
// leaves it alone (0 writes), self-managed lets harden manage it, and in
// another region, where the association cannot be read, it is left alone.
func TestSecurityHubCentralConfigurationAdministrator(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "us-east-1")
	if _, err := env.Clients.SecurityHub("us-east-1").EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
		EnableDefaultStandards: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	env.Server.SetSecurityHubCentralConfiguration("us-east-1", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")
	env.Server.ResetLog()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Unmanaged != "managed elsewhere: Security Hub central configuration, configuration policy a1b2c3d4-5678-90ab-cdef-EXAMPLE11111 (inherited)" {
		t.Fatalf("check under a policy: %+v %v", f, err)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, tg, j.For("securityhub", "us-east-1")); err != nil || len(ch) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply under a policy: %v %+v %v", ch, j.Entries, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("writes under a policy: %+v", w)
	}

	env.Server.SetSecurityHubCentralConfiguration("eu-west-1", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")
	if f, err := c.Check(ctx, cenv, tg); err != nil || !strings.Contains(f.Unmanaged, "readable from its home region only") {
		t.Fatalf("check outside the central configuration's home region: %+v %v", f, err)
	}

	env.Server.SetSecurityHubCentralConfiguration("us-east-1", "SELF_MANAGED_SECURITY_HUB")
	if f, err := c.Check(ctx, cenv, tg); err != nil || f.Unmanaged != "" || f.Action != control.ActionUpdate {
		t.Fatalf("check when self-managed: %+v %v", f, err)
	}
}

// waitWatcher records the activities a control announces.
type waitWatcher struct {
	mu        sync.Mutex
	started   []control.Activity
	ended     int
	announced chan struct{}
}

func newWaitWatcher() *waitWatcher { return &waitWatcher{announced: make(chan struct{}, 16)} }

func (w *waitWatcher) monitor(a control.Activity) func() {
	w.mu.Lock()
	w.started = append(w.started, a)
	w.mu.Unlock()
	w.announced <- struct{}{}
	return func() { w.mu.Lock(); w.ended++; w.mu.Unlock() }
}

// While standards are PENDING, apply says which it waits for, and since
// when; Ctrl-C (a cancelled context) ends the wait at once, and the wait is
// no longer shown.
func TestSecurityHubWaitShowsProgressAndStopsOnCancel(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	env.Server.SetStandardsReadyAfter(1 << 30) // never READY
	w := newWaitWatcher()
	cctx, cancel := context.WithCancel(control.WithMonitor(ctx, w.monitor))
	defer cancel()
	j := &controltest.MemJournal{}
	done := make(chan error, 1)
	go func() {
		_, err := c.Apply(cctx, cenv, tg, j.For(c.Info().ID, tg.Region))
		done <- err
	}()
	select {
	case <-w.announced:
	case err := <-done:
		t.Fatalf("apply returned without waiting: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no wait announced within 10 s")
	}
	w.mu.Lock()
	a := w.started[0]
	w.mu.Unlock()
	want := "waiting for AWS Foundational Security Best Practices v1.0.0 and CIS AWS Foundations Benchmark v5.0.0 to be READY"
	if !a.Wait || a.What != want || a.Started.IsZero() || time.Since(a.Started) > 10*time.Second {
		t.Fatalf("announced %+v, want a wait %q", a, want)
	}
	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("apply after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the wait went on after cancel")
	}
	if d := time.Since(cancelled); d > time.Second {
		t.Errorf("the wait took %s to end after cancel", d)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.started) != 1 || w.ended != 1 {
		t.Errorf("%d waits announced, %d ended; want 1 and 1 (the same standards stay pending)", len(w.started), w.ended)
	}
}

// The wait for READY has a deadline: standards that never become READY
// end the apply with an error naming them, after the deadline, not never.
func TestSecurityHubWaitDeadline(t *testing.T) {
	env, c, cenv, tg := shSetup(t, "eu-west-1")
	env.Server.SetStandardsReadyAfter(1 << 30)
	defer controls.SetStandardsReadyDeadline(700 * time.Millisecond)()
	w := newWaitWatcher()
	j := &controltest.MemJournal{}
	start := time.Now()
	_, err := c.Apply(control.WithMonitor(ctx, w.monitor), cenv, tg, j.For(c.Info().ID, tg.Region))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still not ready") {
		t.Fatalf("apply: %v, want the deadline", err)
	}
	if took < 700*time.Millisecond || took > 5*time.Second {
		t.Errorf("apply took %s with a deadline of 700ms", took)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.started) == 0 || w.ended != len(w.started) {
		t.Errorf("waits: %d announced, %d ended", len(w.started), w.ended)
	}
}
