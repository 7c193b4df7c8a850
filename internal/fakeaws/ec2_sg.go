package fakeaws

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// securityGroup keeps its rules one by one, each with its id, as
// DescribeSecurityGroupRules shows them; DescribeSecurityGroups groups them
// into IpPermissions.
type securityGroup struct {
	GroupID     string
	GroupName   string
	Description string
	VpcID       string
	OwnerID     string
	Rules       []*sgRule
}

// sgRule is one rule: a protocol and port range, and one peer (an IPv4 or
// IPv6 CIDR, a prefix list or a security group).
type sgRule struct {
	RuleID   string
	Egress   bool
	Protocol string
	// FromPort and ToPort are -1 for all protocols.
	FromPort     int
	ToPort       int
	CidrIPv4     string `json:",omitempty"`
	CidrIPv6     string `json:",omitempty"`
	PrefixListID string `json:",omitempty"`
	RefGroupID   string `json:",omitempty"`
	RefUserID    string `json:",omitempty"`
	Description  string `json:",omitempty"`
}

// identity is what makes two rules the same rule to AWS: a second one is a
// duplicate whatever its description.
func (r *sgRule) identity() string {
	return fmt.Sprintf("%t|%s|%d|%d|%s|%s|%s|%s", r.Egress, r.Protocol, r.FromPort, r.ToPort, r.CidrIPv4, r.CidrIPv6, r.PrefixListID, r.RefGroupID)
}

