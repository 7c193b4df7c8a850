package awsclient_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// AWS_ENDPOINT_URL_<SERVICE> routes one service; the others follow
// AWS_ENDPOINT_URL. S3 Control must reach the custom host itself, not
// "<account-id>.<host>".
func TestPerServiceEndpointEnv(t *testing.T) {
	srv := fakeaws.New(fakeaws.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	fakeawstest.SetCredentialEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("AWS_ENDPOINT_URL_S3_CONTROL", hs.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", hs.URL)
	c, err := awsclient.Load(context.Background(), awsclient.Options{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccountID(context.Background()); err != nil {
		t.Fatalf("sts via AWS_ENDPOINT_URL_STS: %v", err)
	}
	_, err = c.S3Control("eu-west-1").DeletePublicAccessBlock(context.Background(), &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(fakeaws.DefaultAccountID)})
	if err != nil {
		t.Fatalf("s3control via AWS_ENDPOINT_URL_S3_CONTROL: %v", err)
	}
	if _, err := c.IAM().GetAccountPasswordPolicy(context.Background(), nil); err == nil {
		t.Fatal("iam should have gone to AWS_ENDPOINT_URL, where nothing listens")
	}
	if got := srv.Requests(); len(got) != 2 || got[1].Service != "s3control" {
		t.Fatalf("fakeaws saw %+v", got)
	}
}

func TestHomeRegionDefaults(t *testing.T) {
	fakeawstest.SetCredentialEnv(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	c, err := awsclient.Load(context.Background(), awsclient.Options{})
	if err != nil || c.HomeRegion() != "us-east-1" {
		t.Fatalf("home = %q, %v", c.HomeRegion(), err)
	}
	t.Setenv("AWS_REGION", "eu-west-3")
	c, _ = awsclient.Load(context.Background(), awsclient.Options{})
	if c.HomeRegion() != "eu-west-3" {
		t.Fatalf("home from AWS_REGION = %q", c.HomeRegion())
	}
	c, _ = awsclient.Load(context.Background(), awsclient.Options{Region: "ap-south-1"})
	if c.HomeRegion() != "ap-south-1" {
		t.Fatalf("--region = %q", c.HomeRegion())
	}
}

// A service that accepts connections and never answers ends the call at
// the overall deadline, with an error that says it timed out.
func TestHungEndpointTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // hold it open, say nothing
		}
	}()
	fakeawstest.SetCredentialEnv(t)
	c, err := awsclient.Load(context.Background(), awsclient.Options{
		EndpointURL: "http://" + ln.Addr().String(),
		Timeouts:    awsclient.Timeouts{Attempt: 300 * time.Millisecond, Call: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.AccountID(context.Background())
	took := time.Since(start)
	var te *awsclient.CallTimeoutError
	if !errors.As(err, &te) || te.After != time.Second || !strings.Contains(err.Error(), "no answer within 1s") {
		t.Fatalf("err = %v", err)
	}
	if took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("took %s, want about 1s", took)
	}
}

// Throttling that never stops gives up at the overall deadline.
func TestEndlessThrottlingTimesOut(t *testing.T) {
	srv := fakeaws.New(fakeaws.Options{})
	srv.AddFault(fakeaws.Fault{Service: "sts", Error: fakeaws.Throttle})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	fakeawstest.SetCredentialEnv(t)
	c, err := awsclient.Load(context.Background(), awsclient.Options{
		EndpointURL: hs.URL, MaxAttempts: 100,
		Timeouts: awsclient.Timeouts{Call: 1500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.AccountID(context.Background())
	if took := time.Since(start); err == nil || took > 3*time.Second {
		t.Fatalf("endless throttling: %v after %s", err, took)
	}
	// The deadline fell while throttled: the error says both.
	var te *awsclient.CallTimeoutError
	if !errors.As(err, &te) || !awserror.IsThrottled(err) {
		t.Fatalf("endless throttling: %v", err)
	}
}

// Calls queued behind each other for a throttled service's pace wait
// longer than their deadline, and succeed: the queue moves.
func TestPacedQueueOutlastsTheCallDeadline(t *testing.T) {
	srv := fakeaws.New(fakeaws.Options{})
	srv.SetThrottle("sts", "", 10, 1)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	fakeawstest.SetCredentialEnv(t)
	const deadline = 400 * time.Millisecond
	c, err := awsclient.Load(context.Background(), awsclient.Options{
		EndpointURL: hs.URL, Timeouts: awsclient.Timeouts{Call: deadline},
	})
	if err != nil {
		t.Fatal(err)
	}
	const calls = 30 // at most 10 a second: 3 s, far over the deadline
	errs := make(chan error, calls)
	start := time.Now()
	for range calls {
		go func() {
			_, err := c.AccountID(context.Background())
			errs <- err
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
	if took := time.Since(start); took < 5*deadline {
		t.Fatalf("%d calls at 10 a second took %s: they did not queue past the deadline of %s", calls, took, deadline)
	}
}
