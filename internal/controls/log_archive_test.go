package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func TestLogArchiveLifecycle(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients, Settings: control.Settings{LogRetentionDays: 90}}
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
