package controls_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// ctSetup starts a fake account with the log archive applied, the
// cloudtrail control's prerequisite, and an empty request log.
func ctSetup(t *testing.T) (*fakeawstest.Env, *control.Env, control.Target) {
	t.Helper()
	env, cenv := archivedAccount(t)
	return env, cenv, target(controls.CloudTrail{}, "")
}

// archivedAccount starts a fake account with log-archive applied (the
// prerequisite of the controls that write to the archive) and an empty
// request log.
func archivedAccount(t *testing.T) (*fakeawstest.Env, *control.Env) {
	t.Helper()
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	la := controls.LogArchive{}
	tg := target(la, "")
	if _, err := la.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("log-archive", tg.HomeRegion)); err != nil {
		t.Fatalf("apply log-archive: %v", err)
	}
	env.Server.ResetLog()
	return env, cenv
}

// ctApply applies the control and returns its journal and changes.
func ctApply(t *testing.T, cenv *control.Env, tg control.Target) (*controltest.MemJournal, []control.Change) {
	t.Helper()
	j := &controltest.MemJournal{}
	ch, err := controls.CloudTrail{}.Apply(ctx, cenv, tg, j.For("cloudtrail", tg.Region))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return j, ch
}

func ctRollback(t *testing.T, cenv *control.Env, tg control.Target, j *controltest.MemJournal) {
	t.Helper()
	for _, e := range j.Reversed() {
		if err := controltest.Undo(ctx, controls.CloudTrail{}, cenv, tg, e.Step); err != nil {
			t.Fatalf("rollback %s: %v", e.Step.Kind, err)
		}
	}
}

func ctCheck(t *testing.T, cenv *control.Env, tg control.Target) control.Finding {
	t.Helper()
	f, err := controls.CloudTrail{}.Check(ctx, cenv, tg)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return f
}

// ctActions lists the actions of requests, in order.
func ctActions(reqs []fakeaws.Request) []string {
	out := []string{}
	for _, r := range reqs {
		out = append(out, r.Action)
	}
	return out
}

// sortedActions is the calls' actions in name order: reads made together
// reach fakeaws in any order.
func sortedActions(reqs []fakeaws.Request) []string {
	out := ctActions(reqs)
	sort.Strings(out)
	return out
}

func ctWrites(env *fakeawstest.Env) []string { return ctActions(env.Server.Writes()) }

func ctWantWrites(t *testing.T, env *fakeawstest.Env, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := ctWrites(env); !reflect.DeepEqual(got, want) {
		t.Fatalf("writes = %v, want %v", got, want)
	}
}

// ctTrail describes one trail by ARN from the home region.
func ctTrail(t *testing.T, env *fakeawstest.Env, arn string) *cttypes.Trail {
	t.Helper()
	out, err := env.Clients.CloudTrail("us-east-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}})
	if err != nil {
		t.Fatalf("describe %s: %v", arn, err)
	}
	if len(out.TrailList) == 0 {
		return nil
	}
	return &out.TrailList[0]
}

func ctLogging(t *testing.T, env *fakeawstest.Env, arn string) bool {
	t.Helper()
	out, err := env.Clients.CloudTrail("us-east-1").GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		t.Fatalf("status of %s: %v", arn, err)
	}
	return aws.ToBool(out.IsLogging)
}

// ctTrailState is one trail's entry in the fake account's snapshot, without
// the logging timestamps (every StartLogging or StopLogging moves them).
func ctTrailState(t *testing.T, env *fakeawstest.Env, arn string, keepTimes bool) string {
	t.Helper()
	var snap struct {
		CloudTrail struct{ Trails map[string]map[string]any }
	}
	if err := json.Unmarshal(env.Server.Snapshot(), &snap); err != nil {
		t.Fatal(err)
	}
	tr, ok := snap.CloudTrail.Trails[arn]
	if !ok {
		return "absent"
	}
	if !keepTimes {
		delete(tr, "StartLoggingTime")
		delete(tr, "StopLoggingTime")
	}
	b, _ := json.Marshal(tr)
	return string(b)
}

