package fakeaws_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func vpcFilter(id string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}
}

// A new account's default VPC, as the SDK reads it: a subnet per zone, an
// attached gateway routed from the main table, a default network ACL and a
// default security group with its two rules.
func TestDefaultVpcOfANewAccount(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.EC2("us-west-1")
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default VPC: %+v, %v", vpcs, err)
	}
	id := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: vpcFilter(id)})
	if err != nil || len(subnets.Subnets) != 2 || !aws.ToBool(subnets.Subnets[0].DefaultForAz) {
		t.Fatalf("subnets: %+v, %v", subnets, err)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{id}}}})
	if err != nil || len(igws.InternetGateways) != 1 {
		t.Fatalf("gateway: %+v, %v", igws, err)
	}
	igw := aws.ToString(igws.InternetGateways[0].InternetGatewayId)
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: vpcFilter(id)})
	if err != nil || len(tables.RouteTables) != 1 || !aws.ToBool(tables.RouteTables[0].Associations[0].Main) ||
		aws.ToString(tables.RouteTables[0].Routes[1].GatewayId) != igw || tables.RouteTables[0].Routes[1].State != ec2types.RouteStateActive {
		t.Fatalf("main route table: %+v, %v", tables, err)
	}
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: vpcFilter(id)})
	if err != nil || len(acls.NetworkAcls) != 1 || !aws.ToBool(acls.NetworkAcls[0].IsDefault) {
		t.Fatalf("network ACL: %+v, %v", acls, err)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: vpcFilter(id)})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("security groups: %+v, %v", groups, err)
	}
	sg := groups.SecurityGroups[0]
	gid := aws.ToString(sg.GroupId)
	if len(sg.IpPermissions) != 1 || aws.ToString(sg.IpPermissions[0].IpProtocol) != "-1" || aws.ToString(sg.IpPermissions[0].UserIdGroupPairs[0].GroupId) != gid ||
		len(sg.IpPermissionsEgress) != 1 || aws.ToString(sg.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Fatalf("default security group: %+v", sg)
	}
	rules, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{gid}}}})
	if err != nil || len(rules.SecurityGroupRules) != 2 {
		t.Fatalf("rules: %+v, %v", rules, err)
	}
	in := rules.SecurityGroupRules[0]
	if aws.ToBool(in.IsEgress) || aws.ToString(in.ReferencedGroupInfo.GroupId) != gid || aws.ToInt32(in.FromPort) != -1 {
		t.Fatalf("ingress rule: %+v", in)
	}
}

// Deleting a VPC in the wrong order fails as AWS fails it; in the right
// order it succeeds, and CreateDefaultVpc makes a new one with new ids,
// once.
func TestDeleteAndRecreateDefaultVpc(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.EC2("eu-west-1")
	id, subnets, _ := env.Server.DefaultVpc("eu-west-1")
	_, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
	if awserror.Code(err) != "DependencyViolation" {
		t.Fatalf("delete a VPC with subnets: %v", err)
	}
	igws, _ := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	igw := igws.InternetGateways[0].InternetGatewayId
	if _, err := c.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: igw}); awserror.Code(err) != "DependencyViolation" {
		t.Fatalf("delete an attached gateway: %v", err)
	}
	eni, err := env.Server.Place(fakeaws.Placement{Region: "eu-west-1", Kind: "network-interface", SubnetID: subnets[0], InstanceID: "i-0123"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])}); awserror.Code(err) != "DependencyViolation" {
		t.Fatalf("delete a subnet with an interface: %v", err)
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: vpcFilter(id)})
	if err != nil || len(enis.NetworkInterfaces) != 1 || aws.ToString(enis.NetworkInterfaces[0].NetworkInterfaceId) != eni ||
		aws.ToString(enis.NetworkInterfaces[0].Attachment.InstanceId) != "i-0123" {
		t.Fatalf("interfaces: %+v, %v", enis, err)
	}

	env2 := fakeawstest.Start(t)
	c = env2.Clients.EC2("eu-west-1")
	id, subnets, _ = env2.Server.DefaultVpc("eu-west-1")
	if _, err := c.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igw, VpcId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igw, VpcId: aws.String(id)}); awserror.Code(err) != "Gateway.NotAttached" {
		t.Fatalf("detach twice: %v", err)
	}
	if _, err := c.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: igw}); err != nil {
		t.Fatal(err)
	}
	for _, s := range subnets {
		if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	groups, _ := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if len(groups.SecurityGroups) != 0 {
		t.Fatalf("the default security group outlived its VPC: %+v", groups.SecurityGroups)
	}
	out, err := c.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{})
	if err != nil || aws.ToString(out.Vpc.VpcId) == id || !aws.ToBool(out.Vpc.IsDefault) {
		t.Fatalf("recreate: %+v, %v", out, err)
	}
	if _, err := c.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{}); awserror.Code(err) != "DefaultVpcAlreadyExists" {
		t.Fatalf("second default VPC: %v", err)
	}
	if _, err := c.CreateDefaultSubnet(ctx, &ec2.CreateDefaultSubnetInput{AvailabilityZone: aws.String("eu-west-1a")}); awserror.Code(err) != "DefaultSubnetAlreadyExistsInAvailabilityZone" {
		t.Fatalf("second default subnet: %v", err)
	}
}

