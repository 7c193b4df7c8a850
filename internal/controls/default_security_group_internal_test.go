package controls

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// A rule read from DescribeSecurityGroups (permissions) and the same rule
// read from DescribeSecurityGroupRules are one rule; descriptions and ids
// do not make rules different, peers and ports do.
func TestSecurityGroupRuleIdentity(t *testing.T) {
	self := "sg-0aaa"
	fromPermission := rulesOfPermission(ec2types.IpPermission{IpProtocol: aws.String("-1"),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(self), UserId: aws.String("123456789012")}}})
	fromRule := ruleOf(ec2types.SecurityGroupRule{IpProtocol: aws.String("-1"), FromPort: aws.Int32(-1), ToPort: aws.Int32(-1),
		SecurityGroupRuleId: aws.String("sgr-1"), ReferencedGroupInfo: &ec2types.ReferencedSecurityGroup{GroupId: aws.String(self)}})
	if len(fromPermission) != 1 || fromPermission[0].identity() != fromRule.identity() {
		t.Fatalf("%+v and %+v should be one rule", fromPermission, fromRule)
	}
	https := sgRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv4: "10.0.0.0/8", Description: "corp"}
	for _, tc := range []struct {
		name    string
		removed []sgRule
		current []sgRule
		missing int
	}{
		{"all gone", []sgRule{https, fromRule}, nil, 2},
		{"all back, descriptions changed", []sgRule{https}, []sgRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv4: "10.0.0.0/8"}}, 0},
		{"other port", []sgRule{https}, []sgRule{{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "10.0.0.0/8"}}, 1},
		{"other peer", []sgRule{https}, []sgRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv6: "::/0"}}, 1},
		{"added rule only", []sgRule{fromRule}, []sgRule{https}, 1},
	} {
		if got := missingRules(tc.removed, tc.current); len(got) != tc.missing {
			t.Errorf("%s: missing %+v, want %d", tc.name, got, tc.missing)
		}
	}
}

func TestRuleAndInterfaceText(t *testing.T) {
	for _, tc := range []struct {
		rule   sgRule
		egress bool
		want   string
	}{
		{sgRule{Protocol: "-1", FromPort: -1, ToPort: -1, Group: &sgPeerRef{GroupID: "sg-1"}}, false, "all traffic from sg-1 (itself)"},
		{sgRule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}, true, "all traffic to 0.0.0.0/0"},
		{sgRule{Protocol: "tcp", FromPort: 8000, ToPort: 8080, PrefixListID: "pl-1", Description: "s3"}, true, `tcp 8000-8080 to pl-1 ("s3")`},
	} {
		if got := tc.rule.text("sg-1", tc.egress); got != tc.want {
			t.Errorf("text = %q, want %q", got, tc.want)
		}
	}
	for _, tc := range []struct {
		ni   ec2types.NetworkInterface
		want string
	}{
		{ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-1"), Attachment: &ec2types.NetworkInterfaceAttachment{InstanceId: aws.String("i-1")}}, "eni-1: instance i-1"},
		{ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-2"), InterfaceType: ec2types.NetworkInterfaceTypeNatGateway, Description: aws.String("Interface for NAT Gateway nat-1")},
			"eni-2: nat gateway (Interface for NAT Gateway nat-1)"},
		{ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-3"), InterfaceType: ec2types.NetworkInterfaceTypeVpcEndpoint}, "eni-3: vpc endpoint"},
		{ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-4"), InterfaceType: ec2types.NetworkInterfaceTypeInterface, RequesterId: aws.String("amazon-elb")}, "eni-4: made by amazon-elb"},
		{ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-5")}, "eni-5: unattached interface"},
	} {
		if got := interfaceUse(tc.ni); got != tc.want {
			t.Errorf("interfaceUse = %q, want %q", got, tc.want)
		}
	}
}
