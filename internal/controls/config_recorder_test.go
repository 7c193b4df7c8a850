package controls_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const crHome = "us-east-1"

func crTarget(region string) control.Target {
	return control.Target{AccountID: fakeaws.DefaultAccountID, Region: region, HomeRegion: crHome}
}

var crSLR = "arn:aws:iam::" + fakeaws.DefaultAccountID + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"

// crSetup starts a fake account with log-archive applied: the
// config-recorder prerequisite. The request log starts empty.
func crSetup(t *testing.T) (*fakeawstest.Env, *control.Env) {
	t.Helper()
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	la := controls.LogArchive{}
	if _, err := la.Apply(ctx, cenv, crTarget(crHome), (&controltest.MemJournal{}).For("log-archive", crHome)); err != nil {
		t.Fatalf("apply log-archive: %v", err)
	}
	env.Server.ResetLog()
	return env, cenv
}

// crActions lists the accepted write calls, as "region Action".
func crActions(env *fakeawstest.Env) []string {
	var out []string
	for _, w := range env.Server.Writes() {
		out = append(out, w.Region+" "+w.Action)
	}
	return out
}

func crEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// crRecorder returns the region's recorder (nil when none) and whether it
// records.
func crRecorder(t *testing.T, env *fakeawstest.Env, region string) (*cstypes.ConfigurationRecorder, bool) {
	t.Helper()
	c := env.Clients.Config(region)
	recs, err := c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.ConfigurationRecorders) == 0 {
		return nil, false
	}
	if len(recs.ConfigurationRecorders) > 1 {
		t.Fatalf("%d recorders in %s", len(recs.ConfigurationRecorders), region)
	}
	st, err := c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	if err != nil || len(st.ConfigurationRecordersStatus) != 1 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	return &recs.ConfigurationRecorders[0], st.ConfigurationRecordersStatus[0].Recording
}

func crChannel(t *testing.T, env *fakeawstest.Env, region string) *cstypes.DeliveryChannel {
	t.Helper()
	out, err := env.Clients.Config(region).DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DeliveryChannels) == 0 {
		return nil
	}
	return &out.DeliveryChannels[0]
}

func crRoleExists(t *testing.T, env *fakeawstest.Env, name string) bool {
	t.Helper()
	_, err := env.Clients.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awserror.Is(err, "NoSuchEntity") {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func crChange(f control.Finding, field string) (control.Change, bool) {
	for _, c := range f.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return control.Change{}, false
}

// crRollback undoes entries newest first, each in its own region.
func crRollback(t *testing.T, cenv *control.Env, entries []controltest.Entry) {
	t.Helper()
	c := controls.ConfigRecorder{}
	for _, e := range entries {
		if err := controltest.Undo(ctx, c, cenv, crTarget(e.Region), e.Step); err != nil {
			t.Fatalf("rollback %s in %s: %v", e.Step.Kind, e.Region, err)
		}
	}
}

func TestConfigRecorderInfo(t *testing.T) {
	i := controls.ConfigRecorder{}.Info()
	if i.ID != "config-recorder" || i.Scope != control.Regional || i.Destructive ||
		strings.Join(i.DependsOn, ",") != "log-archive" || i.SecurityHub[0] != "Config.1" || i.CIS[0] != "3.3" {
		t.Fatalf("info: %+v", i)
	}
}

func TestConfigRecorderLifecycle(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	bucket := controls.LogBucketName(cenv, crTarget(crHome))
	key, err := env.Clients.KMS(crHome).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	regions := []string{crHome, "eu-west-1"}

	for _, r := range regions {
		env.Server.ResetLog()
		f, err := c.Check(ctx, cenv, crTarget(r))
		if err != nil || f.Compliant || f.Unmanaged != "" || f.Action != control.ActionCreate {
			t.Fatalf("check fresh %s: %+v, %v", r, f, err)
		}
		want := []control.Change{
			{Field: "recorder", Current: "none", Desired: "default, all supported types"},
			{Field: "delivery channel", Current: "none", Desired: "s3://" + bucket},
			{Field: "recording", Current: "false", Desired: "true"},
		}
		if r == crHome {
			want[0].Desired += ", global types"
		}
		if fmt.Sprint(f.Changes) != fmt.Sprint(want) {
			t.Fatalf("changes in %s:\n got  %+v\n want %+v", r, f.Changes, want)
		}
		var calls []string
		for _, q := range env.Server.Requests() {
			calls = append(calls, q.Region+" "+q.Action)
		}
		sort.Strings(calls) // read together: any order
		crEqual(t, "check calls", calls, []string{r + " DescribeConfigurationRecorderStatus",
			r + " DescribeConfigurationRecorders", r + " DescribeDeliveryChannels"})
	}
	before := env.Server.Snapshot()

	j := &controltest.MemJournal{}
	wantWrites := map[string][]string{
		crHome: {"global CreateServiceLinkedRole", crHome + " PutConfigurationRecorder",
			crHome + " PutDeliveryChannel", crHome + " StartConfigurationRecorder"},
		"eu-west-1": {"eu-west-1 PutConfigurationRecorder", "eu-west-1 PutDeliveryChannel", "eu-west-1 StartConfigurationRecorder"},
	}
	for _, r := range regions {
		env.Server.ResetLog()
		n := len(j.Entries)
		changed, err := c.Apply(ctx, cenv, crTarget(r), j.For("config-recorder", r))
		if err != nil || len(changed) != 3 {
			t.Fatalf("apply %s: %v, %v", r, changed, err)
		}
		got := crActions(env)
		// IAM is global: fakeaws logs it under the signing region.
		for i, w := range got {
			if strings.HasSuffix(w, " CreateServiceLinkedRole") {
				got[i] = "global CreateServiceLinkedRole"
			}
		}
		crEqual(t, "writes in "+r, got, wantWrites[r])
		if len(j.Entries)-n != len(got) {
			t.Fatalf("%d writes but %d journal entries in %s", len(got), len(j.Entries)-n, r)
		}
	}

	for _, r := range regions {
		f, err := c.Check(ctx, cenv, crTarget(r))
		if err != nil || !f.Compliant || len(f.Changes) != 0 || f.Note != "" {
			t.Fatalf("after apply %s: %+v, %v", r, f, err)
		}
		rec, recording := crRecorder(t, env, r)
		if rec == nil || aws.ToString(rec.Name) != "default" || aws.ToString(rec.RoleARN) != crSLR || !recording {
			t.Fatalf("recorder in %s: %+v recording=%v", r, rec, recording)
		}
		g := rec.RecordingGroup
		if !g.AllSupported || g.IncludeGlobalResourceTypes != (r == crHome) ||
			g.RecordingStrategy == nil || g.RecordingStrategy.UseOnly != cstypes.RecordingStrategyTypeAllSupportedResourceTypes {
			t.Fatalf("recording group in %s: %+v", r, g)
		}
		ch := crChannel(t, env, r)
		if ch == nil || aws.ToString(ch.Name) != "default" || aws.ToString(ch.S3BucketName) != bucket || aws.ToString(ch.S3KmsKeyArn) != keyARN {
			t.Fatalf("channel in %s: %+v", r, ch)
		}
	}

	env.Server.ResetLog()
	j2 := &controltest.MemJournal{}
	for _, r := range regions {
		if ch, err := c.Apply(ctx, cenv, crTarget(r), j2.For("config-recorder", r)); err != nil || len(ch) != 0 {
			t.Fatalf("second apply %s: %v, %v", r, ch, err)
		}
	}
	if w := env.Server.Writes(); len(w) != 0 || len(j2.Entries) != 0 {
		t.Fatalf("second apply wrote: %+v, journal %+v", w, j2.Entries)
	}

	crRollback(t, cenv, j.Reversed())
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
	}
	if crRoleExists(t, env, "AWSServiceRoleForConfig") {
		t.Fatal("service-linked role harden created was kept")
	}
	env.Server.ResetLog()
	crRollback(t, cenv, j.Reversed())
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second rollback wrote: %+v", w)
	}
}