func (r *ec2Region) addDefaultSecurityGroup(acct, region, generation, vpcID string) {
	sgID := resourceID("sg", acct, region, generation)
	r.SecurityGroups[sgID] = &securityGroup{
		GroupID:     sgID,
		GroupName:   "default",
		Description: "default VPC security group",
		VpcID:       vpcID,
		OwnerID:     acct,
		Rules: []*sgRule{
			{RuleID: resourceID("sgr", acct, region, generation, "ingress"), Protocol: "-1", FromPort: -1, ToPort: -1, RefGroupID: sgID, RefUserID: acct},
			{RuleID: resourceID("sgr", acct, region, generation, "egress"), Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"},
		},
	}
}

func groupNotFound(id string) *APIError {
	return &APIError{Status: 400, Code: "InvalidGroup.NotFound", Message: fmt.Sprintf("The security group '%s' does not exist", id)}
}

type ipPermissionView struct {
	IPProtocol string          `xml:"ipProtocol"`
	FromPort   *int            `xml:"fromPort,omitempty"`
	ToPort     *int            `xml:"toPort,omitempty"`
	Groups     []groupPairView `xml:"groups>item"`
	IPRanges   []cidrView      `xml:"ipRanges>item"`
	IPv6Ranges []cidr6View     `xml:"ipv6Ranges>item"`
	PrefixList []prefixView    `xml:"prefixListIds>item"`
}

type groupPairView struct {
	GroupID     string `xml:"groupId"`
	UserID      string `xml:"userId"`
	Description string `xml:"description,omitempty"`
}

type cidrView struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type cidr6View struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type prefixView struct {
	PrefixListID string `xml:"prefixListId"`
	Description  string `xml:"description,omitempty"`
}

type securityGroupView struct {
	GroupID     string             `xml:"groupId"`
	GroupName   string             `xml:"groupName"`
	Description string             `xml:"groupDescription"`
	VpcID       string             `xml:"vpcId"`
	OwnerID     string             `xml:"ownerId"`
	Ingress     []ipPermissionView `xml:"ipPermissions>item"`
	Egress      []ipPermissionView `xml:"ipPermissionsEgress>item"`
}

// permissions groups rules of one direction by protocol and ports, as
// DescribeSecurityGroups does.
func permissions(rules []*sgRule, egress bool) []ipPermissionView {
	var out []ipPermissionView
	index := map[string]int{}
	for _, r := range rules {
		if r.Egress != egress {
			continue
		}
		key := fmt.Sprintf("%s|%d|%d", r.Protocol, r.FromPort, r.ToPort)
		i, ok := index[key]
		if !ok {
			p := ipPermissionView{IPProtocol: r.Protocol}
			if r.Protocol != "-1" {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
			i = len(out) - 1
			index[key] = i
		}
		p := &out[i]
		switch {
		case r.CidrIPv4 != "":
			p.IPRanges = append(p.IPRanges, cidrView{r.CidrIPv4, r.Description})
		case r.CidrIPv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, cidr6View{r.CidrIPv6, r.Description})
		case r.PrefixListID != "":
			p.PrefixList = append(p.PrefixList, prefixView{r.PrefixListID, r.Description})
		default:
			p.Groups = append(p.Groups, groupPairView{r.RefGroupID, r.RefUserID, r.Description})
		}
	}
	return out
}

func ec2DescribeSecurityGroups(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("GroupId")
	for _, id := range ids {
		if _, ok := r.SecurityGroups[id]; !ok {
			return nil, groupNotFound(id)
		}
	}
	var out struct {
		Groups []securityGroupView `xml:"securityGroupInfo>item"`
	}
	for _, id := range sortedKeys(r.SecurityGroups) {
		sg := r.SecurityGroups[id]
		if (len(ids) > 0 && !contains(ids, id)) || !matches(filters, "vpc-id", sg.VpcID) ||
			!matches(filters, "group-name", sg.GroupName) || !matches(filters, "group-id", sg.GroupID) {
			continue
		}
		out.Groups = append(out.Groups, securityGroupView{
			GroupID: sg.GroupID, GroupName: sg.GroupName, Description: sg.Description, VpcID: sg.VpcID, OwnerID: sg.OwnerID,
			Ingress: permissions(sg.Rules, false), Egress: permissions(sg.Rules, true),
		})
	}
	return out, nil
}

type referencedGroupView struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

type sgRuleView struct {
	RuleID       string               `xml:"securityGroupRuleId"`
	GroupID      string               `xml:"groupId"`
	GroupOwnerID string               `xml:"groupOwnerId"`
	IsEgress     bool                 `xml:"isEgress"`
	IPProtocol   string               `xml:"ipProtocol"`
	FromPort     int                  `xml:"fromPort"`
	ToPort       int                  `xml:"toPort"`
	CidrIPv4     string               `xml:"cidrIpv4,omitempty"`
	CidrIPv6     string               `xml:"cidrIpv6,omitempty"`
	PrefixListID string               `xml:"prefixListId,omitempty"`
	Referenced   *referencedGroupView `xml:"referencedGroupInfo,omitempty"`
	Description  string               `xml:"description,omitempty"`
}

func ruleView(sg *securityGroup, r *sgRule) sgRuleView {
	v := sgRuleView{RuleID: r.RuleID, GroupID: sg.GroupID, GroupOwnerID: sg.OwnerID, IsEgress: r.Egress, IPProtocol: r.Protocol,
		FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CidrIPv4, CidrIPv6: r.CidrIPv6, PrefixListID: r.PrefixListID, Description: r.Description}
	if r.RefGroupID != "" {
		v.Referenced = &referencedGroupView{GroupID: r.RefGroupID, UserID: r.RefUserID}
	}
	return v
}

func ec2DescribeSecurityGroupRules(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("SecurityGroupRuleId")
	var out struct {
		Rules []sgRuleView `xml:"securityGroupRuleSet>item"`
	}
	for _, gid := range sortedKeys(r.SecurityGroups) {
		sg := r.SecurityGroups[gid]
		if !matches(filters, "group-id", gid) {
			continue
		}
		for _, rule := range sg.Rules {
			if (len(ids) > 0 && !contains(ids, rule.RuleID)) || !matches(filters, "security-group-rule-id", rule.RuleID) {
				continue
			}
			out.Rules = append(out.Rules, ruleView(sg, rule))
		}
	}
	return out, nil
}

// protocolNames maps the protocol numbers AWS accepts to the names it
// reports.
var protocolNames = map[string]string{"-1": "-1", "all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6",
	"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6"}

// formRules reads IpPermissions.N into one rule per peer.
func (c *call) formRules(egress bool) ([]*sgRule, error) {
	var out []*sgRule
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("IpPermissions.%d.", i)
		proto, ok := c.form[prefix+"IpProtocol"]
		if !ok {
			return out, nil
		}
		name, known := protocolNames[strings.ToLower(proto[0])]
		if !known {
			name = proto[0]
		}
		base := sgRule{Egress: egress, Protocol: name, FromPort: -1, ToPort: -1}
		if name != "-1" {
			var err error
			if base.FromPort, err = c.formInt(prefix+"FromPort", -1); err != nil {
				return nil, err
			}
			if base.ToPort, err = c.formInt(prefix+"ToPort", -1); err != nil {
				return nil, err
			}
		}
		peers := 0
		add := func(set func(*sgRule)) {
			r := base
			set(&r)
			out = append(out, &r)
			peers++
		}
		for j := 1; ; j++ {
			p := fmt.Sprintf("%sIpRanges.%d.", prefix, j)
			cidr, ok := c.form[p+"CidrIp"]
			if !ok {
				break
			}
			add(func(r *sgRule) { r.CidrIPv4, r.Description = cidr[0], c.form.Get(p+"Description") })
		}
		for j := 1; ; j++ {
			p := fmt.Sprintf("%sIpv6Ranges.%d.", prefix, j)
			cidr, ok := c.form[p+"CidrIpv6"]
			if !ok {
				break
			}
			add(func(r *sgRule) { r.CidrIPv6, r.Description = cidr[0], c.form.Get(p+"Description") })
		}
		for j := 1; ; j++ {
			p := fmt.Sprintf("%sPrefixListIds.%d.", prefix, j)
			id, ok := c.form[p+"PrefixListId"]
			if !ok {
				break
			}
			add(func(r *sgRule) { r.PrefixListID, r.Description = id[0], c.form.Get(p+"Description") })
		}
		for j := 1; ; j++ {
			p := fmt.Sprintf("%sGroups.%d.", prefix, j)
			id, ok := c.form[p+"GroupId"]
			if !ok {
				break
			}
			user := c.form.Get(p + "UserId")
			if user == "" {
				user = c.acct.ID
			}
			add(func(r *sgRule) { r.RefGroupID, r.RefUserID, r.Description = id[0], user, c.form.Get(p+"Description") })
		}
		if peers == 0 {
			return nil, &APIError{Status: 400, Code: "InvalidParameterValue",
				Message: "The request must contain at least one of: IpRanges, Ipv6Ranges, PrefixListIds, Groups"}
		}
	}
}

