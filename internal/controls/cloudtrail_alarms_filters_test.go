package controls_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// event is a CloudTrail record as CloudTrail writes it to CloudWatch Logs.
func event(source, name string, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"eventVersion":"1.08","eventSource":%q,"eventName":%q,"eventType":"AwsApiCall","awsRegion":"us-east-1",`+
		`"userIdentity":{"type":"IAMUser","userName":"alice"}%s}`, source, name, extra)
}

// TestMonitoringFilterPatterns checks every CIS filter pattern, through
// logs:TestMetricFilter, against CloudTrail events it must and must not
// count.
func TestMonitoringFilterPatterns(t *testing.T) {
	login := func(identity, mfa, result, errMsg string) string {
		s := fmt.Sprintf(`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn",`+
			`"userIdentity":{"type":%q},"additionalEventData":{"MFAUsed":%q},"responseElements":{"ConsoleLogin":%q}`, identity, mfa, result)
		if errMsg != "" {
			s += fmt.Sprintf(`,"errorMessage":%q`, errMsg)
		}
		return s + "}"
	}
	cases := map[string]struct{ match, noMatch []string }{
		"RootUsage": {
			match: []string{`{"eventName":"ListBuckets","eventType":"AwsApiCall","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}`},
			noMatch: []string{
				`{"eventName":"ListBuckets","eventType":"AwsApiCall","userIdentity":{"type":"Root","invokedBy":"support.amazonaws.com"}}`,
				`{"eventName":"Decrypt","eventType":"AwsServiceEvent","userIdentity":{"type":"Root"}}`,
				event("s3.amazonaws.com", "ListBuckets", ""),
			},
		},
		"UnauthorizedApiCalls": {
			match:   []string{event("ec2.amazonaws.com", "RunInstances", `"errorCode":"Client.UnauthorizedOperation"`), event("s3.amazonaws.com", "GetObject", `"errorCode":"AccessDenied"`), event("iam.amazonaws.com", "ListRoles", `"errorCode":"AccessDeniedException"`)},
			noMatch: []string{event("s3.amazonaws.com", "GetObject", `"errorCode":"NoSuchKey"`), event("s3.amazonaws.com", "GetObject", "")},
		},
		"ConsoleSigninWithoutMfa": {
			match:   []string{login("IAMUser", "No", "Success", "")},
			noMatch: []string{login("IAMUser", "Yes", "Success", ""), login("IAMUser", "No", "Failure", "Failed authentication"), login("AssumedRole", "No", "Success", "")},
		},
		"IamPolicyChanges": {
			// The guide warns that DeletePolicy from Auto Scaling counts too:
			// the pattern names operations, not IAM.
			match:   []string{event("iam.amazonaws.com", "PutRolePolicy", ""), event("iam.amazonaws.com", "AttachGroupPolicy", ""), event("iam.amazonaws.com", "DeletePolicyVersion", ""), event("autoscaling.amazonaws.com", "DeletePolicy", "")},
			noMatch: []string{event("iam.amazonaws.com", "ListPolicies", ""), event("iam.amazonaws.com", "CreateRole", "")},
		},
		"CloudTrailChanges": {
			match:   []string{event("cloudtrail.amazonaws.com", "StopLogging", ""), event("cloudtrail.amazonaws.com", "DeleteTrail", "")},
			noMatch: []string{event("cloudtrail.amazonaws.com", "DescribeTrails", "")},
		},
		"ConsoleAuthFailures": {
			match:   []string{login("IAMUser", "No", "Failure", "Failed authentication")},
			noMatch: []string{login("IAMUser", "Yes", "Success", "")},
		},
		"KmsKeyDisableOrDeletion": {
			match:   []string{event("kms.amazonaws.com", "ScheduleKeyDeletion", ""), event("kms.amazonaws.com", "DisableKey", "")},
			noMatch: []string{event("kms.amazonaws.com", "EnableKey", ""), event("other.amazonaws.com", "DisableKey", "")},
		},
		"S3BucketPolicyChanges": {
			match:   []string{event("s3.amazonaws.com", "PutBucketPolicy", ""), event("s3.amazonaws.com", "DeleteBucketCors", "")},
			noMatch: []string{event("s3.amazonaws.com", "GetBucketPolicy", ""), event("s3.amazonaws.com", "PutObject", "")},
		},
		"ConfigChanges": {
			match:   []string{event("config.amazonaws.com", "StopConfigurationRecorder", ""), event("config.amazonaws.com", "PutDeliveryChannel", "")},
			noMatch: []string{event("config.amazonaws.com", "StartConfigurationRecorder", "")},
		},
		"SecurityGroupChanges": {
			match:   []string{event("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "")},
			noMatch: []string{event("ec2.amazonaws.com", "DescribeSecurityGroups", "")},
		},
		"NaclChanges": {
			match:   []string{event("ec2.amazonaws.com", "ReplaceNetworkAclEntry", "")},
			noMatch: []string{event("ec2.amazonaws.com", "DescribeNetworkAcls", "")},
		},
		"NetworkGatewayChanges": {
			match:   []string{event("ec2.amazonaws.com", "AttachInternetGateway", "")},
			noMatch: []string{event("ec2.amazonaws.com", "CreateNatGateway", "")},
		},
		"RouteTableChanges": {
			match:   []string{event("ec2.amazonaws.com", "CreateRoute", ""), event("ec2.amazonaws.com", "DisassociateRouteTable", "")},
			noMatch: []string{event("ec2.amazonaws.com", "DescribeRouteTables", "")},
		},
		"VpcChanges": {
			match:   []string{event("ec2.amazonaws.com", "CreateVpcPeeringConnection", ""), event("ec2.amazonaws.com", "ModifyVpcAttribute", "")},
			noMatch: []string{event("ec2.amazonaws.com", "DescribeVpcs", "")},
		},
		"OrganizationsChanges": {
			match:   []string{event("organizations.amazonaws.com", "LeaveOrganization", "")},
			noMatch: []string{event("organizations.amazonaws.com", "ListAccounts", ""), event("iam.amazonaws.com", "CreatePolicy", "")},
		},
	}
	env := fakeawstest.Start(t)
	logs := env.Clients.CloudWatchLogs("us-east-1")
	if len(cases) != len(controls.MonitoringFilters) {
		t.Fatalf("%d cases for %d filters", len(cases), len(controls.MonitoringFilters))
	}
	for _, f := range controls.MonitoringFilters {
		tc, ok := cases[f.Name]
		if !ok {
			t.Fatalf("no sample events for %s", f.Name)
		}
		out, err := logs.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{
			FilterPattern: aws.String(f.Pattern), LogEventMessages: append(append([]string{}, tc.match...), tc.noMatch...)})
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		matched := map[int64]bool{}
		for _, m := range out.Matches {
			matched[m.EventNumber] = true
		}
		for i := range tc.match {
			if !matched[int64(i+1)] {
				t.Errorf("%s (%s) does not count %s", f.Name, f.SecurityHub, tc.match[i])
			}
		}
		for i := range tc.noMatch {
			if matched[int64(len(tc.match)+i+1)] {
				t.Errorf("%s (%s) counts %s", f.Name, f.SecurityHub, tc.noMatch[i])
			}
		}
	}
}