// crBarrier holds every caller of CreateServiceLinkedRole until n have
// arrived, so that concurrent regions all find the role missing.
type crBarrier struct {
	next    control.Journal
	arrived *sync.WaitGroup
}

func (b crBarrier) RunID() string { return b.next.RunID() }

func (b crBarrier) Write(ctx context.Context, action control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	if action != "CreateServiceLinkedRole" {
		return b.next.Write(ctx, action, prior, after, write)
	}
	return b.next.Write(ctx, action, prior, after, func(ctx context.Context) (any, error) {
		b.arrived.Done()
		all := make(chan struct{})
		go func() { b.arrived.Wait(); close(all) }()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		return write(ctx)
	})
}

func TestConfigRecorderConcurrentRegions(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	before := env.Server.Snapshot()
	regions := []string{crHome, "eu-west-1"}
	j := &controltest.MemJournal{}
	var arrived sync.WaitGroup
	arrived.Add(len(regions))
	errs := make([]error, len(regions))
	var wg sync.WaitGroup
	for i, r := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Apply(ctx, cenv, crTarget(r), crBarrier{j.For("config-recorder", r), &arrived})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("apply %s: %v", regions[i], err)
		}
	}
	created := 0
	for _, w := range env.Server.Writes() {
		if w.Action == "CreateServiceLinkedRole" {
			created++
		}
	}
	var done, refused int
	for _, e := range j.Entries {
		if e.Step.Kind == "CreateServiceLinkedRole" {
			if e.Failed {
				refused++
			} else if e.Step.Done {
				done++
			}
		}
	}
	if created != 1 || done != 1 || refused != 1 {
		t.Fatalf("service-linked role: %d accepted creates, %d done and %d refused journal steps; want 1, 1, 1", created, done, refused)
	}
	for _, r := range regions {
		if f, err := c.Check(ctx, cenv, crTarget(r)); err != nil || !f.Compliant {
			t.Fatalf("%s after concurrent apply: %+v, %v", r, f, err)
		}
	}
	crRollback(t, cenv, j.Reversed())
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
	}
}