// ctTags returns a trail's tags.
func ctTags(t *testing.T, env *fakeawstest.Env, arn string) map[string]string {
	t.Helper()
	out, err := env.Clients.CloudTrail("us-east-1").ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil || len(out.ResourceTagList) != 1 {
		t.Fatalf("tags of %s: %+v, %v", arn, out, err)
	}
	tags := map[string]string{}
	for _, tag := range out.ResourceTagList[0].TagsList {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

func ctKeyARN(t *testing.T, env *fakeawstest.Env) string {
	t.Helper()
	key, err := env.Clients.KMS("us-east-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(key.KeyMetadata.Arn)
}

// ctForeignTrail makes a trail someone else owns, delivering to a bucket
// of its own, and returns its ARN.
func ctForeignTrail(t *testing.T, env *fakeawstest.Env, name string, multiRegion, logging bool) string {
	t.Helper()
	bucket := "corp-" + name + "-logs"
	s3c := env.Clients.S3("us-east-1")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::` + bucket + `"},` +
		`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/AWSLogs/*",` +
		`"Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	ct := env.Clients.CloudTrail("us-east-1")
	out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(multiRegion)})
	if err != nil {
		t.Fatalf("create foreign trail: %v", err)
	}
	if logging {
		if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(out.TrailARN)
}

func TestCloudTrailInfo(t *testing.T) {
	i := controls.CloudTrail{}.Info()
	if i.ID != "cloudtrail" || i.Scope != control.Account || i.Destructive || !reflect.DeepEqual(i.DependsOn, []string{"log-archive"}) {
		t.Fatalf("info: %+v", i)
	}
	if !reflect.DeepEqual(i.SecurityHub, []string{"CloudTrail.1", "CloudTrail.2", "CloudTrail.4"}) || !reflect.DeepEqual(i.CIS, []string{"3.1", "3.2", "3.5"}) {
		t.Fatalf("mappings: %v %v", i.SecurityHub, i.CIS)
	}
	for _, a := range []string{"cloudtrail:StartLogging", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:CreateTrail"} {
		if !strings.Contains(strings.Join(i.WriteActions, " "), a) {
			t.Errorf("write actions lack %s", a)
		}
	}
	env := fakeawstest.Start(t)
	err := controltest.Undo(ctx, controls.CloudTrail{}, &control.Env{AWS: env.Clients}, target(controls.CloudTrail{}, ""),
		control.Step{Kind: "DeleteBucket", Prior: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "DeleteBucket") {
		t.Fatalf("unknown step: %v", err)
	}
}

func TestCloudTrailLifecycle(t *testing.T) {
	env, cenv, tg := ctSetup(t)

	f := ctCheck(t, cenv, tg)
	if f.Compliant || f.Action != control.ActionCreate || len(f.Changes) != 1 ||
		f.Changes[0] != (control.Change{Field: "trail harden-trail", Current: "none", Desired: "multi-region, validated, KMS-encrypted, logging"}) {
		t.Fatalf("fresh: %+v", f)
	}
	if got := sortedActions(env.Server.Requests()); !reflect.DeepEqual(got, []string{"DescribeKey", "DescribeTrails"}) {
		t.Fatalf("check on a fresh account called %v", got)
	}
	before := env.Server.Snapshot()

	env.Server.ResetLog()
	j, changed := ctApply(t, cenv, tg)
	if len(changed) != 1 || changed[0].Field != "trail harden-trail" {
		t.Fatalf("changes: %+v", changed)
	}
	ctWantWrites(t, env, "CreateTrail", "StartLogging")
	if len(j.Entries) != 2 || !j.Entries[0].Step.Done || !j.Entries[1].Step.Done {
		t.Fatalf("journal: %+v", j.Entries)
	}
	for _, r := range env.Server.Writes() {
		if r.Region != "us-east-1" {
			t.Fatalf("write outside the home region: %+v", r)
		}
	}

	env.Server.ResetLog()
	if f := ctCheck(t, cenv, tg); !f.Compliant {
		t.Fatalf("after apply: %+v", f)
	}
	if got := sortedActions(env.Server.Requests()); !reflect.DeepEqual(got, []string{"DescribeKey", "DescribeTrails", "GetEventSelectors", "GetTrailStatus", "ListTags"}) {
		t.Fatalf("check of harden's trail called %v", got)
	}
	arn := controls.TrailARN(tg)
	tr := ctTrail(t, env, arn)
	if tr == nil || !aws.ToBool(tr.IsMultiRegionTrail) || !aws.ToBool(tr.LogFileValidationEnabled) ||
		!aws.ToBool(tr.IncludeGlobalServiceEvents) || aws.ToString(tr.KmsKeyId) != ctKeyARN(t, env) ||
		aws.ToString(tr.S3BucketName) != controls.LogBucketName(cenv, tg) || aws.ToString(tr.HomeRegion) != "us-east-1" {
		t.Fatalf("trail: %+v", tr)
	}
	if !ctLogging(t, env, arn) {
		t.Fatal("trail is not logging after apply")
	}
	sel, err := env.Clients.CloudTrail("us-east-1").GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil || len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll ||
		!aws.ToBool(sel.EventSelectors[0].IncludeManagementEvents) {
		t.Fatalf("selectors: %+v, %v", sel, err)
	}
	if got := ctTags(t, env, arn); !reflect.DeepEqual(got, control.Tags(j.For("cloudtrail", "us-east-1").RunID())) {
		t.Fatalf("tags: %v", got)
	}

	env.Server.ResetLog()
	j2, changed := ctApply(t, cenv, tg)
	if len(changed) != 0 || len(j2.Entries) != 0 {
		t.Fatalf("second apply: %v, %+v", changed, j2.Entries)
	}
	ctWantWrites(t, env)

	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env, "StopLogging", "DeleteTrail")
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
	}
	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env)
	// The log archive is untouched: its key and bucket are still there.
	if _, err := env.Clients.S3("us-east-1").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(controls.LogBucketName(cenv, tg))}); err != nil {
		t.Fatalf("bucket: %v", err)
	}
}

func TestCloudTrailForeignCompliantTrailCounts(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	arn := ctForeignTrail(t, env, "corp-trail", true, true)
	before := env.Server.Snapshot()
	env.Server.ResetLog()

	f := ctCheck(t, cenv, tg)
	if !f.Compliant || f.Note != `existing trail "corp-trail" counts (not managed by harden)` {
		t.Fatalf("foreign compliant trail: %+v", f)
	}
	j, changed := ctApply(t, cenv, tg)
	if len(changed) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply over a compliant trail: %v, %+v", changed, j.Entries)
	}
	ctWantWrites(t, env)
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("the account changed")
	}
	if ctTrail(t, env, controls.TrailARN(tg)) != nil {
		t.Fatal("harden created a duplicate trail")
	}
	if !ctLogging(t, env, arn) {
		t.Fatal("foreign trail stopped")
	}
}

func TestCloudTrailForeignNonCompliantTrailLeftAlone(t *testing.T) {
	cases := []struct {
		name        string
		multiRegion bool
		logging     bool
		selectors   []cttypes.EventSelector
		reason      string
	}{
		{name: "single-region", multiRegion: false, logging: true, reason: `trail "corp-trail" does not count (single-region)`},
		{name: "stopped", multiRegion: true, logging: false, reason: `trail "corp-trail" does not count (not logging)`},
		{name: "read-only", multiRegion: true, logging: true,
			selectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(true)}},
			reason:    `trail "corp-trail" does not count (management events: ReadOnly)`},
		{name: "no-management", multiRegion: true, logging: true,
			selectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(false),
				DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}},
			reason: `trail "corp-trail" does not count (management events: none)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, cenv, tg := ctSetup(t)
			arn := ctForeignTrail(t, env, "corp-trail", tc.multiRegion, tc.logging)
			if tc.selectors != nil {
				if _, err := env.Clients.CloudTrail("us-east-1").PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{
					TrailName: aws.String(arn), EventSelectors: tc.selectors}); err != nil {
					t.Fatal(err)
				}
			}
			foreign := ctTrailState(t, env, arn, true)
			before := env.Server.Snapshot()
			env.Server.ResetLog()

			f := ctCheck(t, cenv, tg)
			if f.Compliant || f.Action != control.ActionCreate || len(f.Changes) != 1 || f.Changes[0].Field != "trail harden-trail" ||
				!strings.HasPrefix(f.Note, tc.reason+"; harden adds its own trail") {
				t.Fatalf("check: %+v", f)
			}
			j, _ := ctApply(t, cenv, tg)
			ctWantWrites(t, env, "CreateTrail", "StartLogging")
			if got := ctTrailState(t, env, arn, true); got != foreign {
				t.Fatalf("foreign trail modified:\nbefore %s\nafter  %s", foreign, got)
			}
			if f := ctCheck(t, cenv, tg); !f.Compliant {
				t.Fatalf("after apply: %+v", f)
			}
			ctRollback(t, cenv, tg, j)
			if string(env.Server.Snapshot()) != string(before) {
				t.Fatal("rollback did not restore the account")
			}
		})
	}
}

