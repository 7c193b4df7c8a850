package controls_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func TestLogArchiveLifecycle(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("", 90)}
	c := controls.LogArchive{}
	tg := target(c, "")
	bucket := controls.LogBucketName(cenv, tg)

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionCreate {
		t.Fatalf("fresh: %+v, %v", f, err)
	}
	before := env.Server.Snapshot()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("log-archive", "us-east-1")); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if f, err = c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("after apply: %+v, %v", f, err)
	}
	s3c := env.Clients.S3("us-east-1")
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil || string(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm) != "aws:kms" {
		t.Fatalf("encryption: %+v, %v", enc, err)
	}
	key, err := env.Clients.KMS("us-east-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := env.Clients.KMS("us-east-1").GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyMetadata.KeyId})
	if err != nil || !rot.KeyRotationEnabled {
		t.Fatalf("rotation: %v, %v", rot, err)
	}
	pol, _ := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	for _, want := range []string{`"aws:SecureTransport":"false"`, "/AWSLogs/123456789012/Config/*", "trail/harden-trail"} {
		if !strings.Contains(aws.ToString(pol.Policy), want) {
			t.Fatalf("bucket policy lacks %s: %s", want, aws.ToString(pol.Policy))
		}
	}

	env.Server.ResetLog()
	j2 := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, tg, j2.For("log-archive", "us-east-1")); err != nil || len(ch) != 0 || len(env.Server.Writes()) != 0 {
		t.Fatalf("second apply: %v, %v, writes %v", ch, err, env.Server.Writes())
	}

	kept := 0
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, c, cenv, tg, e.Step)
		var r *control.RetainedError
		if errors.As(err, &r) {
			kept++
			continue
		}
		if err != nil {
			t.Fatalf("rollback %s: %v", e.Step.Kind, err)
		}
	}
	if kept != 3 {
		t.Fatalf("kept %d steps, want 3 (key, alias, rotation)", kept)
	}
	after := env.Server.Snapshot()
	if fakeawstest.WithoutKMS(t, after) != fakeawstest.WithoutKMS(t, before) {
		t.Fatalf("rollback left more than the key:\nbefore %s\nafter  %s", before, after)
	}
	// The key is kept, enabled, and found again by the next apply.
	if _, err := env.Clients.KMS("us-east-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)}); err != nil {
		t.Fatalf("key not kept: %v", err)
	}
	env.Server.ResetLog()
	if _, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("log-archive", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	for _, w := range env.Server.Writes() {
		if w.Action == "CreateKey" {
			t.Fatal("re-apply created a second key instead of reusing the kept one")
		}
	}
}

func TestLogArchiveKeepsBucketWithLogs(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.LogArchive{}
	tg := target(c, "")
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("log-archive", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	bucket := controls.LogBucketName(cenv, tg)
	_, err := env.Clients.S3("us-east-1").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("AWSLogs/123456789012/CloudTrail/us-east-1/log.json.gz"), Body: strings.NewReader("{}")})
	if err != nil {
		t.Fatal(err)
	}
	var keptBucket bool
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, c, cenv, tg, e.Step)
		var r *control.RetainedError
		if errors.As(err, &r) && strings.Contains(r.Reason, "holds logs") {
			keptBucket = true
		} else if err != nil && !errors.As(err, &r) {
			t.Fatalf("rollback %s: %v", e.Step.Kind, err)
		}
	}
	if !keptBucket {
		t.Fatal("a bucket holding logs was not kept")
	}
	if _, err := env.Clients.S3("us-east-1").HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("AWSLogs/123456789012/CloudTrail/us-east-1/log.json.gz")}); err != nil {
		t.Fatalf("log object gone: %v", err)
	}
}

// bucketSnapshot is one bucket's state in a fakeaws snapshot.
func bucketSnapshot(t *testing.T, env *fakeawstest.Env, name string) string {
	t.Helper()
	var snap struct {
		S3 struct{ Buckets map[string]json.RawMessage }
	}
	if err := json.Unmarshal(env.Server.Snapshot(), &snap); err != nil {
		t.Fatal(err)
	}
	return string(snap.S3.Buckets[name])
}

const partnerStatement = `{"Sid":"PartnerRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},` +
	`"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::team-data","arn:aws:s3:::team-data/shared/*"]}`