// Rules go out by id and come back with every kind of peer and their
// descriptions; a duplicate is refused.
func TestSecurityGroupRulesRoundTrip(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.EC2("eu-west-1")
	groups, _ := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	gid := groups.SecurityGroups[0].GroupId
	perm := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("corp")}},
		Ipv6Ranges:       []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0"), Description: aws.String("v6")}},
		PrefixListIds:    []ec2types.PrefixListId{{PrefixListId: aws.String("pl-12345678"), Description: aws.String("s3")}},
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: gid, Description: aws.String("self")}},
	}
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: gid, IpPermissions: []ec2types.IpPermission{perm}})
	if err != nil || len(out.SecurityGroupRules) != 4 {
		t.Fatalf("authorize: %+v, %v", out, err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: gid, IpPermissions: []ec2types.IpPermission{perm}}); awserror.Code(err) != "InvalidPermission.Duplicate" {
		t.Fatalf("duplicate: %v", err)
	}
	rules, _ := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{aws.ToString(gid)}}}})
	var ids []string
	descriptions := map[string]bool{}
	for _, r := range rules.SecurityGroupRules {
		if !aws.ToBool(r.IsEgress) {
			ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
			descriptions[aws.ToString(r.Description)] = true
		}
	}
	if len(ids) != 5 || !descriptions["corp"] || !descriptions["v6"] || !descriptions["s3"] || !descriptions["self"] {
		t.Fatalf("ingress rules: %+v", rules.SecurityGroupRules)
	}
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: gid, SecurityGroupRuleIds: ids}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: gid, SecurityGroupRuleIds: ids[:1]}); awserror.Code(err) != "InvalidSecurityGroupRuleId.NotFound" {
		t.Fatalf("revoke twice: %v", err)
	}
}

// The stand-alone binary places network users over the admin endpoint.
func TestPlaceOverAdminEndpoint(t *testing.T) {
	env := fakeawstest.Start(t)
	resp, err := http.Post(env.URL+"/_fakeaws/ec2/place", "application/json",
		strings.NewReader(`{"region":"eu-west-1","kind":"network-interface","instance_id":"i-0abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var placed struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&placed); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(placed.ID, "eni-") {
		t.Fatalf("place: %d %+v %v", resp.StatusCode, placed, err)
	}
	out, err := env.Clients.EC2("eu-west-1").DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{placed.ID}})
	if err != nil || aws.ToString(out.NetworkInterfaces[0].Attachment.InstanceId) != "i-0abc" {
		t.Fatalf("placed interface: %+v, %v", out, err)
	}
	bad, err := http.Post(env.URL+"/_fakeaws/ec2/place", "application/json", strings.NewReader(`{"region":"eu-west-1","kind":"castle"}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown kind: %d", bad.StatusCode)
	}
}