func TestCloudTrailOrganizationTrail(t *testing.T) {
	cases := []struct {
		name  string
		fault *fakeaws.Fault
		note  string
	}{
		{name: "readable", note: `existing trail "org-trail" counts (not managed by harden)`},
		{name: "status-not-found", fault: &fakeaws.Fault{Service: "cloudtrail", Action: "GetTrailStatus", Error: "TrailNotFoundException"},
			note: `organization trail "org-trail" counts (not managed by harden); its status cannot be verified from this account`},
		{name: "arn-invalid", fault: &fakeaws.Fault{Service: "cloudtrail", Action: "GetTrailStatus", Error: "CloudTrailARNInvalidException"},
			note: `organization trail "org-trail" counts (not managed by harden); its status cannot be verified from this account`},
		{name: "selectors-denied", fault: &fakeaws.Fault{Service: "cloudtrail", Action: "GetEventSelectors", Error: fakeaws.AccessDenied},
			note: `organization trail "org-trail" counts (not managed by harden); its status cannot be verified from this account`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, cenv, tg := ctSetup(t)
			// Homed in another region: seen here as a shadow, named by ARN.
			arn := env.Server.AddOrganizationTrail("eu-west-1", "org-trail", "org-log-archive-bucket")
			if tc.fault != nil {
				env.Server.AddFault(*tc.fault)
			}
			before := env.Server.Snapshot()
			f := ctCheck(t, cenv, tg)
			if !f.Compliant || f.Note != tc.note {
				t.Fatalf("organization trail: %+v", f)
			}
			j, changed := ctApply(t, cenv, tg)
			if len(changed) != 0 || len(j.Entries) != 0 {
				t.Fatalf("apply: %v, %+v", changed, j.Entries)
			}
			ctWantWrites(t, env)
			if string(env.Server.Snapshot()) != string(before) {
				t.Fatal("the account changed")
			}
			if tc.fault == nil && !ctLogging(t, env, arn) {
				t.Fatal("organization trail not readable by ARN from the member account")
			}
		})
	}
}

