package controls_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const defaultBucket = "harden-logs-123456789012-us-east-1"

// earlierArchive makes the log archive as an earlier harden run left it,
// then changed: a key with its alias, rotation off and the account's
// default policy; the bucket tagged by harden with no Block Public Access
// and S3's defaults otherwise. Apply then journals every kind of settings
// step on existing resources.
func earlierArchive(t *testing.T, env *fakeawstest.Env) {
	t.Helper()
	k := env.Clients.KMS("us-east-1")
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("harden log archive: earlier run")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(controls.LogArchiveKeyAlias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	s3c := env.Clients.S3("us-east-1")
	b := aws.String(defaultBucket)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("managed-by"), Value: aws.String("harden")}, {Key: aws.String("harden-run"), Value: aws.String("20250101T000000Z-old")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
}

func applyJournal(t *testing.T, env *fakeawstest.Env, cenv *control.Env) *controltest.MemJournal {
	t.Helper()
	c := controls.LogArchive{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, ""), j.For("log-archive", "us-east-1")); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return j
}

func stepOf(t *testing.T, j *controltest.MemJournal, kind control.StepKind) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Step.Kind == kind {
			return e.Step
		}
	}
	t.Fatalf("no %s step in %+v", kind, j.Entries)
	return control.Step{}
}

func undoDecision(t *testing.T, cenv *control.Env, s control.Step) control.Undo {
	t.Helper()
	c := controls.LogArchive{}
	u, err := c.Steps().Undo(ctx, "log-archive", cenv, target(c, ""), s)
	if err != nil {
		t.Fatalf("undo %s: %v", s.Kind, err)
	}
	return u
}

