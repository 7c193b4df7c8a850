package fakeaws

import (
	"fmt"
	"slices"
	"strconv"
)

// ec2Region is one region's EC2 state. A new account has EBS encryption by
// default off with the AWS managed key, and a default VPC (172.31.0.0/16,
// one default subnet per availability zone, an attached internet gateway
// and a default security group).
type ec2Region struct {
	EbsEncryptionByDefault bool
	// EbsDefaultKmsKeyID is "" while the default key is the AWS managed
	// alias/aws/ebs.
	EbsDefaultKmsKeyID string
	Vpcs               map[string]*vpc
	Subnets            map[string]*subnet
	InternetGateways   map[string]*internetGateway
	SecurityGroups     map[string]*securityGroup
}

type vpc struct {
	VpcID     string `xml:"vpcId"`
	CidrBlock string `xml:"cidrBlock"`
	IsDefault bool   `xml:"isDefault"`
	State     string `xml:"state"`
	OwnerID   string `xml:"ownerId"`
	Tenancy   string `xml:"instanceTenancy"`
}

type subnet struct {
	SubnetID     string `xml:"subnetId"`
	VpcID        string `xml:"vpcId"`
	CidrBlock    string `xml:"cidrBlock"`
	AZ           string `xml:"availabilityZone"`
	DefaultForAz bool   `xml:"defaultForAz"`
	MapPublicIP  bool   `xml:"mapPublicIpOnLaunch"`
	State        string `xml:"state"`
	OwnerID      string `xml:"ownerId"`
}

type internetGateway struct {
	InternetGatewayID string          `xml:"internetGatewayId"`
	OwnerID           string          `xml:"ownerId"`
	Attachments       []igwAttachment `xml:"attachmentSet>item"`
}

type igwAttachment struct {
	VpcID string `xml:"vpcId"`
	State string `xml:"state"`
}

type securityGroup struct {
	GroupID     string         `xml:"groupId"`
	GroupName   string         `xml:"groupName"`
	Description string         `xml:"groupDescription"`
	VpcID       string         `xml:"vpcId"`
	OwnerID     string         `xml:"ownerId"`
	Ingress     []ipPermission `xml:"ipPermissions>item"`
	Egress      []ipPermission `xml:"ipPermissionsEgress>item"`
}

type ipPermission struct {
	IPProtocol string      `xml:"ipProtocol"`
	IPRanges   []ipRange   `xml:"ipRanges>item,omitempty"`
	Groups     []groupPair `xml:"groups>item,omitempty"`
}

type ipRange struct {
	CidrIP string `xml:"cidrIp"`
}

type groupPair struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

// availabilityZones of each region in the fake; real counts where they
// matter to a test, three elsewhere.
func availabilityZones(region string) []string {
	suffixes := []string{"a", "b", "c"}
	switch region {
	case "us-east-1":
		suffixes = []string{"a", "b", "c", "d", "e", "f"}
	case "us-west-1":
		suffixes = []string{"b", "c"}
	}
	azs := make([]string, len(suffixes))
	for i, s := range suffixes {
		azs[i] = region + s
	}
	return azs
}

func newEC2Region(acct, region string) ec2Region {
	r := ec2Region{
		Vpcs:             map[string]*vpc{},
		Subnets:          map[string]*subnet{},
		InternetGateways: map[string]*internetGateway{},
		SecurityGroups:   map[string]*securityGroup{},
	}
	r.addDefaultVpc(acct, region, "initial")
	return r
}

