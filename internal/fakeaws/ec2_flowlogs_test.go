package fakeaws_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// flowLogBucketPolicy lets the log delivery service check bucket b and
// write flow logs of account acct under AWSLogs/acct/vpcflowlogs/.
func flowLogBucketPolicy(b, acct string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"AclCheck","Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"s3:GetBucketAcl",` +
		`"Resource":"arn:aws:s3:::` + b + `","Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `"}}},` +
		`{"Sid":"Write","Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"s3:PutObject",` +
		`"Resource":"arn:aws:s3:::` + b + `/AWSLogs/` + acct + `/vpcflowlogs/*",` +
		`"Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `","s3:x-amz-acl":"bucket-owner-full-control"}}}]}`
}

// CreateFlowLogs, DescribeFlowLogs and DeleteFlowLogs as the SDK reads
// them: refusals per resource come back as "unsuccessful" items of a 200
// answer (the destination's permission, a duplicate, an unknown id), bad
// parameters as errors; a repeated client token answers as before.
func TestFlowLogsAsTheSDKReadsThem(t *testing.T) {
	env := fakeawstest.Start(t)
	const region = "eu-west-1"
	c := env.Clients.EC2(region)
	vpc, _, ok := env.Server.DefaultVpc(region)
	if !ok {
		t.Fatal("no default VPC")
	}
	acct := fakeaws.DefaultAccountID
	bucket := "flow-logs-" + acct
	s3c := env.Clients.S3("us-east-1") // a bucket in another region, as the log archive
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	in := func(traffic ec2types.TrafficType, token string) *ec2.CreateFlowLogsInput {
		return &ec2.CreateFlowLogsInput{ResourceIds: []string{vpc}, ResourceType: ec2types.FlowLogsResourceTypeVpc, TrafficType: traffic,
			LogDestinationType: ec2types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::" + bucket),
			ClientToken: aws.String(token),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpcFlowLog,
				Tags: []ec2types.Tag{{Key: aws.String("owner"), Value: aws.String(token)}}}}}
	}

	// Without a bucket policy for the delivery service: refused, 200.
	out, err := c.CreateFlowLogs(ctx, in(ec2types.TrafficTypeAll, "t0"))
	if err != nil || len(out.FlowLogIds) != 0 || len(out.Unsuccessful) != 1 || aws.ToString(out.Unsuccessful[0].ResourceId) != vpc ||
		aws.ToString(out.Unsuccessful[0].Error.Code) != "400" ||
		aws.ToString(out.Unsuccessful[0].Error.Message) != "Access Denied for LogDestination: "+bucket+". Please check LogDestination permission." {
		t.Fatalf("create without permission: %+v, %v", out, err)
	}
	// A role is not for S3 delivery.
	bad := in(ec2types.TrafficTypeAll, "t1")
	bad.DeliverLogsPermissionArn = aws.String("arn:aws:iam::" + acct + ":role/x")
	if _, err := c.CreateFlowLogs(ctx, bad); !awserror.Is(err, "InvalidParameter") {
		t.Fatalf("role for s3: %v", err)
	}
	if _, err := c.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceIds: []string{"vpc-0000000000000dead"}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType: ec2types.TrafficTypeAll, LogDestinationType: ec2types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::" + bucket)}); !awserror.Is(err, "InvalidVpcID.NotFound") {
		t.Fatalf("unknown VPC: %v", err)
	}
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(flowLogBucketPolicy(bucket, acct))}); err != nil {
		t.Fatal(err)
	}
	out, err = c.CreateFlowLogs(ctx, in(ec2types.TrafficTypeAll, "t2"))
	if err != nil || len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 0 || aws.ToString(out.ClientToken) != "t2" {
		t.Fatalf("create: %+v, %v", out, err)
	}
	id := out.FlowLogIds[0]
	// The same token again: the same answer, nothing more made.
	again, err := c.CreateFlowLogs(ctx, in(ec2types.TrafficTypeAll, "t2"))
	if err != nil || len(again.FlowLogIds) != 1 || again.FlowLogIds[0] != id || len(again.Unsuccessful) != 0 {
		t.Fatalf("same token: %+v, %v", again, err)
	}
	// Another token, same configuration: a duplicate.
	dup, err := c.CreateFlowLogs(ctx, in(ec2types.TrafficTypeAll, "t3"))
	if err != nil || len(dup.FlowLogIds) != 0 || len(dup.Unsuccessful) != 1 || aws.ToString(dup.Unsuccessful[0].Error.Code) != "FlowLogAlreadyExists" {
		t.Fatalf("duplicate: %+v, %v", dup, err)
	}

	d, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{FlowLogIds: []string{id}})
	if err != nil || len(d.FlowLogs) != 1 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	f := d.FlowLogs[0]
	if aws.ToString(f.FlowLogId) != id || aws.ToString(f.ResourceId) != vpc || f.TrafficType != ec2types.TrafficTypeAll ||
		f.LogDestinationType != ec2types.LogDestinationTypeS3 || aws.ToString(f.LogDestination) != "arn:aws:s3:::"+bucket ||
		aws.ToString(f.FlowLogStatus) != "ACTIVE" || aws.ToString(f.DeliverLogsStatus) != "SUCCESS" || f.DeliverLogsPermissionArn != nil ||
		aws.ToInt32(f.MaxAggregationInterval) != 600 || !strings.HasPrefix(aws.ToString(f.LogFormat), "${version} ${account-id}") ||
		f.DestinationOptions == nil || f.DestinationOptions.FileFormat != ec2types.DestinationFileFormatPlainText || f.CreationTime == nil ||
		len(f.Tags) != 1 || aws.ToString(f.Tags[0].Value) != "t2" {
		t.Fatalf("flow log: %+v", f)
	}

	// Two more flow logs on the VPC (other traffic types), then filters
	// and pages.
	for i, traffic := range []ec2types.TrafficType{ec2types.TrafficTypeReject, ec2types.TrafficTypeAccept} {
		if o, err := c.CreateFlowLogs(ctx, in(traffic, "t"+string(rune('4'+i)))); err != nil || len(o.FlowLogIds) != 1 {
			t.Fatalf("create %s: %+v, %v", traffic, o, err)
		}
	}
	byTag, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{vpc}}, {Name: aws.String("tag:owner"), Values: []string{"t2"}}}})
	if err != nil || len(byTag.FlowLogs) != 1 || aws.ToString(byTag.FlowLogs[0].FlowLogId) != id {
		t.Fatalf("by tag: %+v, %v", byTag, err)
	}
	pages, seen := 0, 0
	p := ec2.NewDescribeFlowLogsPaginator(c, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen += len(page.FlowLogs)
	}
	if pages != 2 || seen != 3 {
		t.Fatalf("%d pages, %d flow logs", pages, seen)
	}
	if _, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(1001)}); !awserror.Is(err, "InvalidParameterValue") {
		t.Fatalf("MaxResults 1001: %v", err)
	}

	del, err := c.DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{id, "fl-0000000000000dead"}})
	if err != nil || len(del.Unsuccessful) != 1 || aws.ToString(del.Unsuccessful[0].ResourceId) != "fl-0000000000000dead" ||
		aws.ToString(del.Unsuccessful[0].Error.Code) != "InvalidFlowLogId.NotFound" {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if d, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{FlowLogIds: []string{id}}); err != nil || len(d.FlowLogs) != 0 {
		t.Fatalf("after delete: %+v, %v", d, err)
	}
}
