package fakeaws_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

var ctx = context.Background()

// once sends a call once: no retry by the SDK, and none by harden's
// pacer, which retries throttled calls until their deadline (these tests
// are about fakeaws's answers, not about pacing).
func once(o *ec2.Options) {
	o.RetryMaxAttempts = 1
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Finalize.Remove("HardenPacing")
		return err
	})
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AWS API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestSTSAndRegions(t *testing.T) {
	env := fakeawstest.Start(t)
	id, err := env.Clients.AccountID(ctx)
	if err != nil || id != fakeaws.DefaultAccountID {
		t.Fatalf("AccountID = %q, %v", id, err)
	}
	out, err := env.Clients.EC2("us-east-1").DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range out.Regions {
		status[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
	}
	if len(status) != 21 || status["us-east-1"] != "opt-in-not-required" || status["af-south-1"] != "not-opted-in" || status["eu-south-1"] != "opted-in" {
		t.Fatalf("regions = %v", status)
	}
	enabled, err := env.Clients.EC2("us-east-1").DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil || len(enabled.Regions) != 18 {
		t.Fatalf("enabled regions = %d, %v", len(enabled.Regions), err)
	}
}

func TestEC2EbsAndDefaultVpc(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.EC2("eu-west-1")
	get, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil || aws.ToBool(get.EbsEncryptionByDefault) {
		t.Fatalf("fresh account: encryption %v, %v", aws.ToBool(get.EbsEncryptionByDefault), err)
	}
	if _, err := c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
		t.Fatal(err)
	}
	get, _ = c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if !aws.ToBool(get.EbsEncryptionByDefault) {
		t.Fatal("encryption not on after Enable")
	}
	other, _ := env.Clients.EC2("eu-west-2").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if aws.ToBool(other.EbsEncryptionByDefault) {
		t.Fatal("Enable in eu-west-1 leaked into eu-west-2")
	}
	key, err := c.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
	if err != nil || aws.ToString(key.KmsKeyId) != "alias/aws/ebs" {
		t.Fatalf("default key %q, %v", aws.ToString(key.KmsKeyId), err)
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("isDefault"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default vpc: %+v, %v", vpcs, err)
	}
	vpcID := vpcs.Vpcs[0].VpcId
	subnets, _ := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcID}}}})
	igws, _ := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{*vpcID}}}})
	sgs, _ := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcID}}}})
	if len(subnets.Subnets) != 3 || len(igws.InternetGateways) != 1 || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("default vpc parts: %d subnets, %d igws, %d sgs", len(subnets.Subnets), len(igws.InternetGateways), len(sgs.SecurityGroups))
	}
	sg := sgs.SecurityGroups[0]
	if aws.ToString(sg.GroupName) != "default" || len(sg.IpPermissions) != 1 || len(sg.IpPermissionsEgress) != 1 ||
		aws.ToString(sg.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" ||
		aws.ToString(sg.IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(sg.GroupId) {
		t.Fatalf("default security group rules: %+v", sg)
	}
}

func TestIAMPasswordPolicy(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.IAM()
	_, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("fresh account: want NoSuchEntity, got %v", err)
	}
	_, err = c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(200)})
	if apiCode(t, err) != "ValidationError" {
		t.Fatalf("length 200: %v", err)
	}
	_, err = c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, PasswordReusePrevention: aws.Int32(24),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil {
		t.Fatal(err)
	}
	p := got.PasswordPolicy
	if aws.ToInt32(p.MinimumPasswordLength) != 14 || !p.RequireSymbols || p.RequireNumbers || aws.ToInt32(p.PasswordReusePrevention) != 24 || p.MaxPasswordAge != nil || p.ExpirePasswords {
		t.Fatalf("policy = %+v", p)
	}
	// A second update replaces the whole policy: omitted fields reset.
	if _, err := c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{RequireNumbers: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if aws.ToInt32(got.PasswordPolicy.MinimumPasswordLength) != 6 || got.PasswordPolicy.RequireSymbols || got.PasswordPolicy.PasswordReusePrevention != nil {
		t.Fatalf("update did not replace the policy: %+v", got.PasswordPolicy)
	}
	if _, err := c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); !errors.As(err, &nse) {
		t.Fatalf("second delete: want NoSuchEntity, got %v", err)
	}
}

