package controls

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

// MonitoringFilters are the CIS 4.1–4.14 monitoring filters, with the
// patterns of the Security Hub user guide's CloudWatch.1–14 controls.
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
		`{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`,
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
		`{($.eventSource=organizations.amazonaws.com) && (($.eventName="AcceptHandshake") || ($.eventName="AttachPolicy") || ($.eventName="CreateAccount") || ($.eventName="CreateOrganizationalUnit") || ($.eventName="CreatePolicy") || ($.eventName="DeclineHandshake") || ($.eventName="DeleteOrganization") || ($.eventName="DeleteOrganizationalUnit") || ($.eventName="DeletePolicy") || ($.eventName="DetachPolicy") || ($.eventName="DisablePolicyType") || ($.eventName="EnablePolicyType") || ($.eventName="InviteAccountToOrganization") || ($.eventName="LeaveOrganization") || ($.eventName="MoveAccount") || ($.eventName="RemoveAccountFromOrganization") || ($.eventName="UpdatePolicy") || ($.eventName="UpdateOrganizationalUnit"))}`,
		"AWS Organizations changed"},
}