func (c *call) formInt(key string, absent int) (int, error) {
	s := c.form.Get(key)
	if s == "" {
		return absent, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &APIError{Status: 400, Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid value '%s' for %s", s, key)}
	}
	return n, nil
}

func (c *call) securityGroupParam() (*securityGroup, error) {
	r := &c.regionState().EC2
	id := c.form.Get("GroupId")
	if id == "" {
		return nil, missingParameter("groupId")
	}
	sg, ok := r.SecurityGroups[id]
	if !ok {
		return nil, groupNotFound(id)
	}
	return sg, nil
}

func ec2AuthorizeSecurityGroupRules(egress bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		sg, err := c.securityGroupParam()
		if err != nil {
			return nil, err
		}
		rules, err := c.formRules(egress)
		if err != nil {
			return nil, err
		}
		r := &c.regionState().EC2
		existing := map[string]bool{}
		for _, rule := range sg.Rules {
			existing[rule.identity()] = true
		}
		for _, rule := range rules {
			if rule.RefGroupID != "" {
				if _, ok := r.SecurityGroups[rule.RefGroupID]; !ok {
					return nil, groupNotFound(rule.RefGroupID)
				}
			}
			if existing[rule.identity()] {
				return nil, &APIError{Status: 400, Code: "InvalidPermission.Duplicate",
					Message: fmt.Sprintf("the specified rule %q already exists", rule.peerText())}
			}
			existing[rule.identity()] = true
		}
		var out struct {
			Return bool         `xml:"return"`
			Rules  []sgRuleView `xml:"securityGroupRuleSet>item"`
		}
		for _, rule := range rules {
			rule.RuleID = r.newID("sgr", c.acct.ID, c.region)
			sg.Rules = append(sg.Rules, rule)
			out.Rules = append(out.Rules, ruleView(sg, rule))
		}
		sg.sortRules()
		out.Return = true
		return out, nil
	}
}

// peerText is how AWS names a rule in InvalidPermission.Duplicate:
// "peer: 0.0.0.0/0, ALL, ALLOW".
func (r *sgRule) peerText() string {
	peer := r.CidrIPv4 + r.CidrIPv6 + r.PrefixListID + r.RefGroupID
	ports := "ALL"
	if r.Protocol != "-1" {
		ports = fmt.Sprintf("%s, %d, %d", strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
	}
	return fmt.Sprintf("peer: %s, %s, ALLOW", peer, ports)
}

// ec2RevokeSecurityGroupRules revokes by SecurityGroupRuleId.N or by
// IpPermissions.
func ec2RevokeSecurityGroupRules(egress bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		sg, err := c.securityGroupParam()
		if err != nil {
			return nil, err
		}
		revoke := map[*sgRule]bool{}
		for _, id := range c.formList("SecurityGroupRuleId") {
			rule := sg.rule(id, egress)
			if rule == nil {
				return nil, &APIError{Status: 400, Code: "InvalidSecurityGroupRuleId.NotFound",
					Message: fmt.Sprintf("The security group rule ID '%s' does not exist", id)}
			}
			revoke[rule] = true
		}
		byPermission, err := c.formRules(egress)
		if err != nil {
			return nil, err
		}
		for _, want := range byPermission {
			found := false
			for _, rule := range sg.Rules {
				if rule.identity() == want.identity() {
					revoke[rule], found = true, true
				}
			}
			if !found {
				return nil, &APIError{Status: 400, Code: "InvalidPermission.NotFound",
					Message: "The specified rule does not exist in this security group."}
			}
		}
		if len(revoke) == 0 {
			return nil, missingParameter("ipPermissions or securityGroupRuleIds")
		}
		kept := sg.Rules[:0:0]
		for _, rule := range sg.Rules {
			if !revoke[rule] {
				kept = append(kept, rule)
			}
		}
		sg.Rules = kept
		return returnResponse{Return: true}, nil
	}
}

// sortRules keeps the rules in one order, inbound first, whatever order
// they were authorized in: AWS's rules have none, so snapshots must not
// tell them apart by it.
func (sg *securityGroup) sortRules() {
	sort.SliceStable(sg.Rules, func(i, j int) bool {
		a, b := sg.Rules[i], sg.Rules[j]
		if a.Egress != b.Egress {
			return !a.Egress
		}
		return a.identity() < b.identity()
	})
}

func (sg *securityGroup) rule(id string, egress bool) *sgRule {
	for _, r := range sg.Rules {
		if r.RuleID == id && r.Egress == egress {
			return r
		}
	}
	return nil
}
