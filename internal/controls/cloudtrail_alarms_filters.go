package controls

import "strings"

// MonitoringFilter is one CIS monitoring recommendation: a metric filter
// on the CloudTrail log group and an alarm on its metric.
type MonitoringFilter struct {
	// Name names the filter, its metric and its alarm ("RootUsage").
	Name string
	// SecurityHub is the control that checks it ("CloudWatch.1"); CIS the
	// CIS AWS Foundations Benchmark v5 recommendation ("4.3").
	SecurityHub, CIS string
	// Pattern is the filter pattern AWS documents for the control.
	Pattern string
	// What says in words what the alarm means.
	What string
}

// MonitoringFilters are the CIS AWS Foundations Benchmark v5.0.0
// monitoring recommendations 4.1–4.15.
//
// The patterns of CloudWatch.1–14 are, byte for byte, the ones the Security
// Hub user guide gives in each control's remediation
// (https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html,
// source github.com/awsdocs/aws-security-hub-user-guide
// doc_source/cloudwatch-controls.md): Security Hub fails a control whose
// metric filter is not the exact pattern CIS prescribed ("Additional fields
// or terms cannot be added"), so where CIS v5.0.0 itself words a pattern
// differently (4.1 adds sourceIPAddress and HeadBucket exclusions) the
// Security Hub pattern wins. The controls map to CIS v1.2.0/v1.4.0; their
// v1.4.0 numbers are the v5.0.0 ones (4.1 unauthorized API calls, 4.2
// console sign-in without MFA, 4.3 root, 4.4–4.14 as listed). 4.15 has no
// Security Hub control; its pattern is the CIS benchmark's. The guide asks
// for the namespace LogMetrics as a way to group the CIS metrics ("If you
// use the same namespace for all of your CIS log metric filters, then all
// CIS Benchmark metrics are grouped together") and lets the user name the
// metrics; harden groups them in its own namespace.
var MonitoringFilters = []MonitoringFilter{
	{"RootUsage", "CloudWatch.1", "4.3",
		`{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
		"the root user was used"},
	{"UnauthorizedApiCalls", "CloudWatch.2", "4.1",
		`{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`,
		"API calls were refused for lack of permission"},
	{"ConsoleSigninWithoutMfa", "CloudWatch.3", "4.2",
		`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`,
		"an IAM user signed in to the console without MFA"},
	{"IamPolicyChanges", "CloudWatch.4", "4.4",
		`{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`,
		"an IAM policy changed"},
	{"CloudTrailChanges", "CloudWatch.5", "4.5",
		`{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}`,
		"a CloudTrail trail changed or stopped logging"},
	{"ConsoleAuthFailures", "CloudWatch.6", "4.6",
		`{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`,
		"console sign-ins failed"},
	{"KmsKeyDisableOrDeletion", "CloudWatch.7", "4.7",
		`{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`,
		"a customer managed KMS key was disabled or scheduled for deletion"},
	{"S3BucketPolicyChanges", "CloudWatch.8", "4.8",
		`{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}`,
		"an S3 bucket policy, ACL, CORS, lifecycle or replication changed"},
	{"ConfigChanges", "CloudWatch.9", "4.9",
		`{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}`,
		"AWS Config recording or delivery changed"},
	{"SecurityGroupChanges", "CloudWatch.10", "4.10",
		`{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`,
		"a security group changed"},
	{"NaclChanges", "CloudWatch.11", "4.11",
		`{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`,
		"a network ACL changed"},
	{"NetworkGatewayChanges", "CloudWatch.12", "4.12",
		`{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}`,
		"a customer or internet gateway changed"},
	{"RouteTableChanges", "CloudWatch.13", "4.13",
		`{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}`,
		"a route table changed"},
	{"VpcChanges", "CloudWatch.14", "4.14",
		`{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}`,
		"a VPC or VPC peering changed"},
	{"OrganizationsChanges", "", "4.15",
		`{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }`,
		"AWS Organizations changed"},
}

// sameFilterPattern reports whether two metric filter patterns are the same but for
// whitespace that does not change what they match: outside quoted values,
// a JSON pattern's spaces around operators and parentheses mean nothing
// ("{($.a=x) || ($.b=y)}" is "{ ($.a = x)||($.b = y) }"). Whitespace
// between two words ("NOT EXISTS", the terms of a plain pattern) counts
// as one space; inside quotes it counts as written.
func sameFilterPattern(a, b string) bool {
	return canonicalFilterPattern(a) == canonicalFilterPattern(b)
}

func canonicalFilterPattern(p string) string {
	p = strings.TrimSpace(p)
	var out strings.Builder
	quoted, space := false, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case quoted:
			out.WriteByte(c)
			if c == '\\' && i+1 < len(p) {
				i++
				out.WriteByte(p[i])
			} else if c == '"' {
				quoted = false
			}
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
			continue
		}
		if space && out.Len() > 0 && patternWordByte(out.String()[out.Len()-1]) && patternWordByte(c) {
			out.WriteByte(' ')
		}
		space = false
		out.WriteByte(c)
		if c == '"' {
			quoted = true
		}
	}
	return out.String()
}

// patternWordByte reports whether c belongs to a word of a filter pattern
// (a selector, a bare value, a keyword) rather than being an operator,
// a parenthesis, a brace or a quote.
func patternWordByte(c byte) bool {
	return !strings.ContainsRune("{}()[],=!<>&|\"", rune(c))
}

// sameFilter compares two metric filters as harden governs them, their
// patterns by sameFilterPattern.
func sameFilter(a, b filterState) bool {
	pa, pb := a.Pattern, b.Pattern
	a.Pattern, b.Pattern = "", ""
	return a == b && sameFilterPattern(pa, pb)
}