func TestS3ControlPublicAccessBlock(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.S3Control("us-east-1")
	acct := aws.String(fakeaws.DefaultAccountID)
	_, err := c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: acct})
	var none *s3ctypes.NoSuchPublicAccessBlockConfiguration
	if !errors.As(err, &none) {
		t.Fatalf("fresh account: want NoSuchPublicAccessBlockConfiguration, got %v", err)
	}
	_, err = c.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: acct,
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	cfg := got.PublicAccessBlockConfiguration
	if !aws.ToBool(cfg.BlockPublicAcls) || aws.ToBool(cfg.IgnorePublicAcls) || aws.ToBool(cfg.BlockPublicPolicy) || !aws.ToBool(cfg.RestrictPublicBuckets) {
		t.Fatalf("config = %+v", cfg)
	}
	_, err = c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String("999999999999")})
	if apiCode(t, err) != "AccessDenied" {
		t.Fatalf("foreign account: %v", err)
	}
	if _, err := c.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: acct}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: acct}); !errors.As(err, &none) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestAccessAnalyzer(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.AccessAnalyzer("eu-west-1")
	list, err := c.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{Type: aatypes.TypeAccount})
	if err != nil || len(list.Analyzers) != 0 {
		t.Fatalf("fresh: %v, %v", list, err)
	}
	created, err := c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("a1"), Type: aatypes.TypeAccount})
	if err != nil || !strings.HasSuffix(aws.ToString(created.Arn), ":analyzer/a1") {
		t.Fatalf("create: %v, %v", created, err)
	}
	_, err = c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("a2"), Type: aatypes.TypeAccount})
	var quota *aatypes.ServiceQuotaExceededException
	if !errors.As(err, &quota) {
		t.Fatalf("second ACCOUNT analyzer: want ServiceQuotaExceededException, got %v", err)
	}
	_, err = c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("a1"), Type: aatypes.TypeAccountUnusedAccess})
	var conflict *aatypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("same name: want ConflictException, got %v", err)
	}
	list, _ = c.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{Type: aatypes.TypeAccount})
	if len(list.Analyzers) != 1 || list.Analyzers[0].Status != aatypes.AnalyzerStatusActive || list.Analyzers[0].CreatedAt == nil {
		t.Fatalf("list: %+v", list.Analyzers)
	}
	if _, err := c.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String("a1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("a1")})
	var nf *aatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestFaults(t *testing.T) {
	env := fakeawstest.Start(t)
	// Access denied in one region only.
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Region: "eu-west-1", Error: fakeaws.AccessDenied})
	_, err := env.Clients.EC2("eu-west-1").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if apiCode(t, err) != "UnauthorizedOperation" {
		t.Fatalf("denied: %v", err)
	}
	if _, err := env.Clients.EC2("eu-west-2").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}); err != nil {
		t.Fatalf("other region: %v", err)
	}
	// Throttled twice, then served: the SDK retries.
	env.Server.ResetLog()
	env.Server.AddFault(fakeaws.Fault{Service: "access-analyzer", Action: "ListAnalyzers", Error: fakeaws.Throttle, Times: 2})
	if _, err := env.Clients.AccessAnalyzer("us-east-2").ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{}); err != nil {
		t.Fatalf("throttled call not retried to success: %v", err)
	}
	reqs := env.Server.Requests()
	if len(reqs) != 3 || reqs[0].Error != "ThrottlingException" || reqs[2].Status != 200 {
		t.Fatalf("log = %+v", reqs)
	}
	// A region that is not enabled.
	_, err = env.Clients.AccessAnalyzer("af-south-1").ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{})
	if apiCode(t, err) != "UnrecognizedClientException" {
		t.Fatalf("disabled region: %v", err)
	}
	_, err = env.Clients.EC2("af-south-1").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if apiCode(t, err) != "AuthFailure" {
		t.Fatalf("disabled region ec2: %v", err)
	}
}

func TestSnapshotAndWriteLog(t *testing.T) {
	env := fakeawstest.Start(t)
	before := env.Server.Snapshot()
	c := env.Clients.EC2("us-west-2")
	c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	if string(before) == string(env.Server.Snapshot()) {
		t.Fatal("snapshot did not change after a write")
	}
	c.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
	if string(before) != string(env.Server.Snapshot()) {
		t.Fatal("snapshot differs after undoing the write")
	}
	if w := env.Server.Writes(); len(w) != 2 || w[0].Action != "EnableEbsEncryptionByDefault" || w[0].Region != "us-west-2" {
		t.Fatalf("writes = %+v", w)
	}
}

func TestThrottleRate(t *testing.T) {
	env := fakeawstest.Start(t)
	// One call a second with a burst of 2, in eu-west-1 only.
	env.Server.SetThrottle("ec2", "eu-west-1", 1, 2)
	c := env.Clients.EC2("eu-west-1")
	for i := 0; i < 2; i++ {
		if _, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once)
	if apiCode(t, err) != "RequestLimitExceeded" {
		t.Fatalf("over the rate: %v", err)
	}
	if _, err := env.Clients.EC2("eu-west-2").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}); err != nil {
		t.Fatalf("another region is not throttled: %v", err)
	}
}

func TestThrottleSharedByAllRegions(t *testing.T) {
	env := fakeawstest.Start(t)
	// One budget of 2 calls for every region together, refilled slowly.
	env.Server.SetThrottle("ec2", fakeaws.AllRegions, 0.001, 2)
	for _, region := range []string{"eu-west-1", "us-west-2"} {
		if _, err := env.Clients.EC2(region).GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once); err != nil {
			t.Fatalf("%s within the shared burst: %v", region, err)
		}
	}
	_, err := env.Clients.EC2("ap-south-1").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}, once)
	if apiCode(t, err) != "RequestLimitExceeded" {
		t.Fatalf("a third region shares the spent budget: %v", err)
	}
	if _, err := env.Clients.KMS("ap-south-1").ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("another service is not throttled: %v", err)
	}
}