// crWithoutRecorderTimes drops the recorder status times from a snapshot:
// starting and stopping a recorder leaves its last start and stop times.
func crWithoutRecorderTimes(t *testing.T, snap []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	for _, r := range m["Regions"].(map[string]any) {
		cfg, _ := r.(map[string]any)["Config"].(map[string]any)
		if rec, ok := cfg["Recorder"].(map[string]any); ok {
			for _, k := range []string{"LastStatus", "LastStartTime", "LastStopTime", "LastStatusChangeTime"} {
				delete(rec, k)
			}
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// crCustomRecorder installs a recorder with its own role, not recording.
func crCustomRecorder(t *testing.T, env *fakeawstest.Env, region, name string) string {
	t.Helper()
	role, err := env.Clients.IAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("my-config-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"config.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Clients.Config(region).PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{
		ConfigurationRecorder: &cstypes.ConfigurationRecorder{
			Name: aws.String(name), RoleARN: role.Role.Arn,
			RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
			RecordingMode:  &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequencyDaily},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(role.Role.Arn)
}

func TestConfigRecorderReusesExistingRecorder(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	tg := crTarget(crHome)
	roleARN := crCustomRecorder(t, env, crHome, "my-recorder")
	before := env.Server.Snapshot()

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionUpdate || !strings.Contains(f.Note, `"my-recorder"`) {
		t.Fatalf("check: %+v, %v", f, err)
	}
	if ch, ok := crChange(f, "recorder role"); !ok || ch.Current != roleARN || ch.Desired != crSLR {
		t.Fatalf("role change: %+v in %+v", ch, f.Changes)
	}
	if _, ok := crChange(f, "recording"); !ok || len(f.Changes) != 3 {
		t.Fatalf("changes: %+v", f.Changes)
	}

	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("config-recorder", crHome)); err != nil {
		t.Fatal(err)
	}
	rec, recording := crRecorder(t, env, crHome)
	if aws.ToString(rec.Name) != "my-recorder" || aws.ToString(rec.RoleARN) != crSLR || !recording ||
		rec.RecordingMode == nil || rec.RecordingMode.RecordingFrequency != cstypes.RecordingFrequencyDaily {
		t.Fatalf("reused recorder: %+v (mode %+v) recording=%v", rec, rec.RecordingMode, recording)
	}
	if ch := crChannel(t, env, crHome); ch == nil || aws.ToString(ch.Name) != "default" {
		t.Fatalf("channel: %+v", ch)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("after apply: %+v, %v", f, err)
	}

	crRollback(t, cenv, j.Reversed())
	rec, recording = crRecorder(t, env, crHome)
	if aws.ToString(rec.Name) != "my-recorder" || aws.ToString(rec.RoleARN) != roleARN || recording ||
		rec.RecordingMode.RecordingFrequency != cstypes.RecordingFrequencyDaily {
		t.Fatalf("restored recorder: %+v recording=%v", rec, recording)
	}
	if crChannel(t, env, crHome) != nil || crRoleExists(t, env, "AWSServiceRoleForConfig") {
		t.Fatal("rollback left the channel or the service-linked role")
	}
	if a, b := crWithoutRecorderTimes(t, env.Server.Snapshot()), crWithoutRecorderTimes(t, before); a != b {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", b, a)
	}
	env.Server.ResetLog()
	crRollback(t, cenv, j.Reversed())
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second rollback wrote: %+v", w)
	}
}

func TestConfigRecorderKeepsOtherBucketChannel(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	const region, other = "eu-west-1", "my-org-config-logs"
	tg := crTarget(region)
	crCustomRecorder(t, env, region, "default")
	if _, err := env.Clients.S3(crHome).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	mine := &cstypes.DeliveryChannel{Name: aws.String("my-channel"), S3BucketName: aws.String(other), S3KeyPrefix: aws.String("org")}
	if _, err := env.Clients.Config(region).PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: mine}); err != nil {
		t.Fatal(err)
	}
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || !strings.Contains(f.Note, `"my-channel" to s3://`+other+" counts") {
		t.Fatalf("check: %+v, %v", f, err)
	}
	for _, ch := range f.Changes {
		if strings.HasPrefix(ch.Field, "delivery channel") {
			t.Fatalf("plans to change the user's channel: %+v", ch)
		}
	}
	if ch, ok := crChange(f, "global resource types"); !ok || ch.Current != "true" || ch.Desired != "false" {
		t.Fatalf("global types outside the home region: %+v in %+v", ch, f.Changes)
	}

	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("config-recorder", region)); err != nil {
		t.Fatal(err)
	}
	for _, w := range env.Server.Writes() {
		if strings.Contains(w.Action, "DeliveryChannel") {
			t.Fatalf("apply touched the user's channel: %+v", w)
		}
	}
	ch := crChannel(t, env, region)
	if aws.ToString(ch.Name) != "my-channel" || aws.ToString(ch.S3BucketName) != other || aws.ToString(ch.S3KeyPrefix) != "org" || ch.S3KmsKeyArn != nil {
		t.Fatalf("user's channel changed: %+v", ch)
	}
	rec, recording := crRecorder(t, env, region)
	if aws.ToString(rec.RoleARN) != crSLR || rec.RecordingGroup.IncludeGlobalResourceTypes || !recording {
		t.Fatalf("recorder: %+v recording=%v", rec, recording)
	}
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "s3://"+other) {
		t.Fatalf("after apply: %+v, %v", f, err)
	}

	crRollback(t, cenv, j.Reversed())
	rec, recording = crRecorder(t, env, region)
	if aws.ToString(rec.RoleARN) == crSLR || !rec.RecordingGroup.IncludeGlobalResourceTypes || recording {
		t.Fatalf("recorder not restored: %+v recording=%v", rec, recording)
	}
	if ch := crChannel(t, env, region); aws.ToString(ch.Name) != "my-channel" || aws.ToString(ch.S3BucketName) != other {
		t.Fatalf("user's channel after rollback: %+v", ch)
	}
}

