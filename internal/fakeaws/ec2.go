package fakeaws

import (
	"fmt"
	"slices"
)

// ec2Region is one region's EC2 state. A new account has EBS encryption by
// default off with the AWS managed key, and a default VPC (ec2_vpc.go).
type ec2Region struct {
	EbsEncryptionByDefault bool
	// EbsDefaultKmsKeyID is "" while the default key is the AWS managed
	// alias/aws/ebs.
	EbsDefaultKmsKeyID           string
	Vpcs                         map[string]*vpc
	Subnets                      map[string]*subnet
	InternetGateways             map[string]*internetGateway
	SecurityGroups               map[string]*securityGroup
	NetworkAcls                  map[string]*networkACL
	RouteTables                  map[string]*routeTable
	NetworkInterfaces            map[string]*networkInterface
	VpcEndpoints                 map[string]*vpcEndpoint
	PeeringConnections           map[string]*peeringConnection
	TransitGatewayVpcAttachments map[string]*tgwAttachment
	VpnGateways                  map[string]*vpnGateway
	FlowLogs                     map[string]*flowLog
	// issued counts the ids made since the account was created, so that
	// each new resource gets a distinct one. It is left out of snapshots:
	// a resource recreated with a new id compares by shape.
	issued int
	// flowLogTokens are the answers CreateFlowLogs gave that created a
	// flow log, by client token:
	// a request repeated with the same token gets the same answer and
	// creates nothing (EC2 idempotency). Left out of snapshots.
	flowLogTokens map[string]createFlowLogsResult
}

