package fakeaws_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// together runs every fn at once and returns their errors in order.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn() }()
	}
	wg.Wait()
	return errs
}

// refusals counts the log's answers with code to action.
func refusals(log []fakeaws.Request, action, code string) int {
	n := 0
	for _, r := range log {
		if r.Action == action && r.Error == code {
			n++
		}
	}
	return n
}

// S3 refuses a bucket configuration write that meets another on the same
// bucket with 409 OperationAborted; harden's clients retry it, so both
// writes land. Writes on two buckets, and reads, never conflict.
func TestS3ConcurrentBucketWrites(t *testing.T) {
	env := fakeawstest.Start(t, fakeaws.Options{Latency: 30 * time.Millisecond})
	c := env.Clients.S3("us-east-1")
	for _, b := range []string{"conflict-a", "conflict-b"} {
		must[*s3.CreateBucketOutput](t, "create "+b)(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
	}
	policy := func(b string) func() error {
		return func() error {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)})
			return err
		}
	}
	versioning := func(b string) func() error {
		return func() error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return err
		}
	}
	read := func(b string) func() error {
		return func() error {
			_, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
			return err
		}
	}

	env.Server.ResetLog()
	for _, err := range together(policy("conflict-a"), versioning("conflict-a"), read("conflict-a")) {
		if err != nil {
			t.Fatalf("retried writes on one bucket: %v", err)
		}
	}
	log := env.Server.Requests()
	if n := refusals(log, "PutBucketPolicy", "OperationAborted") + refusals(log, "PutBucketVersioning", "OperationAborted"); n == 0 {
		t.Fatalf("two configuration writes at once on one bucket were both accepted at once: %+v", log)
	}
	for _, r := range log {
		if r.Error == "OperationAborted" && r.Status != 409 {
			t.Fatalf("OperationAborted with status %d, want 409", r.Status)
		}
		if r.Action == "GetBucketVersioning" && r.Error != "" {
			t.Fatalf("a read met a write: %+v", r)
		}
	}

	env.Server.ResetLog()
	for _, err := range together(policy("conflict-a"), policy("conflict-b")) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := refusals(env.Server.Requests(), "PutBucketPolicy", "OperationAborted"); n != 0 {
		t.Fatalf("writes on two buckets conflicted %d times", n)
	}
}

// CloudWatch Logs refuses a write on a log group (a metric filter, the
// retention) that meets another on the same group with
// OperationAbortedException; writes on two groups do not conflict.
func TestLogsConcurrentGroupWrites(t *testing.T) {
	env := fakeawstest.Start(t, fakeaws.Options{Latency: 30 * time.Millisecond})
	c := env.Clients.CloudWatchLogs("us-east-1")
	for _, g := range []string{"/conflict/a", "/conflict/b"} {
		must[*cloudwatchlogs.CreateLogGroupOutput](t, "create "+g)(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}))
	}
	filter := func(g, name string) func() error {
		return func() error {
			_, err := c.PutMetricFilter(context.Background(), &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(g),
				FilterName: aws.String(name), FilterPattern: aws.String(`{ $.eventName = "ConsoleLogin" }`),
				MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(name), MetricNamespace: aws.String("Conflict"), MetricValue: aws.String("1")}}})
			return err
		}
	}
	retention := func() error {
		_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/conflict/a"), RetentionInDays: aws.Int32(30)})
		return err
	}

	errs := together(filter("/conflict/a", "one"), filter("/conflict/a", "two"), retention)
	refused := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		mustCode(t, "write at once on one log group", err, "OperationAbortedException")
		refused++
	}
	if refused == 0 || refused == len(errs) {
		t.Fatalf("three writes at once on one log group: %d refused, want all but one", refused)
	}

	for i, err := range together(filter("/conflict/a", "three"), filter("/conflict/b", "three")) {
		if err != nil {
			t.Fatalf("write %d on its own log group: %v", i, err)
		}
	}
	for _, name := range []string{"four", "five"} {
		if err := filter("/conflict/a", name)(); err != nil {
			t.Fatalf("writes one after another: %v", err)
		}
	}
}