func TestConfigRecorderControlTowerUnmanaged(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	const region = "eu-west-1"
	env.Server.AddControlTowerConfigRecorder(region)
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, crTarget(region))
	if err != nil || f.Compliant || f.Unmanaged != "managed by AWS Control Tower: change it there" {
		t.Fatalf("check: %+v, %v", f, err)
	}
	if _, ok := crChange(f, "recorder role"); !ok {
		t.Fatalf("changes should say what differs: %+v", f.Changes)
	}
	if ch, ok := crChange(f, "global resource types"); !ok || ch.Current != "true" {
		t.Fatalf("changes: %+v", f.Changes)
	}
	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	changed, err := c.Apply(ctx, cenv, crTarget(region), j.For("config-recorder", region))
	if err != nil || len(changed) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply: %v, %v, journal %+v", changed, err, j.Entries)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("apply wrote: %+v", w)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("Control Tower recorder changed")
	}
}

// A recorder that a StackSet manages is protected by an SCP that fakeaws
// cannot tell by name: the denied write says where to change it.
func TestConfigRecorderSCPDenied(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	const region = "eu-west-1"
	crCustomRecorder(t, env, region, "StackSet-config-recorder")
	env.Server.AddFault(fakeaws.Fault{Service: "config", Action: "PutConfigurationRecorder", Error: "AccessDeniedException",
		Message: "User: x is not authorized to perform: config:PutConfigurationRecorder with an explicit deny in a service control policy"})
	j := &controltest.MemJournal{}
	_, err := c.Apply(ctx, cenv, crTarget(region), j.For("config-recorder", region))
	if err == nil || !awserror.IsBlockedByPolicy(err) || !strings.Contains(err.Error(), "change it there") {
		t.Fatalf("apply: %v", err)
	}
	rec, recording := crRecorder(t, env, region)
	if aws.ToString(rec.RoleARN) == crSLR || recording || crChannel(t, env, region) != nil {
		t.Fatalf("protected recorder changed: %+v", rec)
	}
	crRollback(t, cenv, j.Reversed())
	if crRoleExists(t, env, "AWSServiceRoleForConfig") {
		t.Fatal("rollback kept the service-linked role")
	}
}

func TestConfigRecorderNeedsLogArchive(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	j := &controltest.MemJournal{}
	_, err := controls.ConfigRecorder{}.Apply(ctx, cenv, crTarget(crHome), j.For("config-recorder", crHome))
	if err == nil || !strings.Contains(err.Error(), "apply log-archive first") {
		t.Fatalf("apply without log-archive: %v", err)
	}
	if w := env.Server.Writes(); len(w) != 0 || len(j.Entries) != 0 {
		t.Fatalf("wrote before finding the prerequisite missing: %+v", w)
	}
}

// crInterrupted journals like the engine's journal but loses the outcome
// of one action: the step stays Done=false, and the write either ran
// (the answer was lost) or never reached AWS.
type crInterrupted struct {
	action  string
	happens bool
	mu      sync.Mutex
	steps   []control.Step
}

var errCRInterrupted = errors.New("interrupted")

func (j *crInterrupted) RunID() string { return "20260101T000000Z-0000" }

func (j *crInterrupted) Write(ctx context.Context, action control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	p, err := json.Marshal(prior)
	if err != nil {
		return err
	}
	j.mu.Lock()
	i := len(j.steps)
	j.steps = append(j.steps, control.Step{Kind: action, Prior: p})
	j.mu.Unlock()
	if string(action) == j.action {
		if j.happens {
			if _, err := write(ctx); err != nil {
				return err
			}
		}
		return errCRInterrupted
	}
	if _, err := write(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	j.steps[i].Done = true
	j.mu.Unlock()
	return nil
}

func TestConfigRecorderRollbackUnconfirmedStep(t *testing.T) {
	for _, action := range []string{"CreateServiceLinkedRole", "PutConfigurationRecorder", "PutDeliveryChannel", "StartConfigurationRecorder"} {
		for _, happens := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/happened=%v", action, happens), func(t *testing.T) {
				env, cenv := crSetup(t)
				c := controls.ConfigRecorder{}
				tg := crTarget(crHome)
				before := env.Server.Snapshot()
				j := &crInterrupted{action: action, happens: happens}
				if _, err := c.Apply(ctx, cenv, tg, j); !errors.Is(err, errCRInterrupted) {
					t.Fatalf("apply: %v", err)
				}
				last := j.steps[len(j.steps)-1]
				if string(last.Kind) != action || last.Done {
					t.Fatalf("last step: %+v", last)
				}
				wrote := false
				for _, w := range env.Server.Writes() {
					wrote = wrote || w.Action == action
				}
				if wrote != happens {
					t.Fatalf("write %s happened=%v, want %v", action, wrote, happens)
				}
				for i := len(j.steps) - 1; i >= 0; i-- {
					if err := controltest.Undo(ctx, c, cenv, tg, j.steps[i]); err != nil {
						t.Fatalf("rollback %s: %v", j.steps[i].Kind, err)
					}
				}
				if after := env.Server.Snapshot(); string(after) != string(before) {
					t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
				}
				env.Server.ResetLog()
				for i := len(j.steps) - 1; i >= 0; i-- {
					if err := controltest.Undo(ctx, c, cenv, tg, j.steps[i]); err != nil {
						t.Fatalf("second rollback %s: %v", j.steps[i].Kind, err)
					}
				}
				if w := env.Server.Writes(); len(w) != 0 {
					t.Fatalf("second rollback wrote: %+v", w)
				}
			})
		}
	}
}