// teamDataBucket makes a data bucket of the user's: a partner's
// cross-account grant, a lifecycle rule of its own, SSE-S3, an object.
func teamDataBucket(t *testing.T, env *fakeawstest.Env) {
	t.Helper()
	s3c := env.Clients.S3("us-east-1")
	b := aws.String("team-data")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b,
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + partnerStatement + `]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID: aws.String("user-tmp"), Status: s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(30)}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b,
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("owner"), Value: aws.String("data-team")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("shared/report.csv"), Body: strings.NewReader("a,b")}); err != nil {
		t.Fatal(err)
	}
}

// Issue 7 finding 3: --log-bucket naming an existing data bucket adopts it
// without dropping a foreign grant, expiring data or switching encryption,
// and rollback puts the bucket back byte for byte.
func TestLogArchiveAdoptsExistingBucketSafely(t *testing.T) {
	env := fakeawstest.Start(t)
	teamDataBucket(t, env)
	cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("team-data", 365)}
	c := controls.LogArchive{}
	tg := target(c, "")
	bucketBefore, before := bucketSnapshot(t, env, "team-data"), env.Server.Snapshot()

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionAdopt || !strings.HasPrefix(f.Note, "adopt existing bucket team-data: ") {
		t.Fatalf("plan of an existing bucket should be an adoption: %+v, %v", f, err)
	}
	for _, ch := range f.Changes {
		if strings.Contains(ch.Field, "encryption") || strings.Contains(ch.Field, "versioning") {
			t.Fatalf("adoption plans to change %s", ch.Field)
		}
	}
	if !c.Info().Destructive {
		t.Fatal("log-archive deletes logs after the retention: it must be marked destructive")
	}

	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("log-archive", "us-east-1")); err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, w := range env.Server.Writes() {
		switch w.Action {
		case "PutBucketEncryption", "PutBucketVersioning", "PutBucketTagging", "CreateBucket", "DeleteBucketPolicy":
			t.Fatalf("adoption made %s on the user's bucket", w.Action)
		}
	}
	s3c := env.Clients.S3("us-east-1")
	pol, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("team-data")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []json.RawMessage }
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	var partnerKept, tlsAdded bool
	for _, s := range doc.Statement {
		partnerKept = partnerKept || jsonEqual(t, string(s), partnerStatement)
		tlsAdded = tlsAdded || strings.Contains(string(s), `"DenyInsecureTransport"`)
	}
	if !partnerKept || !tlsAdded {
		t.Fatalf("merged policy lost the partner statement or lacks harden's: %s", aws.ToString(pol.Policy))
	}
	lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("team-data")})
	if err != nil {
		t.Fatal(err)
	}
	var userRule bool
	for _, r := range lc.Rules {
		if aws.ToString(r.ID) == "user-tmp" {
			userRule = true
			continue
		}
		if r.Filter == nil || !strings.HasPrefix(aws.ToString(r.Filter.Prefix), "AWSLogs/") || r.Prefix != nil {
			t.Fatalf("harden's rule expires objects outside AWSLogs/: %+v", r)
		}
	}
	if !userRule || len(lc.Rules) != 2 {
		t.Fatalf("lifecycle rules after adoption: %+v", lc.Rules)
	}
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("team-data")})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Fatalf("adoption changed the default encryption: %+v, %v", enc, err)
	}
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "AES256") {
		t.Fatalf("adopted bucket should be compliant, with its encryption in the note: %+v, %v", f, err)
	}
	env.Server.ResetLog()
	if ch, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("log-archive", "us-east-1")); err != nil || len(ch) != 0 || len(env.Server.Writes()) != 0 {
		t.Fatalf("second apply: %v, %v, writes %v", ch, err, env.Server.Writes())
	}

	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := bucketSnapshot(t, env, "team-data"); got != bucketBefore {
		t.Fatalf("rollback did not restore the user's bucket:\nbefore %s\nafter  %s", bucketBefore, got)
	}
	if fakeawstest.WithoutKMS(t, env.Server.Snapshot()) != fakeawstest.WithoutKMS(t, before) {
		t.Fatal("rollback left more than the kept key")
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestLogArchiveRejectsInvalidBucketNameBeforeAnyCall(t *testing.T) {
	env := fakeawstest.Start(t)
	c := controls.LogArchive{}
	for _, name := range []string{"MyLogs", "ab", "xn--logs", "a..b", "10.0.0.1"} {
		cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings(name, 365)}
		env.Server.ResetLog()
		if _, err := c.Check(ctx, cenv, target(c, "")); err == nil || !strings.Contains(err.Error(), "choose another with --log-bucket") {
			t.Fatalf("check %q: %v", name, err)
		}
		j := &controltest.MemJournal{}
		if _, err := c.Apply(ctx, cenv, target(c, ""), j.For("log-archive", "us-east-1")); err == nil {
			t.Fatalf("apply %q succeeded", name)
		}
		if n := len(env.Server.Requests()); n != 0 || len(j.Entries) != 0 {
			t.Fatalf("%q: %d AWS calls, %d journal entries before validation", name, n, len(j.Entries))
		}
	}
}

// killJournal journals like MemJournal but, for one kind of write, runs the
// write and then fails as a killed process would: the step stays
// unconfirmed (Done=false) although AWS made the change, and no write
// starts after it. Writes of other branches that started before it may
// complete, as they may in a process killed while they were in flight.
type killJournal struct {
	m    *controltest.MemJournal
	kill control.StepKind
	mu   *sync.Mutex
	dead *bool
}

func newKillJournal(m *controltest.MemJournal, kill control.StepKind) killJournal {
	return killJournal{m: m, kill: kill, mu: &sync.Mutex{}, dead: new(bool)}
}

func (k killJournal) RunID() string { return k.m.For("log-archive", "us-east-1").RunID() }

var errKilled = errors.New("killed after the write, before its outcome was journaled")

func (k killJournal) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	k.mu.Lock()
	dead := *k.dead
	k.mu.Unlock()
	if dead {
		return errKilled
	}
	if kind != k.kill {
		return k.m.For("log-archive", "us-east-1").Write(ctx, kind, prior, after, write)
	}
	p, _ := json.Marshal(prior)
	a, _ := json.Marshal(after)
	// MemJournal's own Write would mark the step done: record it without.
	unconfirmed := k.m.For("log-archive", "us-east-1")
	err := unconfirmed.Write(ctx, kind, json.RawMessage(p), json.RawMessage(a), func(ctx context.Context) (any, error) {
		if _, err := write(ctx); err != nil {
			return nil, err
		}
		k.mu.Lock()
		*k.dead = true
		k.mu.Unlock()
		return nil, errKilled
	})
	return err
}

func hardenKeys(t *testing.T, env *fakeawstest.Env) []string {
	t.Helper()
	k := env.Clients.KMS("us-east-1")
	keys, err := k.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, key := range keys.Keys {
		tags, err := k.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: key.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range tags.Tags {
			if aws.ToString(tag.TagKey) == control.TagManagedBy && aws.ToString(tag.TagValue) == control.TagManagedByID {
				out = append(out, aws.ToString(key.KeyId))
			}
		}
	}
	return out
}

// Issue 6 finding 4: killed while CreateKey was in flight, apply left a key
// without its alias; rollback names it by id and the next apply adopts it
// instead of making a second key.
func TestLogArchiveKilledCreateKey(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.LogArchive{}
	tg := target(c, "")
	killed := &controltest.MemJournal{Run: "20260101T000000Z-kill"}
	if _, err := c.Apply(ctx, cenv, tg, newKillJournal(killed, "CreateKey")); err == nil {
		t.Fatal("killed apply reported success")
	}
	orphans := hardenKeys(t, env)
	var step control.Step
	for i, e := range killed.Entries {
		if e.Step.Kind == "CreateKey" {
			// A killed process journals no outcome, not even a failure.
			killed.Entries[i].Failed = false
			step = e.Step
		}
	}
	if len(orphans) != 1 || step.Kind == "" || step.Done {
		t.Fatalf("after the kill: keys %v, journal %+v", orphans, killed.Entries)
	}
	u, err := c.Steps().Undo(ctx, "log-archive", cenv, tg, step)
	if err != nil || u.Verdict != control.Keep || !strings.Contains(u.What, orphans[0]) || !strings.Contains(u.What, "alias not created") {
		t.Fatalf("undo of the unconfirmed CreateKey: %+v, %v", u, err)
	}
	other := step
	other.RunID = "20260101T000000Z-none"
	if u, err := c.Steps().Undo(ctx, "log-archive", cenv, tg, other); err != nil || u.Verdict != control.Already {
		t.Fatalf("unconfirmed CreateKey of a run that made no key: %+v, %v", u, err)
	}

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant {
		t.Fatalf("check after the kill: %+v, %v", f, err)
	}
	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For("log-archive", "us-east-1")); err != nil {
		t.Fatalf("apply after the kill: %v", err)
	}
	for _, w := range env.Server.Writes() {
		if w.Action == "CreateKey" {
			t.Fatal("apply made a second key instead of adopting the orphan")
		}
	}
	keys := hardenKeys(t, env)
	alias, err := env.Clients.KMS("us-east-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(controls.LogArchiveKeyAlias)})
	if err != nil || len(keys) != 1 || aws.ToString(alias.KeyMetadata.KeyId) != keys[0] {
		t.Fatalf("keys %v, alias %+v, %v", keys, alias, err)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("after adopting the orphan key: %+v, %v", f, err)
	}
	u, err = c.Steps().Undo(ctx, "log-archive", cenv, tg, step)
	if err != nil || u.Verdict != control.Keep || !strings.Contains(u.What, controls.LogArchiveKeyAlias) {
		t.Fatalf("undo of the unconfirmed CreateKey once adopted: %+v, %v", u, err)
	}
}

// A bucket whose rules use the base-level Prefix of lifecycle V1 gets
// harden's rule in the same form: S3 refuses a mix of the two.
func TestLogArchiveAdoptsBucketWithLegacyLifecycle(t *testing.T) {
	env := fakeawstest.Start(t)
	s3c := env.Clients.S3("us-east-1")
	b := aws.String("legacy-data")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{ID: aws.String("old-tmp"),
			Status: s3types.ExpirationStatusEnabled, Prefix: aws.String("tmp/"), Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(7)}}}}}); err != nil {
		t.Fatal(err)
	}
	before := bucketSnapshot(t, env, "legacy-data")
	cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("legacy-data", 365)}
	c := controls.LogArchive{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, ""), j.For("log-archive", "us-east-1")); err != nil {
		t.Fatalf("apply: %v", err)
	}
	lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || len(lc.Rules) != 2 || aws.ToString(lc.Rules[1].Prefix) != "AWSLogs/" || lc.Rules[1].Filter != nil {
		t.Fatalf("rules: %+v, %v", lc, err)
	}
	if f, err := c.Check(ctx, cenv, target(c, "")); err != nil || !f.Compliant {
		t.Fatalf("after apply: %+v, %v", f, err)
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return target(c, "") }); err != nil {
		t.Fatal(err)
	}
	if got := bucketSnapshot(t, env, "legacy-data"); got != before {
		t.Fatalf("rollback:\nbefore %s\nafter  %s", before, got)
	}
}

// archiveSettings are log-archive settings for a test's control.Env.
func archiveSettings(bucket string, days int) map[string]control.ControlSettings {
	return map[string]control.ControlSettings{"log-archive": &controls.LogArchiveSettings{Bucket: bucket, RetentionDays: days}}
}

// On a fresh account the key branch and the bucket branch write at once,
// the bucket's writes one after another (S3 refuses concurrent
// configuration writes on one bucket: no OperationAborted may appear),
// and the new bucket's Block Public Access, which S3 turns on, is read,
// not written. An endpoint whose new buckets lack it gets it written.
func TestLogArchiveNewBucketWrites(t *testing.T) {
	for _, missing := range []bool{false, true} {
		env := fakeawstest.Start(t, fakeaws.Options{Latency: 5 * time.Millisecond})
		cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("", 90)}
		c := controls.LogArchive{}
		tg := target(c, "")
		if missing {
			env.Server.AddFault(fakeaws.Fault{Service: "s3", Action: "GetPublicAccessBlock", Error: "NoSuchPublicAccessBlockConfiguration",
				Status: 404, Message: "The public access block configuration was not found", Times: 1})
		}
		j := &controltest.MemJournal{}
		if _, err := c.Apply(ctx, cenv, tg, j.For("log-archive", "us-east-1")); err != nil {
			t.Fatalf("apply (PAB missing %v): %v", missing, err)
		}
		pabWrites := 0
		for _, r := range env.Server.Requests() {
			if r.Error == "OperationAborted" {
				t.Fatalf("two bucket writes met: %+v", r)
			}
			if r.Action == "PutPublicAccessBlock" {
				pabWrites++
			}
		}
		steps := map[control.StepKind]int{}
		for _, e := range j.Entries {
			steps[e.Step.Kind]++
		}
		want := 0
		if missing {
			want = 1
		}
		if pabWrites != want || steps["PutBucketPublicAccessBlock"] != want {
			t.Fatalf("PAB missing %v: %d PutPublicAccessBlock calls, %d steps, want %d", missing, pabWrites, steps["PutBucketPublicAccessBlock"], want)
		}
		if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
			t.Fatalf("after apply (PAB missing %v): %+v, %v", missing, f, err)
		}
	}
}

// A key read that fails does not stop the bucket branch, which needs
// nothing of the key's reads: the bucket is made with every setting but
// the default encryption (which needs the key), and apply reports the
// key's error; the next apply finishes the job.
func TestLogArchiveKeyReadFailsBucketGoesOn(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients, ControlSettings: archiveSettings("", 90)}
	c := controls.LogArchive{}
	tg := target(c, "")
	env.Server.AddFault(fakeaws.Fault{Service: "kms", Action: "DescribeKey", Error: fakeaws.AccessDenied})
	_, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("log-archive", "us-east-1"))
	if err == nil || !strings.Contains(err.Error(), "describe key") {
		t.Fatalf("apply with the key unreadable: %v", err)
	}
	var kinds []string
	for _, w := range env.Server.Writes() {
		kinds = append(kinds, w.Action)
	}
	if got := strings.Join(kinds, " "); got != "CreateBucket PutBucketVersioning PutBucketLifecycleConfiguration PutBucketPolicy" {
		t.Fatalf("writes = %s", got)
	}
	env.Server.ClearFaults()
	if _, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("log-archive", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("after the second apply: %+v, %v", f, err)
	}
}
