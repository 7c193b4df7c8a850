package fakeaws_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

func TestAccountAlias(t *testing.T) {
	env := fakeawstest.Start(t)
	if a, err := env.Clients.AccountAlias(ctx); err != nil || a != "" {
		t.Fatalf("new account: alias %q, %v", a, err)
	}
	env.Server.SetAccountAlias("acme-prod")
	if a, err := env.Clients.AccountAlias(ctx); err != nil || a != "acme-prod" {
		t.Fatalf("alias %q, %v", a, err)
	}
}

// A limit set without a region applies to each region separately: using
// up eu-west-1's burst leaves eu-west-2's whole.
func TestThrottleEachRegionSeparately(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.SetThrottle("ec2", "", 0.001, 2)
	for _, region := range []string{"eu-west-1", "eu-west-2"} {
		c := env.Clients.EC2(region)
		for i := 0; i < 2; i++ {
			if _, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once); err != nil {
				t.Fatalf("%s: call %d within the burst: %v", region, i, err)
			}
		}
		_, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once)
		if apiCode(t, err) != "RequestLimitExceeded" {
			t.Fatalf("%s over the rate: %v", region, err)
		}
	}
}