// A setting changed after apply is drift: left alone (the account is
// unchanged by the undo), and --force puts the prior value back.
func TestLogArchiveSettingDrift(t *testing.T) {
	s3c := func(env *fakeawstest.Env) *s3.Client { return env.Clients.S3("us-east-1") }
	b := aws.String(defaultBucket)
	for _, tc := range []struct {
		kind   control.StepKind
		change func(*fakeawstest.Env) error
		says   string
	}{
		{"PutKeyPolicy", func(env *fakeawstest.Env) error {
			k := env.Clients.KMS("us-east-1")
			key, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
			if err != nil {
				return err
			}
			_, err = k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.Arn, PolicyName: aws.String("default"),
				Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`)})
			return err
		}, "statements Admins"},
		{"PutBucketPublicAccessBlock", func(env *fakeawstest.Env) error {
			_, err := s3c(env).PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		}, "harden set all four on, now off: BlockPublicAcls"},
		{"PutBucketEncryption", func(env *fakeawstest.Env) error {
			_, err := s3c(env).PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKmsDsse}}}}})
			return err
		}, "now aws:kms:dsse"},
		{"PutBucketLifecycleConfiguration", func(env *fakeawstest.Env) error {
			_, err := s3c(env).PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
				LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{ID: aws.String("mine"), Status: s3types.ExpirationStatusEnabled,
					Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("x/")}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(7)}}}}})
			return err
		}, "now rules mine"},
		{"PutBucketPolicy", func(env *fakeawstest.Env) error {
			_, err := s3c(env).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + strings.ReplaceAll(partnerStatement, "team-data", defaultBucket) + `]}`)})
			return err
		}, "now a policy with statements PartnerRead"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			env := fakeawstest.Start(t)
			earlierArchive(t, env)
			cenv := &control.Env{AWS: env.Clients}
			j := applyJournal(t, env, cenv)
			step := stepOf(t, j, tc.kind)
			if u := undoDecision(t, cenv, step); u.Verdict != control.Restore {
				t.Fatalf("undisturbed %s: %+v", tc.kind, u)
			}
			if err := tc.change(env); err != nil {
				t.Fatal(err)
			}
			changed := env.Server.Snapshot()
			err := controltest.Undo(ctx, controls.LogArchive{}, cenv, target(controls.LogArchive{}, ""), step)
			var drift *controltest.DriftError
			if !errors.As(err, &drift) || !strings.Contains(drift.What, tc.says) {
				t.Fatalf("undo after a change: %v, want drift saying %q", err, tc.says)
			}
			if string(env.Server.Snapshot()) != string(changed) {
				t.Fatal("a drifted step was undone")
			}
			u := undoDecision(t, cenv, step)
			if u.Do == nil {
				t.Fatal("a drifted setting has no --force")
			}
			if err := u.Do(ctx); err != nil {
				t.Fatalf("force: %v", err)
			}
			if u := undoDecision(t, cenv, step); u.Verdict != control.Already {
				t.Fatalf("after --force the prior value should be back: %+v", u)
			}
		})
	}
}

// The user suspending versioning leaves it where rollback would put it.
func TestLogArchiveVersioningAlreadyBack(t *testing.T) {
	env := fakeawstest.Start(t)
	earlierArchive(t, env)
	cenv := &control.Env{AWS: env.Clients}
	j := applyJournal(t, env, cenv)
	step := stepOf(t, j, "PutBucketVersioning")
	if u := undoDecision(t, cenv, step); u.Verdict != control.Restore {
		t.Fatalf("undisturbed versioning: %+v", u)
	}
	if _, err := env.Clients.S3("us-east-1").PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(defaultBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if u := undoDecision(t, cenv, step); u.Verdict != control.Already {
		t.Fatalf("suspended by the user: %+v", u)
	}
}

// Every step of a full apply on existing resources undoes in order, and a
// second rollback finds nothing to do.
func TestLogArchiveUndoExistingArchive(t *testing.T) {
	env := fakeawstest.Start(t)
	earlierArchive(t, env)
	before := env.Server.Snapshot()
	cenv := &control.Env{AWS: env.Clients}
	j := applyJournal(t, env, cenv)
	if err := j.UndoAll(ctx, controls.LogArchive{}, cenv, func(string) control.Target { return target(controls.LogArchive{}, "") }); err != nil {
		t.Fatal(err)
	}
	// Versioning can only go back to Suspended, and the key keeps its
	// rotation: everything else is as it was.
	var snapBefore, snapAfter struct {
		S3 struct{ Buckets map[string]map[string]any }
	}
	if err := json.Unmarshal(before, &snapBefore); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Server.Snapshot(), &snapAfter); err != nil {
		t.Fatal(err)
	}
	got, want := snapAfter.S3.Buckets[defaultBucket], snapBefore.S3.Buckets[defaultBucket]
	if got["Versioning"] != "Suspended" {
		t.Fatalf("versioning not suspended: %v", got)
	}
	delete(got, "Versioning")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bucket not restored:\nbefore %v\nafter  %v", want, got)
	}
}

// The bucket's owner-ship checks: a same-named bucket without harden's
// tag, or of another run, is drift that even --force leaves alone.
func TestLogArchiveCreateBucketOwnership(t *testing.T) {
	s3c := func(env *fakeawstest.Env) *s3.Client { return env.Clients.S3("us-east-1") }
	recreate := func(tags ...s3types.Tag) func(*testing.T, *fakeawstest.Env) {
		return func(t *testing.T, env *fakeawstest.Env) {
			b := aws.String(defaultBucket)
			if _, err := s3c(env).DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
				t.Fatal(err)
			}
			if _, err := s3c(env).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
				t.Fatal(err)
			}
			if len(tags) > 0 {
				if _, err := s3c(env).PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: tags}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tag := func(k, v string) s3types.Tag { return s3types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	for _, tc := range []struct {
		name    string
		change  func(*testing.T, *fakeawstest.Env)
		edit    func(*control.Step)
		verdict control.Verdict
	}{
		{name: "unchanged", verdict: control.Delete},
		{name: "replaced without tags", change: recreate(tag("owner", "security-team")), verdict: control.Drifted},
		{name: "replaced by another run", change: recreate(tag("managed-by", "harden"), tag("harden-run", "20260202T000000Z-beef")), verdict: control.Drifted},
		{name: "deleted by the user", change: func(t *testing.T, env *fakeawstest.Env) {
			if _, err := s3c(env).DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(defaultBucket)}); err != nil {
				t.Fatal(err)
			}
		}, verdict: control.Already},
		{name: "holds logs", change: func(t *testing.T, env *fakeawstest.Env) {
			if _, err := s3c(env).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(defaultBucket), Key: aws.String("AWSLogs/x"), Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
		}, verdict: control.Keep},
		{name: "holds only an old version of a deleted log", change: func(t *testing.T, env *fakeawstest.Env) {
			key := aws.String("AWSLogs/123456789012/CloudTrail/log.json.gz")
			if _, err := s3c(env).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(defaultBucket), Key: key, Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
			if _, err := s3c(env).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(defaultBucket), Key: key}); err != nil {
				t.Fatal(err)
			}
		}, verdict: control.Keep},
		{name: "unconfirmed, found by the run tag", edit: func(s *control.Step) { s.Done, s.Result = false, nil }, verdict: control.Delete},
		{name: "unconfirmed, never happened", change: func(t *testing.T, env *fakeawstest.Env) {
			if _, err := s3c(env).DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(defaultBucket)}); err != nil {
				t.Fatal(err)
			}
		}, edit: func(s *control.Step) { s.Done, s.Result = false, nil }, verdict: control.Already},
		{name: "unconfirmed, untagged bucket", change: recreate(), edit: func(s *control.Step) { s.Done, s.Result = false, nil }, verdict: control.Drifted},
		{name: "format 1, managed-by tag only", change: recreate(tag("managed-by", "harden")),
			edit: func(s *control.Step) { s.After, s.Result, s.RunID = nil, nil, "" }, verdict: control.Delete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			cenv := &control.Env{AWS: env.Clients}
			j := applyJournal(t, env, cenv)
			step := stepOf(t, j, "CreateBucket")
			if tc.change != nil {
				tc.change(t, env)
			}
			if tc.edit != nil {
				tc.edit(&step)
			}
			snap := env.Server.Snapshot()
			u := undoDecision(t, cenv, step)
			if u.Verdict != tc.verdict {
				t.Fatalf("verdict %s (%s), want %s", u.Verdict, u.What, tc.verdict)
			}
			if string(env.Server.Snapshot()) != string(snap) {
				t.Fatal("deciding the undo wrote")
			}
			if tc.verdict == control.Drifted && u.Do != nil {
				t.Fatalf("a bucket harden cannot prove it created has a --force: %s", u.What)
			}
			if tc.verdict == control.Delete {
				if err := u.Do(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s3c(env).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(defaultBucket)}); err == nil {
					t.Fatal("bucket not deleted")
				}
			}
		})
	}
}

// Issue 6 finding 2: a hand-appended CreateBucket step naming the user's
// bucket never deletes it.
func TestLogArchiveHandWrittenCreateBucketStep(t *testing.T) {
	env := fakeawstest.Start(t)
	teamDataBucket(t, env)
	if _, err := env.Clients.S3("us-east-1").DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("team-data"), Key: aws.String("shared/report.csv")}); err != nil {
		t.Fatal(err)
	}
	cenv := &control.Env{AWS: env.Clients}
	before := env.Server.Snapshot()
	for _, s := range []control.Step{
		{Kind: "CreateBucket", Prior: []byte(`{"Name":"team-data"}`), Done: true, RunID: "20260101T000000Z-0000"},
		{Kind: "CreateBucket", Prior: []byte(`{"Name":"team-data"}`), Done: true},
	} {
		u := undoDecision(t, cenv, s)
		if u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("hand-written step: %+v", u)
		}
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("the user's bucket was touched")
	}
}

// Steps written by format-1 journals (no After, SDK-shaped priors) undo as
// before.
func TestLogArchiveFormat1Steps(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	s3c := env.Clients.S3("us-east-1")
	b := aws.String("logs")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// What the former harden left: the user's rule plus its whole-bucket
	// retention rule, its full policy, its Block Public Access.
	if _, err := s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{
			{ID: aws.String("user-tmp"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
				Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(30)}},
			{ID: aws.String("harden-retention"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
				Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(365)}, NoncurrentVersionExpiration: &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(365)}},
		}}}); err != nil {
		t.Fatal(err)
	}
	// Step 2 of internal/journal/testdata/format1.jsonl.
	lifecycle := control.Step{Kind: "PutBucketLifecycleConfiguration", Done: true, Prior: []byte(`{"Bucket":"logs","HasRules":true,"Rules":[{"Status":"Enabled","AbortIncompleteMultipartUpload":null,"Expiration":{"Date":null,"Days":30,"ExpiredObjectDeleteMarker":null},"Filter":{"And":null,"ObjectSizeGreaterThan":null,"ObjectSizeLessThan":null,"Prefix":"tmp/","Tag":null},"ID":"user-tmp","NoncurrentVersionExpiration":null,"NoncurrentVersionTransitions":null,"Prefix":null,"Transitions":null}]}`)}
	u := undoDecision(t, cenv, lifecycle)
	if u.Verdict != control.Restore {
		t.Fatalf("format-1 lifecycle step: %+v", u)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || len(lc.Rules) != 1 || aws.ToString(lc.Rules[0].ID) != "user-tmp" || aws.ToString(lc.Rules[0].Filter.Prefix) != "tmp/" ||
		aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 {
		t.Fatalf("rules after undo: %+v, %v", lc, err)
	}
	if u := undoDecision(t, cenv, lifecycle); u.Verdict != control.Already {
		t.Fatalf("second undo: %+v", u)
	}

	// The former policy step wrote harden's whole policy over none.
	c := controls.LogArchive{}
	if _, err := c.Apply(ctx, &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("logs", 365)}, target(c, ""), (&controltest.MemJournal{}).For("log-archive", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	// ... which granted CloudTrail and Config only (before vpc-flow-logs).
	former, err := os.ReadFile("testdata/archive_policy_before_flowlogs.bucket.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b,
		Policy: aws.String(strings.ReplaceAll(string(former), "arn:aws:s3:::b", "arn:aws:s3:::logs"))}); err != nil {
		t.Fatal(err)
	}
	policy := control.Step{Kind: "PutBucketPolicy", Done: true, Prior: []byte(`{"Bucket":"logs","Policy":""}`)}
	if u := undoDecision(t, cenv, policy); u.Verdict != control.Restore {
		t.Fatalf("format-1 policy step: %+v", u)
	} else if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err == nil {
		t.Fatal("policy not deleted")
	}
	pab := control.Step{Kind: "PutBucketPublicAccessBlock", Done: true, Prior: []byte(`{"Bucket":"logs","PAB":{"exists":false,"block_public_acls":false,"ignore_public_acls":false,"block_public_policy":false,"restrict_public_buckets":false}}`)}
	if u := undoDecision(t, cenv, pab); u.Verdict != control.Restore {
		t.Fatalf("format-1 PAB step: %+v", u)
	} else if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}); err == nil {
		t.Fatal("public access block not deleted")
	}
	key := control.Step{Kind: "CreateKey", Done: true, Prior: []byte(`{"Name":"alias/harden-log-archive"}`), Result: []byte(`{"key_arn":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-0000"}`)}
	if u := undoDecision(t, cenv, key); u.Verdict != control.Keep || !strings.Contains(u.What, "1234abcd-0000") {
		t.Fatalf("format-1 CreateKey: %+v", u)
	}
}

// A bucket deleted by the user leaves nothing to undo for its settings,
// and a key scheduled for deletion nothing for its policy.
func TestLogArchiveResourcesDeletedByUser(t *testing.T) {
	env := fakeawstest.Start(t)
	earlierArchive(t, env)
	cenv := &control.Env{AWS: env.Clients}
	j := applyJournal(t, env, cenv)
	if _, err := env.Clients.S3("us-east-1").DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(defaultBucket)}); err != nil {
		t.Fatal(err)
	}
	k := env.Clients.KMS("us-east-1")
	key, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Entries {
		u := undoDecision(t, cenv, e.Step)
		want := control.Already
		if e.Step.Kind == "EnableKeyRotation" {
			want = control.Keep
		}
		if u.Verdict != want {
			t.Errorf("%s after the user deleted it: %s (%s), want %s", e.Step.Kind, u.Verdict, u.What, want)
		}
	}
}