// The service-linked role is kept while a recorder harden did not create
// still uses it.
func TestConfigRecorderKeepsSharedRole(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, crTarget(crHome), j.For("config-recorder", crHome)); err != nil {
		t.Fatal(err)
	}
	// Someone else sets up a recorder with the same role in another region.
	_, err := env.Clients.Config("ap-south-1").PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{
		ConfigurationRecorder: &cstypes.ConfigurationRecorder{Name: aws.String("theirs"), RoleARN: aws.String(crSLR)}})
	if err != nil {
		t.Fatal(err)
	}
	var kept *control.RetainedError
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, c, cenv, crTarget(e.Region), e.Step)
		switch {
		case e.Step.Kind == "CreateServiceLinkedRole":
			if !errors.As(err, &kept) || !strings.Contains(kept.Reason, "ap-south-1") {
				t.Fatalf("rollback of the shared role: %v", err)
			}
		case err != nil:
			t.Fatalf("rollback %s: %v", e.Step.Kind, err)
		}
	}
	if !crRoleExists(t, env, "AWSServiceRoleForConfig") {
		t.Fatal("role in use was deleted")
	}
	if rec, _ := crRecorder(t, env, crHome); rec != nil {
		t.Fatalf("home recorder not deleted: %+v", rec)
	}
}

// A channel to the log bucket without the log-archive key gets the key,
// under its own name, and nothing else changes.
func TestConfigRecorderAddsKeyToLogBucketChannel(t *testing.T) {
	env, cenv := crSetup(t)
	c := controls.ConfigRecorder{}
	tg := crTarget(crHome)
	if _, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("config-recorder", crHome)); err != nil {
		t.Fatal(err)
	}
	bucket := controls.LogBucketName(cenv, tg)
	cfg := env.Clients.Config(crHome)
	if _, err := cfg.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	_, err := cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cstypes.DeliveryChannel{
		Name: aws.String("logs"), S3BucketName: aws.String(bucket)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, tg)
	want := []control.Change{{Field: "delivery channel KMS key", Current: "none", Desired: controls.LogArchiveKeyAlias}}
	if err != nil || f.Compliant || f.Action != control.ActionUpdate || fmt.Sprint(f.Changes) != fmt.Sprint(want) {
		t.Fatalf("check: %+v, %v", f, err)
	}
	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("config-recorder", crHome)); err != nil {
		t.Fatal(err)
	}
	crEqual(t, "writes", crActions(env), []string{crHome + " PutDeliveryChannel"})
	if ch := crChannel(t, env, crHome); aws.ToString(ch.Name) != "logs" || aws.ToString(ch.S3KmsKeyArn) == "" {
		t.Fatalf("channel: %+v", ch)
	}
	crRollback(t, cenv, j.Reversed())
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the channel:\nbefore %s\nafter  %s", before, after)
	}
}

// crDecide returns the undo decision for one step, without making it.
func crDecide(t *testing.T, cenv *control.Env, region string, s control.Step) control.Undo {
	t.Helper()
	u, err := controls.ConfigRecorder{}.Steps().Undo(ctx, "config-recorder", cenv, crTarget(region), s)
	if err != nil {
		t.Fatalf("undo decision for %s: %v", s.Kind, err)
	}
	return u
}

func crStep(t *testing.T, j *controltest.MemJournal, kind control.StepKind) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Step.Kind == kind {
			return e.Step
		}
	}
	t.Fatalf("no %s step in %+v", kind, j.Entries)
	return control.Step{}
}

// crUndoAll undoes the journal as rollback does without --force and
// returns the drift it reported, one "Kind: what" per drifted step.
func crUndoAll(t *testing.T, cenv *control.Env, j *controltest.MemJournal) []string {
	t.Helper()
	var drifts []string
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, controls.ConfigRecorder{}, cenv, crTarget(e.Region), e.Step)
		var d *controltest.DriftError
		var kept *control.RetainedError
		switch {
		case errors.As(err, &d):
			drifts = append(drifts, string(e.Step.Kind)+": "+d.What)
		case errors.As(err, &kept):
		case err != nil:
			t.Fatalf("undo %s: %v", e.Step.Kind, err)
		}
	}
	return drifts
}