func ec2Service() *service {
	return &service{
		name:          "ec2",
		signingName:   "ec2",
		protocol:      protoEC2,
		xmlns:         "http://ec2.amazonaws.com/doc/2016-11-15/",
		throttleErr:   APIError{Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."},
		deniedErr:     APIError{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."},
		notEnabledErr: APIError{Status: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"},
		ops: []*op{
			{name: "DescribeRegions", handle: ec2DescribeRegions},
			{name: "GetEbsEncryptionByDefault", handle: ec2GetEbsEncryptionByDefault},
			{name: "EnableEbsEncryptionByDefault", write: true, handle: ec2SetEbsEncryptionByDefault(true)},
			{name: "DisableEbsEncryptionByDefault", write: true, handle: ec2SetEbsEncryptionByDefault(false)},
			{name: "GetEbsDefaultKmsKeyId", handle: ec2GetEbsDefaultKmsKeyID},
			{name: "ModifyEbsDefaultKmsKeyId", write: true, handle: ec2ModifyEbsDefaultKmsKeyID},
			{name: "ResetEbsDefaultKmsKeyId", write: true, handle: ec2ResetEbsDefaultKmsKeyID},
			{name: "DescribeVpcs", handle: ec2DescribeVpcs},
			{name: "DescribeSubnets", handle: ec2DescribeSubnets},
			{name: "DescribeInternetGateways", handle: ec2DescribeInternetGateways},
			{name: "DescribeNetworkAcls", handle: ec2DescribeNetworkAcls},
			{name: "DescribeRouteTables", handle: ec2DescribeRouteTables},
			{name: "DescribeNetworkInterfaces", handle: ec2DescribeNetworkInterfaces},
			{name: "DescribeVpcEndpoints", handle: ec2DescribeVpcEndpoints},
			{name: "DescribeVpcPeeringConnections", handle: ec2DescribeVpcPeeringConnections},
			{name: "DescribeTransitGatewayVpcAttachments", handle: ec2DescribeTransitGatewayVpcAttachments},
			{name: "DescribeVpnGateways", handle: ec2DescribeVpnGateways},
			{name: "DetachInternetGateway", write: true, handle: ec2DetachInternetGateway},
			{name: "AttachInternetGateway", write: true, handle: ec2AttachInternetGateway},
			{name: "CreateInternetGateway", write: true, handle: ec2CreateInternetGateway},
			{name: "DeleteInternetGateway", write: true, handle: ec2DeleteInternetGateway},
			{name: "ReplaceRoute", write: true, handle: ec2ReplaceRoute},
			{name: "DeleteSubnet", write: true, handle: ec2DeleteSubnet},
			{name: "CreateDefaultSubnet", write: true, handle: ec2CreateDefaultSubnet},
			{name: "DeleteVpc", write: true, handle: ec2DeleteVpc},
			{name: "CreateDefaultVpc", write: true, handle: ec2CreateDefaultVpc},
			{name: "DescribeSecurityGroups", handle: ec2DescribeSecurityGroups},
			{name: "DescribeSecurityGroupRules", handle: ec2DescribeSecurityGroupRules},
			{name: "AuthorizeSecurityGroupIngress", write: true, handle: ec2AuthorizeSecurityGroupRules(false)},
			{name: "AuthorizeSecurityGroupEgress", write: true, handle: ec2AuthorizeSecurityGroupRules(true)},
			{name: "RevokeSecurityGroupIngress", write: true, handle: ec2RevokeSecurityGroupRules(false)},
			{name: "RevokeSecurityGroupEgress", write: true, handle: ec2RevokeSecurityGroupRules(true)},
			{name: "CreateFlowLogs", write: true, handle: ec2CreateFlowLogs},
			{name: "DescribeFlowLogs", handle: ec2DescribeFlowLogs},
			{name: "DeleteFlowLogs", write: true, handle: ec2DeleteFlowLogs},
		},
	}
}

type regionInfo struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

func ec2DescribeRegions(c *call) (any, error) {
	all, _, err := c.formBool("AllRegions")
	if err != nil {
		return nil, err
	}
	names := c.formList("RegionName")
	want := map[string]bool{}
	for _, n := range names {
		if _, ok := c.acct.OptIn[n]; !ok {
			return nil, &APIError{Status: 400, Code: "InvalidParameterValue",
				Message: fmt.Sprintf("Invalid region: %s", n)}
		}
		want[n] = true
	}
	filters := c.ec2Filters()
	var out struct {
		Regions []regionInfo `xml:"regionInfo>item"`
	}
	for _, name := range sortedKeys(c.acct.OptIn) {
		status := c.acct.OptIn[name]
		if !all && status == "not-opted-in" && !want[name] {
			continue
		}
		if len(want) > 0 && !want[name] {
			continue
		}
		if vals, ok := filters["opt-in-status"]; ok && !contains(vals, status) {
			continue
		}
		if vals, ok := filters["region-name"]; ok && !contains(vals, name) {
			continue
		}
		out.Regions = append(out.Regions, regionInfo{
			RegionName:     name,
			RegionEndpoint: "ec2." + name + ".amazonaws.com",
			OptInStatus:    status,
		})
	}
	return out, nil
}

type ebsEncryptionResponse struct {
	EbsEncryptionByDefault bool   `xml:"ebsEncryptionByDefault"`
	SseType                string `xml:"sseType,omitempty"`
}

func ec2GetEbsEncryptionByDefault(c *call) (any, error) {
	r := &c.regionState().EC2
	return ebsEncryptionResponse{EbsEncryptionByDefault: r.EbsEncryptionByDefault, SseType: "sse-ebs"}, nil
}

func ec2SetEbsEncryptionByDefault(on bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		r := &c.regionState().EC2
		r.EbsEncryptionByDefault = on
		return ebsEncryptionResponse{EbsEncryptionByDefault: on}, nil
	}
}

type kmsKeyIDResponse struct {
	KmsKeyID string `xml:"kmsKeyId"`
}

func ec2GetEbsDefaultKmsKeyID(c *call) (any, error) {
	id := c.regionState().EC2.EbsDefaultKmsKeyID
	if id == "" {
		id = "alias/aws/ebs"
	}
	return kmsKeyIDResponse{KmsKeyID: id}, nil
}

func ec2ModifyEbsDefaultKmsKeyID(c *call) (any, error) {
	id := c.form.Get("KmsKeyId")
	if id == "" {
		return nil, &APIError{Status: 400, Code: "MissingParameter",
			Message: "The request must contain the parameter KmsKeyId"}
	}
	c.regionState().EC2.EbsDefaultKmsKeyID = id
	return kmsKeyIDResponse{KmsKeyID: id}, nil
}

func ec2ResetEbsDefaultKmsKeyID(c *call) (any, error) {
	c.regionState().EC2.EbsDefaultKmsKeyID = ""
	return kmsKeyIDResponse{KmsKeyID: fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/ebs", c.region, c.acct.ID)}, nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
