package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Issue 7, finding 3: naming an existing data bucket as the log archive
// adopts it: plan says adopt, the partner's policy statement stays, the
// retention rule expires nothing outside AWSLogs/, and rollback puts the
// bucket back as it was.
func TestAdoptingADataBucket(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	c := clientsFor(t, url)
	ctx := context.Background()
	s3c := c.S3("us-east-1")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("team-data")}); err != nil {
		t.Fatal(err)
	}
	partner := `{"Version":"2012-10-17","Statement":[{"Sid":"PartnerRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::team-data/shared/*"}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("team-data"), Policy: aws.String(partner)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("team-data"),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID: aws.String("tmp"), Status: s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(7)}}}}}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, url)
	args := []string{"--controls", "log-archive", "--log-bucket", "team-data"}
	if out := run(t, url, state, 2, append([]string{"plan", "-o", "text"}, args...)...); !strings.Contains(out, "adopt") {
		t.Fatalf("plan should say adopt:\n%s", out)
	}
	// The retention rule may expire the team's objects under AWSLogs/:
	// destructive, so --yes alone leaves the whole target out.
	if out := run(t, url, state, 2, append([]string{"apply", "--yes"}, args...)...); !strings.Contains(out, "Destructive changes not made") {
		t.Fatalf("apply --yes without --allow-destructive should leave the adoption out:\n%s", out)
	}
	if after := snapshot(t, url); after != before {
		t.Fatalf("apply --yes without --allow-destructive changed the account:\n%s", after)
	}
	run(t, url, state, 0, append([]string{"apply", "--yes", "--allow-destructive"}, args...)...)

	pol, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("team-data")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Sid string `json:"Sid"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	sids := map[string]bool{}
	for _, st := range doc.Statement {
		sids[st.Sid] = true
	}
	if !sids["PartnerRead"] || !sids["DenyInsecureTransport"] {
		t.Errorf("policy after adoption has statements %v: the partner's must stay beside harden's", sids)
	}
	lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("team-data")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range lc.Rules {
		prefix := aws.ToString(r.Prefix)
		if r.Filter != nil {
			prefix = aws.ToString(r.Filter.Prefix)
			if r.Filter.And != nil {
				prefix = aws.ToString(r.Filter.And.Prefix)
			}
		}
		if aws.ToString(r.ID) != "tmp" && !strings.HasPrefix(prefix, "AWSLogs/") {
			t.Errorf("rule %s expires objects under %q: harden may expire only under AWSLogs/", aws.ToString(r.ID), prefix)
		}
	}
	if len(lc.Rules) != 2 {
		t.Errorf("%d lifecycle rules, want the user's and harden's", len(lc.Rules))
	}
	run(t, url, state, 0, "rollback", "--yes")
	if snapshot(t, url) != before {
		t.Error("rollback did not put the adopted bucket back as it was")
	}
}