func TestCloudTrailDrift(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	ctApply(t, cenv, tg)
	arn := controls.TrailARN(tg)
	ct := env.Clients.CloudTrail("us-east-1")
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(controls.TrailName), EnableLogFileValidation: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	drifted := ctTrailState(t, env, arn, false)
	env.Server.ResetLog()

	f := ctCheck(t, cenv, tg)
	want := []control.Change{
		{Field: "log file validation", Current: "false", Desired: "true"},
		{Field: "logging", Current: "false", Desired: "true"},
	}
	if f.Compliant || f.Action != control.ActionUpdate || !reflect.DeepEqual(f.Changes, want) {
		t.Fatalf("drift: %+v", f)
	}
	j, changed := ctApply(t, cenv, tg)
	if !reflect.DeepEqual(changed, want) {
		t.Fatalf("applied %+v", changed)
	}
	ctWantWrites(t, env, "UpdateTrail", "StartLogging")
	if f := ctCheck(t, cenv, tg); !f.Compliant {
		t.Fatalf("after repair: %+v", f)
	}
	if tr := ctTrail(t, env, arn); !aws.ToBool(tr.LogFileValidationEnabled) || !ctLogging(t, env, arn) {
		t.Fatalf("not repaired: %+v", tr)
	}

	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env, "StopLogging", "UpdateTrail")
	if got := ctTrailState(t, env, arn, false); got != drifted {
		t.Fatalf("rollback did not restore the drifted trail:\nwant %s\ngot  %s", drifted, got)
	}
	if tr := ctTrail(t, env, arn); aws.ToBool(tr.LogFileValidationEnabled) || ctLogging(t, env, arn) {
		t.Fatalf("rollback left %+v", tr)
	}
	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env)
}

func TestCloudTrailSelectorAndKeyDrift(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	ctApply(t, cenv, tg)
	arn := controls.TrailARN(tg)
	ct := env.Clients.CloudTrail("us-east-1")
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), KmsKeyId: aws.String("")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(arn),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true),
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::data-bucket/"}}}}}}); err != nil {
		t.Fatal(err)
	}
	drifted := ctTrailState(t, env, arn, true)
	env.Server.ResetLog()

	f := ctCheck(t, cenv, tg)
	want := []control.Change{
		{Field: "KMS key", Current: "none", Desired: ctKeyARN(t, env)},
		{Field: "management events", Current: "WriteOnly", Desired: "all, read and write"},
	}
	if f.Compliant || f.Action != control.ActionUpdate || !reflect.DeepEqual(f.Changes, want) {
		t.Fatalf("drift: %+v", f)
	}
	env.Server.ResetLog()
	j, _ := ctApply(t, cenv, tg)
	ctWantWrites(t, env, "UpdateTrail", "PutEventSelectors")
	if f := ctCheck(t, cenv, tg); !f.Compliant {
		t.Fatalf("after repair: %+v", f)
	}
	// The data events someone added are kept.
	sel, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil || len(sel.EventSelectors) != 2 || len(sel.EventSelectors[1].DataResources) != 1 ||
		aws.ToBool(sel.EventSelectors[1].IncludeManagementEvents) || sel.EventSelectors[1].ReadWriteType != cttypes.ReadWriteTypeWriteOnly {
		t.Fatalf("selectors: %+v, %v", sel, err)
	}

	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env, "PutEventSelectors", "UpdateTrail")
	if got := ctTrailState(t, env, arn, true); got != drifted {
		t.Fatalf("rollback did not restore the drifted trail:\nwant %s\ngot  %s", drifted, got)
	}
	env.Server.ResetLog()
	ctRollback(t, cenv, tg, j)
	ctWantWrites(t, env)
}