func crApply(t *testing.T, cenv *control.Env, region string) *controltest.MemJournal {
	t.Helper()
	j := &controltest.MemJournal{}
	if _, err := (controls.ConfigRecorder{}).Apply(ctx, cenv, crTarget(region), j.For("config-recorder", region)); err != nil {
		t.Fatalf("apply %s: %v", region, err)
	}
	return j
}

// A recorder harden created and the user then changed is someone else's
// now: rollback never deletes it, not even with --force, and leaves the
// channel it delivers through.
func TestConfigRecorderUndoUserChangedCreatedRecorder(t *testing.T) {
	env, cenv := crSetup(t)
	const region = "eu-west-1"
	j := crApply(t, cenv, region)
	cfg := env.Clients.Config(region)
	_, err := cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(crSLR),
		RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
		RecordingMode:  &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequencyDaily}}})
	if err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	u := crDecide(t, cenv, region, crStep(t, j, "PutConfigurationRecorder"))
	if u.Verdict != control.Drifted || u.Do != nil || u.What != `configuration recorder "default" is not as harden created it `+
		`(global resource types: harden set false, now true; recording mode: harden set CONTINUOUS, now DAILY): someone else's now, left alone` {
		t.Fatalf("decision: %+v", u)
	}
	if got := crActions(env); len(got) != 0 {
		t.Fatalf("a decision wrote: %v", got)
	}
	// The recorder and its status (which the undo of a recorder harden
	// created needs to delete it at once), read together.
	if n := len(env.Server.Requests()); n != 2 {
		t.Fatalf("decision made %d calls, want 2", n)
	}
	// Rollback stops the recording harden started and deletes the channel
	// it created; the recorder stays as the user set it.
	if d := crUndoAll(t, cenv, j); len(d) != 1 || !strings.HasPrefix(d[0], "PutConfigurationRecorder: ") {
		t.Fatalf("drift: %q", d)
	}
	rec, recording := crRecorder(t, env, region)
	if rec == nil || rec.RecordingMode.RecordingFrequency != cstypes.RecordingFrequencyDaily || recording {
		t.Fatalf("user's recorder: %+v recording=%v", rec, recording)
	}
	if crChannel(t, env, region) != nil {
		t.Fatal("harden's channel kept")
	}
}

// A recorder harden changed (the user's own) and the user changed again:
// drift, left alone; --force puts the user's earlier recorder back.
func TestConfigRecorderUndoUserChangedReusedRecorder(t *testing.T) {
	env, cenv := crSetup(t)
	const region = "eu-west-1"
	tg := crTarget(region)
	roleARN := crCustomRecorder(t, env, region, "my-recorder")
	j := crApply(t, cenv, region)
	cfg := env.Clients.Config(region)
	// harden set the role and global types off; the user turns them on.
	_, err := cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("my-recorder"), RoleARN: aws.String(crSLR),
		RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
		RecordingMode:  &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequencyDaily}}})
	if err != nil {
		t.Fatal(err)
	}
	snap := env.Server.Snapshot()
	step := crStep(t, j, "PutConfigurationRecorder")
	env.Server.ResetLog()
	err = controltest.Undo(ctx, controls.ConfigRecorder{}, cenv, tg, step)
	var d *controltest.DriftError
	if !errors.As(err, &d) || d.What != `configuration recorder "my-recorder": global resource types: harden set false, now true` {
		t.Fatalf("undo: %v", err)
	}
	if len(env.Server.Writes()) != 0 || string(env.Server.Snapshot()) != string(snap) {
		t.Fatal("a drifted recorder was changed")
	}
	u := crDecide(t, cenv, region, step)
	if u.Do == nil {
		t.Fatalf("decision: %+v", u)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	rec, _ := crRecorder(t, env, region)
	if aws.ToString(rec.RoleARN) != roleARN || !rec.RecordingGroup.IncludeGlobalResourceTypes || rec.RecordingMode.RecordingFrequency != cstypes.RecordingFrequencyDaily {
		t.Fatalf("forced undo left %+v", rec)
	}
}

// Undoing a recorder change puts back only what harden set: a setting the
// user changed since that harden did not set stays.
func TestConfigRecorderUndoKeepsOtherChanges(t *testing.T) {
	env, cenv := crSetup(t)
	roleARN := crCustomRecorder(t, env, crHome, "my-recorder")
	j := crApply(t, cenv, crHome)
	cfg := env.Clients.Config(crHome)
	rec, _ := crRecorder(t, env, crHome)
	rec.RecordingMode = &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequencyContinuous}
	if _, err := cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: rec}); err != nil {
		t.Fatal(err)
	}
	u := crDecide(t, cenv, crHome, crStep(t, j, "PutConfigurationRecorder"))
	if u.Verdict != control.Restore || u.What != `restore configuration recorder "my-recorder" (role `+crSLR+` → `+roleARN+`)` {
		t.Fatalf("decision: %+v", u)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	rec, _ = crRecorder(t, env, crHome)
	if aws.ToString(rec.RoleARN) != roleARN || rec.RecordingMode.RecordingFrequency != cstypes.RecordingFrequencyContinuous {
		t.Fatalf("restored %+v (mode %+v)", rec, rec.RecordingMode)
	}
}