// addDefaultVpc creates a default VPC with its subnets, internet gateway and
// default security group; generation makes its ids distinct from earlier
// ones (CreateDefaultVpc issues new ids).
func (r *ec2Region) addDefaultVpc(acct, region, generation string) *vpc {
	v := &vpc{
		VpcID:     resourceID("vpc", acct, region, generation),
		CidrBlock: "172.31.0.0/16",
		IsDefault: true,
		State:     "available",
		OwnerID:   acct,
		Tenancy:   "default",
	}
	r.Vpcs[v.VpcID] = v
	for i, az := range availabilityZones(region) {
		sn := &subnet{
			SubnetID:     resourceID("subnet", acct, region, generation, az),
			VpcID:        v.VpcID,
			CidrBlock:    fmt.Sprintf("172.31.%d.0/20", i*16),
			AZ:           az,
			DefaultForAz: true,
			MapPublicIP:  true,
			State:        "available",
			OwnerID:      acct,
		}
		r.Subnets[sn.SubnetID] = sn
	}
	igw := &internetGateway{
		InternetGatewayID: resourceID("igw", acct, region, generation),
		OwnerID:           acct,
		Attachments:       []igwAttachment{{VpcID: v.VpcID, State: "available"}},
	}
	r.InternetGateways[igw.InternetGatewayID] = igw
	sgID := resourceID("sg", acct, region, generation)
	r.SecurityGroups[sgID] = &securityGroup{
		GroupID:     sgID,
		GroupName:   "default",
		Description: "default VPC security group",
		VpcID:       v.VpcID,
		OwnerID:     acct,
		Ingress:     []ipPermission{{IPProtocol: "-1", Groups: []groupPair{{GroupID: sgID, UserID: acct}}}},
		Egress:      []ipPermission{{IPProtocol: "-1", IPRanges: []ipRange{{CidrIP: "0.0.0.0/0"}}}},
	}
	return v
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
			{name: "DescribeSecurityGroups", handle: ec2DescribeSecurityGroups},
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

func ec2DescribeVpcs(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("VpcId")
	var out struct {
		Vpcs []*vpc `xml:"vpcSet>item"`
	}
	for _, id := range ids {
		if _, ok := r.Vpcs[id]; !ok {
			return nil, &APIError{Status: 400, Code: "InvalidVpcID.NotFound",
				Message: fmt.Sprintf("The vpc ID '%s' does not exist", id)}
		}
	}
	for _, id := range sortedKeys(r.Vpcs) {
		v := r.Vpcs[id]
		if len(ids) > 0 && !contains(ids, id) {
			continue
		}
		if vals, ok := filters["isDefault"]; ok && !contains(vals, strconv.FormatBool(v.IsDefault)) {
			continue
		}
		if vals, ok := filters["is-default"]; ok && !contains(vals, strconv.FormatBool(v.IsDefault)) {
			continue
		}
		if vals, ok := filters["vpc-id"]; ok && !contains(vals, v.VpcID) {
			continue
		}
		out.Vpcs = append(out.Vpcs, v)
	}
	return out, nil
}

func ec2DescribeSubnets(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Subnets []*subnet `xml:"subnetSet>item"`
	}
	for _, id := range sortedKeys(r.Subnets) {
		sn := r.Subnets[id]
		if vals, ok := filters["vpc-id"]; ok && !contains(vals, sn.VpcID) {
			continue
		}
		if vals, ok := filters["default-for-az"]; ok && !contains(vals, strconv.FormatBool(sn.DefaultForAz)) {
			continue
		}
		out.Subnets = append(out.Subnets, sn)
	}
	return out, nil
}

func ec2DescribeInternetGateways(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Gateways []*internetGateway `xml:"internetGatewaySet>item"`
	}
	for _, id := range sortedKeys(r.InternetGateways) {
		igw := r.InternetGateways[id]
		if vals, ok := filters["attachment.vpc-id"]; ok {
			attached := false
			for _, a := range igw.Attachments {
				attached = attached || contains(vals, a.VpcID)
			}
			if !attached {
				continue
			}
		}
		out.Gateways = append(out.Gateways, igw)
	}
	return out, nil
}

func ec2DescribeSecurityGroups(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Groups []*securityGroup `xml:"securityGroupInfo>item"`
	}
	for _, id := range sortedKeys(r.SecurityGroups) {
		sg := r.SecurityGroups[id]
		if vals, ok := filters["vpc-id"]; ok && !contains(vals, sg.VpcID) {
			continue
		}
		if vals, ok := filters["group-name"]; ok && !contains(vals, sg.GroupName) {
			continue
		}
		out.Groups = append(out.Groups, sg)
	}
	return out, nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