func TestCloudTrailWithoutLogArchive(t *testing.T) {
	t.Run("no key, no bucket", func(t *testing.T) {
		env := fakeawstest.Start(t)
		cenv := &control.Env{AWS: env.Clients}
		tg := target(controls.CloudTrail{}, "")
		before := env.Server.Snapshot()
		j := &controltest.MemJournal{}
		_, err := controls.CloudTrail{}.Apply(ctx, cenv, tg, j.For("cloudtrail", "us-east-1"))
		if err == nil || !strings.Contains(err.Error(), "log-archive control must be applied first") ||
			!strings.HasPrefix(err.Error(), "cloudtrail: ") {
			t.Fatalf("apply without log archive: %v", err)
		}
		ctWantWrites(t, env)
		if len(j.Entries) != 0 || string(env.Server.Snapshot()) != string(before) {
			t.Fatalf("something was written: %+v", j.Entries)
		}
	})
	t.Run("key but no bucket", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		cenv.ControlSettings = archiveSettings("harden-logs-elsewhere", 365)
		before := env.Server.Snapshot()
		j := &controltest.MemJournal{}
		_, err := controls.CloudTrail{}.Apply(ctx, cenv, tg, j.For("cloudtrail", "us-east-1"))
		if err == nil || !strings.HasPrefix(err.Error(), "cloudtrail: create trail harden-trail in us-east-1: ") ||
			!strings.Contains(err.Error(), "apply the log-archive control first") || !strings.Contains(err.Error(), "S3BucketDoesNotExistException") {
			t.Fatalf("apply without bucket: %v", err)
		}
		ctWantWrites(t, env)
		if len(j.Reversed()) != 0 {
			t.Fatalf("a failed write is left to roll back: %+v", j.Entries)
		}
		if ctTrail(t, env, controls.TrailARN(tg)) != nil || string(env.Server.Snapshot()) != string(before) {
			t.Fatal("a trail was left behind")
		}
	})
}

// A write interrupted before AWS confirmed it is journaled without Done;
// rollback must cope both when it happened and when it did not.
func TestCloudTrailRollbackOfUnconfirmedSteps(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	c := controls.CloudTrail{}
	arn := controls.TrailARN(tg)
	steps := []control.Step{
		{Kind: "StartLogging", Prior: []byte(`{"trail_arn":"` + arn + `","logging":false}`)},
		{Kind: "PutEventSelectors", Prior: []byte(`{"trail_arn":"` + arn + `","selectors":{"classic":[{"read_write_type":"All","include_management_events":true}]}}`)},
		{Kind: "UpdateTrail", Prior: []byte(`{"trail_arn":"` + arn + `","fields":{"s3_bucket_name":"` + controls.LogBucketName(cenv, tg) +
			`","is_multi_region_trail":true,"include_global_service_events":true,"log_file_validation_enabled":true,"kms_key_id":"` + ctKeyARN(t, env) + `"}}`)},
		{Kind: "CreateTrail", Prior: []byte(`{"trail_arn":"` + arn + `","name":"harden-trail"}`)},
	}
	before := env.Server.Snapshot()
	env.Server.ResetLog()
	for _, s := range steps {
		if err := controltest.Undo(ctx, c, cenv, tg, s); err != nil {
			t.Fatalf("rollback of %s that never happened: %v", s.Kind, err)
		}
	}
	ctWantWrites(t, env)

	ctApply(t, cenv, tg)
	env.Server.ResetLog()
	for _, s := range steps {
		if err := controltest.Undo(ctx, c, cenv, tg, s); err != nil {
			t.Fatalf("rollback of %s that happened: %v", s.Kind, err)
		}
	}
	// StartLogging is undone, selectors and settings already match their
	// prior state, and the created trail is deleted.
	ctWantWrites(t, env, "StopLogging", "DeleteTrail")
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("unconfirmed steps not undone")
	}
}

// ctDecide returns the undo decision for one step, without making it.
func ctDecide(t *testing.T, cenv *control.Env, tg control.Target, s control.Step) control.Undo {
	t.Helper()
	u, err := controls.CloudTrail{}.Steps().Undo(ctx, "cloudtrail", cenv, tg, s)
	if err != nil {
		t.Fatalf("undo decision for %s: %v", s.Kind, err)
	}
	return u
}

// ctStep returns the journaled step of a kind.
func ctStep(t *testing.T, j *controltest.MemJournal, kind control.StepKind) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Step.Kind == kind {
			return e.Step
		}
	}
	t.Fatalf("no %s step in %+v", kind, j.Entries)
	return control.Step{}
}

// ctUndoAll undoes the journal as rollback does without --force and
// returns the drift it reported, one line per drifted step.
func ctUndoAll(t *testing.T, cenv *control.Env, tg control.Target, j *controltest.MemJournal) []string {
	t.Helper()
	var drifts []string
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, controls.CloudTrail{}, cenv, tg, e.Step)
		var d *controltest.DriftError
		switch {
		case errors.As(err, &d):
			drifts = append(drifts, string(e.Step.Kind)+": "+d.What)
		case err != nil:
			t.Fatalf("undo %s: %v", e.Step.Kind, err)
		}
	}
	return drifts
}