// A channel harden created that the user changed is not deleted.
func TestConfigRecorderUndoUserChangedChannel(t *testing.T) {
	env, cenv := crSetup(t)
	const region = "eu-west-1"
	j := crApply(t, cenv, region)
	ch := crChannel(t, env, region)
	ch.S3KeyPrefix = aws.String("config")
	ch.S3KmsKeyArn = nil
	if _, err := env.Clients.S3(crHome).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: ch.S3BucketName,
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"config.amazonaws.com"},"Action":"s3:*","Resource":["arn:aws:s3:::` +
			aws.ToString(ch.S3BucketName) + `","arn:aws:s3:::` + aws.ToString(ch.S3BucketName) + `/*"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients.Config(region).PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: ch}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	u := crDecide(t, cenv, region, crStep(t, j, "PutDeliveryChannel"))
	if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, "KMS key: harden set arn:aws:kms:") || !strings.HasSuffix(u.What, "now none): someone else's now, left alone") {
		t.Fatalf("decision: %+v", u)
	}
	if len(env.Server.Writes()) != 0 {
		t.Fatal("a decision wrote")
	}
	// The key-only check: the prefix was not set by harden and is not compared.
	if strings.Contains(u.What, "S3 key prefix") {
		t.Fatalf("compares a setting harden did not set: %s", u.What)
	}
}

func TestConfigRecorderUndoUserDeletedOrStopped(t *testing.T) {
	t.Run("stopped", func(t *testing.T) {
		env, cenv := crSetup(t)
		const region = "eu-west-1"
		j := crApply(t, cenv, region)
		if _, err := env.Clients.Config(region).StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{
			ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatal(err)
		}
		if u := crDecide(t, cenv, region, crStep(t, j, "StartConfigurationRecorder")); u.Verdict != control.Already {
			t.Fatalf("decision: %+v", u)
		}
		env.Server.ResetLog()
		if d := crUndoAll(t, cenv, j); len(d) != 0 {
			t.Fatalf("drift: %v", d)
		}
		crEqual(t, "writes", crActions(env), []string{region + " DeleteDeliveryChannel", region + " DeleteConfigurationRecorder",
			crHome + " DeleteServiceLinkedRole"})
	})
	t.Run("deleted", func(t *testing.T) {
		env, cenv := crSetup(t)
		const region = "eu-west-1"
		j := crApply(t, cenv, region)
		cfg := env.Clients.Config(region)
		if _, err := cfg.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatal(err)
		}
		env.Server.ResetLog()
		for _, e := range j.Reversed() {
			if e.Step.Kind == "CreateServiceLinkedRole" {
				continue
			}
			if u := crDecide(t, cenv, region, e.Step); u.Verdict != control.Already {
				t.Fatalf("%s: %+v", e.Step.Kind, u)
			}
		}
		if len(env.Server.Writes()) != 0 {
			t.Fatal("decisions wrote")
		}
	})
}

// Hand-written or unconfirmed steps that name a recorder and channel harden
// did not create (they exist with other settings) delete nothing.
func TestConfigRecorderUndoForeignRecorderNeverDeleted(t *testing.T) {
	env, cenv := crSetup(t)
	const region = "eu-west-1"
	crCustomRecorder(t, env, region, "default")
	snap := env.Server.Snapshot()
	steps := []control.Step{
		{Kind: "PutConfigurationRecorder", Done: true, Prior: []byte(`{"name":"default","recorder":null}`)},
		{Kind: "PutConfigurationRecorder", Done: false, Prior: []byte(`{"name":"default","recorder":null}`)},
	}
	for _, s := range steps {
		u := crDecide(t, cenv, region, s)
		if u.Do != nil || (s.Done && u.Verdict != control.Drifted) || (!s.Done && u.Verdict != control.Already) {
			t.Fatalf("Done=%v: %+v", s.Done, u)
		}
		if err := controltest.Undo(ctx, controls.ConfigRecorder{}, cenv, crTarget(region), s); s.Done == (err == nil) {
			t.Fatalf("Done=%v: undo %v", s.Done, err)
		}
	}
	if string(env.Server.Snapshot()) != string(snap) {
		t.Fatal("the user's recorder changed")
	}
}

// A journal of format 1 (no after states, the old prior JSON with the SDK's
// Go field names) still rolls the account back.
func TestConfigRecorderUndoFormat1(t *testing.T) {
	env, cenv := crSetup(t)
	roleARN := crCustomRecorder(t, env, crHome, "my-recorder")
	before := env.Server.Snapshot()
	j := crApply(t, cenv, crHome)
	for i := range j.Entries {
		s := &j.Entries[i].Step
		s.After = nil
		if s.Kind == "PutConfigurationRecorder" {
			s.Prior = []byte(`{"name":"my-recorder","recorder":{"name":"my-recorder","role_arn":"` + roleARN + `",` +
				`"recording_group":{"AllSupported":true,"ExclusionByResourceTypes":{"ResourceTypes":[]},"IncludeGlobalResourceTypes":true,` +
				`"RecordingStrategy":{"UseOnly":"ALL_SUPPORTED_RESOURCE_TYPES"},"ResourceTypes":[]},` +
				`"recording_mode":{"RecordingFrequency":"DAILY","RecordingModeOverrides":[]}}}`)
		}
	}
	if d := crUndoAll(t, cenv, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	if a, b := crWithoutRecorderTimes(t, env.Server.Snapshot()), crWithoutRecorderTimes(t, before); a != b {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", b, a)
	}
}

// The service-linked role is undone after every region, and only through
// AWS's deletion task, which keeps a role in use.
func TestConfigRecorderUndoRoleAfterAllRegions(t *testing.T) {
	env, cenv := crSetup(t)
	j := crApply(t, cenv, crHome)
	s := crStep(t, j, "CreateServiceLinkedRole")
	u := crDecide(t, cenv, crHome, s)
	if u.Verdict != control.Delete || !u.AfterAllRegions {
		t.Fatalf("decision: %+v", u)
	}
	if err := u.Do(ctx); !errors.As(err, new(*control.RetainedError)) {
		t.Fatalf("deleting a role the home recorder uses: %v", err)
	}
	if !crRoleExists(t, env, "AWSServiceRoleForConfig") {
		t.Fatal("role in use deleted")
	}
	if d := crUndoAll(t, cenv, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	if u := crDecide(t, cenv, crHome, s); u.Verdict != control.Already || !u.AfterAllRegions {
		t.Fatalf("role gone: %+v", u)
	}
}

// The early part puts the recorder (with the service-linked role) before
// the log archive exists, and reaches the "recorder" stage securityhub
// needs; the rest of the apply still refuses without the log archive,
// and rollback of the early part's steps gives the account back.
func TestConfigRecorderEarlyWithoutLogArchive(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.ConfigRecorder{}
	tg := crTarget("eu-west-1")
	before := env.Server.Snapshot()
	var reached []string
	rctx := control.WithReporter(ctx, func(stage string) { reached = append(reached, stage) })
	j := &controltest.MemJournal{}
	if err := c.ApplyEarly(rctx, cenv, tg, j.For("config-recorder", tg.Region)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reached, []string{"recorder"}) {
		t.Fatalf("stages reached %v, want [recorder]", reached)
	}
	var kinds []string
	for _, w := range env.Server.Writes() {
		kinds = append(kinds, w.Action)
	}
	if want := []string{"CreateServiceLinkedRole", "PutConfigurationRecorder"}; !slices.Equal(kinds, want) || len(j.Entries) != 2 {
		t.Fatalf("early writes %v (%d journaled), want %v", kinds, len(j.Entries), want)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || f.Compliant {
		t.Fatalf("compliant without delivery: %+v %v", f, err)
	}
	// A second early part writes nothing and still reaches the stage.
	env.Server.ResetLog()
	reached = nil
	if err := c.ApplyEarly(rctx, cenv, tg, j.For("config-recorder", tg.Region)); err != nil || len(env.Server.Writes()) != 0 || len(reached) != 1 {
		t.Fatalf("second early part: err %v, writes %+v, reached %v", err, env.Server.Writes(), reached)
	}
	if _, err := c.Apply(rctx, cenv, tg, j.For("config-recorder", tg.Region)); err == nil || !strings.Contains(err.Error(), "apply log-archive first") {
		t.Fatalf("apply without log-archive: %v", err)
	}
	if len(env.Server.Writes()) != 0 {
		t.Fatalf("apply wrote without the log archive: %+v", env.Server.Writes())
	}
	for _, e := range j.Reversed() {
		if err := controltest.Undo(ctx, c, cenv, tg, e.Step); err != nil {
			t.Fatalf("rollback %s: %v", e.Step.Kind, err)
		}
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback of the early part did not restore the account")
	}
}

// Once the recording harden started is stopped, the undo of the channel
// and then of the recorder harden created each write at once: what they
// need (the recorder and its status) is read with their decision, in one
// round trip, rather than one read after another before the delete.
func TestConfigRecorderUndoDeletesWithoutReadingAgain(t *testing.T) {
	env, cenv := crSetup(t)
	const region = "eu-west-1"
	j := crApply(t, cenv, region)
	if err := crDecide(t, cenv, region, crStep(t, j, "StartConfigurationRecorder")).Do(ctx); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []control.StepKind{"PutDeliveryChannel", "PutConfigurationRecorder"} {
		u := crDecide(t, cenv, region, crStep(t, j, kind))
		if u.Verdict != control.Delete {
			t.Fatalf("%s: %s %q", kind, u.Verdict, u.What)
		}
		env.Server.ResetLog()
		if err := u.Do(ctx); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var calls []string
		for _, r := range env.Server.Requests() {
			calls = append(calls, r.Action)
		}
		if len(calls) != 1 || !strings.HasPrefix(calls[0], "Delete") {
			t.Fatalf("undo of %s made %v, want the one delete", kind, calls)
		}
	}
	if rec, _ := crRecorder(t, env, region); rec != nil || crChannel(t, env, region) != nil {
		t.Fatal("recorder or channel left")
	}
}