func TestCloudTrailUndoUserStoppedLogging(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	before := env.Server.Snapshot()
	j, _ := ctApply(t, cenv, tg)
	arn := controls.TrailARN(tg)
	if _, err := env.Clients.CloudTrail("us-east-1").StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	if u := ctDecide(t, cenv, tg, ctStep(t, j, "StartLogging")); u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("StartLogging after the user stopped logging: %+v", u)
	}
	// CreateTrail governs the trail and its settings, not its logging.
	if u := ctDecide(t, cenv, tg, ctStep(t, j, "CreateTrail")); u.Verdict != control.Delete || u.What != "delete trail harden-trail (the bucket, its logs and the key stay)" {
		t.Fatalf("CreateTrail: %+v", u)
	}
	ctWantWrites(t, env)
	if got := ctActions(env.Server.Requests()); !reflect.DeepEqual(got, []string{"ListTags", "GetTrailStatus", "ListTags", "DescribeTrails"}) {
		t.Fatalf("two undo decisions called %v", got)
	}
	if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	ctWantWrites(t, env, "DeleteTrail")
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback did not restore the account")
	}
}

// ctDriftedApply makes harden's trail drift on two settings UpdateTrail
// puts back (log file validation and the KMS key) and repairs it.
func ctDriftedApply(t *testing.T, env *fakeawstest.Env, cenv *control.Env, tg control.Target) (*controltest.MemJournal, string) {
	t.Helper()
	ctApply(t, cenv, tg)
	ct := env.Clients.CloudTrail("us-east-1")
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(controls.TrailName),
		EnableLogFileValidation: aws.Bool(false), KmsKeyId: aws.String("")}); err != nil {
		t.Fatal(err)
	}
	drifted := ctTrailState(t, env, controls.TrailARN(tg), true)
	j, _ := ctApply(t, cenv, tg)
	if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "UpdateTrail" {
		t.Fatalf("repair: %+v", j.Entries)
	}
	return j, drifted
}

func TestCloudTrailUndoUpdateTrailDrift(t *testing.T) {
	arn := "arn:aws:cloudtrail:us-east-1:" + fakeaws.DefaultAccountID + ":trail/harden-trail"
	t.Run("as left", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, drifted := ctDriftedApply(t, env, cenv, tg)
		u := ctDecide(t, cenv, tg, j.Entries[0].Step)
		if u.Verdict != control.Restore || !strings.Contains(u.What, "log file validation true → false") || !strings.Contains(u.What, "KMS key arn:aws:kms:") {
			t.Fatalf("decision: %+v", u)
		}
		env.Server.ResetLog()
		if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
			t.Fatalf("drift: %v", d)
		}
		ctWantWrites(t, env, "UpdateTrail")
		if got := ctTrailState(t, env, arn, true); got != drifted {
			t.Fatalf("not restored:\nwant %s\ngot  %s", drifted, got)
		}
	})
	t.Run("one setting changed since", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, drifted := ctDriftedApply(t, env, cenv, tg)
		if _, err := env.Clients.CloudTrail("us-east-1").UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn),
			EnableLogFileValidation: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		userState := ctTrailState(t, env, arn, true)
		snap := env.Server.Snapshot()
		env.Server.ResetLog()
		d := ctUndoAll(t, cenv, tg, j)
		if len(d) != 1 || d[0] != "UpdateTrail: trail harden-trail: log file validation: harden set true, now false" {
			t.Fatalf("drift: %q", d)
		}
		ctWantWrites(t, env)
		if string(env.Server.Snapshot()) != string(snap) {
			t.Fatal("a drifted step was undone")
		}
		// --force puts every setting the step changed back.
		u := ctDecide(t, cenv, tg, j.Entries[0].Step)
		if u.Verdict != control.Drifted || u.Do == nil {
			t.Fatalf("decision: %+v", u)
		}
		if err := u.Do(ctx); err != nil {
			t.Fatal(err)
		}
		ctWantWrites(t, env, "UpdateTrail")
		if got := ctTrailState(t, env, arn, true); got != drifted || got == userState {
			t.Fatalf("forced undo:\nwant %s\ngot  %s", drifted, got)
		}
	})
	t.Run("every setting back", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, _ := ctDriftedApply(t, env, cenv, tg)
		if _, err := env.Clients.CloudTrail("us-east-1").UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn),
			EnableLogFileValidation: aws.Bool(false), KmsKeyId: aws.String("")}); err != nil {
			t.Fatal(err)
		}
		if u := ctDecide(t, cenv, tg, j.Entries[0].Step); u.Verdict != control.Already {
			t.Fatalf("decision: %+v", u)
		}
	})
	t.Run("format 1", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, drifted := ctDriftedApply(t, env, cenv, tg)
		j.Entries[0].Step.After = nil
		env.Server.ResetLog()
		if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
			t.Fatalf("drift: %v", d)
		}
		ctWantWrites(t, env, "UpdateTrail")
		if got := ctTrailState(t, env, arn, true); got != drifted {
			t.Fatalf("not restored:\nwant %s\ngot  %s", drifted, got)
		}
	})
}

func TestCloudTrailUndoSelectorsDrift(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	before := env.Server.Snapshot()
	j, _ := ctApply(t, cenv, tg)
	arn := controls.TrailARN(tg)
	// A trail harden created with no management events in its selectors
	// gets them in a PutEventSelectors step; someone then logs only reads.
	ct := env.Clients.CloudTrail("us-east-1")
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(arn),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	j2, _ := ctApply(t, cenv, tg)
	if len(j2.Entries) != 1 || j2.Entries[0].Step.Kind != "PutEventSelectors" {
		t.Fatalf("repair: %+v", j2.Entries)
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(arn),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	snap := env.Server.Snapshot()
	env.Server.ResetLog()
	d := ctUndoAll(t, cenv, tg, j2)
	if len(d) != 1 || !strings.HasPrefix(d[0], "PutEventSelectors: trail harden-trail event selectors: harden set management events All, now ReadOnly") {
		t.Fatalf("drift: %q", d)
	}
	ctWantWrites(t, env)
	if string(env.Server.Snapshot()) != string(snap) {
		t.Fatal("drifted selectors were undone")
	}
	// The trail is still the one harden created: its own undo deletes it.
	if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback did not restore the account")
	}
}

// A trail named harden-trail without harden's tag is someone else's: never
// modified by apply, never deleted by rollback.
func TestCloudTrailForeignSameNamedTrail(t *testing.T) {
	t.Run("counts", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		ctForeignTrail(t, env, controls.TrailName, true, true)
		before := env.Server.Snapshot()
		env.Server.ResetLog()
		f := ctCheck(t, cenv, tg)
		if !f.Compliant || f.Note != `existing trail "harden-trail" counts (not managed by harden)` {
			t.Fatalf("check: %+v", f)
		}
		j, changed := ctApply(t, cenv, tg)
		if len(changed) != 0 || len(j.Entries) != 0 {
			t.Fatalf("apply: %v %+v", changed, j.Entries)
		}
		ctWantWrites(t, env)
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("the account changed")
		}
	})
	t.Run("does not count", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		arn := ctForeignTrail(t, env, controls.TrailName, false, true)
		before := env.Server.Snapshot()
		env.Server.ResetLog()
		f := ctCheck(t, cenv, tg)
		if f.Compliant || f.Action != control.ActionNone || !strings.Contains(f.Unmanaged, `a trail named "harden-trail" exists without harden's tag managed-by=harden`) ||
			!strings.Contains(f.Unmanaged, "rename or delete that trail") || f.Note != `trail "harden-trail" does not count (single-region)` {
			t.Fatalf("check: %+v", f)
		}
		j, changed := ctApply(t, cenv, tg)
		if len(changed) != 0 || len(j.Entries) != 0 {
			t.Fatalf("apply: %v %+v", changed, j.Entries)
		}
		ctWantWrites(t, env)
		// Steps naming it, as a journal of an older harden or a hand-edited
		// one would: none of them touches it, not even with --force.
		steps := []control.Step{
			{Kind: "CreateTrail", Done: true, RunID: "r1", Prior: []byte(`{"trail_arn":"` + arn + `","name":"harden-trail"}`),
				Result: []byte(`{"trail_arn":"` + arn + `"}`)},
			{Kind: "StartLogging", Done: true, Prior: []byte(`{"trail_arn":"` + arn + `","logging":false}`)},
			{Kind: "PutEventSelectors", Done: true, Prior: []byte(`{"trail_arn":"` + arn + `","selectors":{"classic":[{"read_write_type":"ReadOnly","include_management_events":true}]}}`)},
			{Kind: "UpdateTrail", Done: true, Prior: []byte(`{"trail_arn":"` + arn + `","fields":{"s3_bucket_name":"x","is_multi_region_trail":false}}`)},
		}
		for _, s := range steps {
			u := ctDecide(t, cenv, tg, s)
			if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, "lacks harden's tag managed-by=harden") {
				t.Fatalf("%s: %+v", s.Kind, u)
			}
		}
		ctWantWrites(t, env)
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("the account changed")
		}
	})
}

func TestCloudTrailUndoReplacedOrDeletedTrail(t *testing.T) {
	t.Run("replaced by a same-named trail", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, _ := ctApply(t, cenv, tg)
		arn := controls.TrailARN(tg)
		if _, err := env.Clients.CloudTrail("us-east-1").DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		ctForeignTrail(t, env, controls.TrailName, true, true)
		snap := env.Server.Snapshot()
		env.Server.ResetLog()
		for _, e := range j.Reversed() {
			if u := ctDecide(t, cenv, tg, e.Step); u.Verdict != control.Drifted || u.Do != nil {
				t.Fatalf("%s: %+v", e.Step.Kind, u)
			}
		}
		if d := ctUndoAll(t, cenv, tg, j); len(d) != 2 {
			t.Fatalf("drift: %q", d)
		}
		ctWantWrites(t, env)
		if string(env.Server.Snapshot()) != string(snap) {
			t.Fatal("the user's trail changed")
		}
	})
	t.Run("deleted by the user", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, _ := ctApply(t, cenv, tg)
		if _, err := env.Clients.CloudTrail("us-east-1").DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(controls.TrailARN(tg))}); err != nil {
			t.Fatal(err)
		}
		env.Server.ResetLog()
		for _, e := range j.Reversed() {
			if u := ctDecide(t, cenv, tg, e.Step); u.Verdict != control.Already {
				t.Fatalf("%s: %+v", e.Step.Kind, u)
			}
		}
		ctWantWrites(t, env)
	})
	t.Run("created by another run", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		j, _ := ctApply(t, cenv, tg)
		env.Server.ResetLog()
		s := ctStep(t, j, "CreateTrail")
		s.RunID = "20260202T000000Z-0000"
		u := ctDecide(t, cenv, tg, s)
		if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, "created by harden run 20260101T000000Z-0000, not 20260202T000000Z-0000") {
			t.Fatalf("decision: %+v", u)
		}
		s.Result = []byte(`{"trail_arn":"arn:aws:cloudtrail:us-east-1:` + fakeaws.DefaultAccountID + `:trail/other"}`)
		s.RunID = j.For("cloudtrail", "us-east-1").RunID()
		if u := ctDecide(t, cenv, tg, s); u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("result naming another trail: %+v", u)
		}
		ctWantWrites(t, env)
	})
	t.Run("settings changed since creation", func(t *testing.T) {
		env, cenv, tg := ctSetup(t)
		before := env.Server.Snapshot()
		j, _ := ctApply(t, cenv, tg)
		if _, err := env.Clients.CloudTrail("us-east-1").UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(controls.TrailName),
			IncludeGlobalServiceEvents: aws.Bool(false), IsMultiRegionTrail: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		env.Server.ResetLog()
		d := ctUndoAll(t, cenv, tg, j)
		if len(d) != 1 || d[0] != "CreateTrail: trail harden-trail changed since harden created it: multi-region: harden set true, now false; global service events: harden set true, now false" {
			t.Fatalf("drift: %q", d)
		}
		ctWantWrites(t, env, "StopLogging")
		// --force deletes it: it is harden's.
		u := ctDecide(t, cenv, tg, ctStep(t, j, "CreateTrail"))
		if u.Do == nil {
			t.Fatalf("decision: %+v", u)
		}
		if err := u.Do(ctx); err != nil {
			t.Fatal(err)
		}
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("forced rollback did not restore the account")
		}
	})
}

func TestCloudTrailUndoUnconfirmedCreate(t *testing.T) {
	_, cenv, tg := ctSetup(t)
	j, _ := ctApply(t, cenv, tg)
	s := ctStep(t, j, "CreateTrail")
	s.Done, s.Result, s.After = false, nil, nil
	if u := ctDecide(t, cenv, tg, s); u.Verdict != control.Delete {
		t.Fatalf("found by its run tag: %+v", u)
	}
	s.RunID = "20260202T000000Z-0000"
	if u := ctDecide(t, cenv, tg, s); u.Verdict != control.Already || u.Do != nil || !strings.Contains(u.What, "the write never happened") {
		t.Fatalf("another run's trail: %+v", u)
	}
	if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	if u := ctDecide(t, cenv, tg, s); u.Verdict != control.Already || u.What != "trail harden-trail was never created" {
		t.Fatalf("not found: %+v", u)
	}
}

// A journal of format 1 has no after states: the whole rollback still
// restores the account.
func TestCloudTrailUndoFormat1(t *testing.T) {
	env, cenv, tg := ctSetup(t)
	before := env.Server.Snapshot()
	j, _ := ctApply(t, cenv, tg)
	for i := range j.Entries {
		j.Entries[i].Step.After = nil
	}
	env.Server.ResetLog()
	if d := ctUndoAll(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift: %v", d)
	}
	ctWantWrites(t, env, "StopLogging", "DeleteTrail")
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback did not restore the account")
	}
}
