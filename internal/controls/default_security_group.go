package controls

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// DefaultSecurityGroup empties the default security group of every VPC in
// the region (Security Hub EC2.2; CIS v3.0 5.4, 5.5 in CIS v4.0 and v5.0), so that nothing is let in or out
// by a group every new resource may fall back to. A default group that a
// network interface uses is reported and left alone: removing its rules
// would cut that resource off. A group an exception names (by its id) is
// left as it is.
type DefaultSecurityGroup struct{}

const (
	stepRevokeIngress control.StepKind = "RevokeSecurityGroupIngress"
	stepRevokeEgress  control.StepKind = "RevokeSecurityGroupEgress"
)

// sgRule is one security group rule as harden journals it: a protocol and
// port range, one peer and its description.
type sgRule struct {
	// Protocol is "-1" (all), "tcp", "udp", "icmp", … or a number.
	Protocol string `json:"protocol"`
	// FromPort and ToPort are -1 for all protocols (ICMP: type and code).
	FromPort     int32      `json:"from_port"`
	ToPort       int32      `json:"to_port"`
	CidrIPv4     string     `json:"cidr_ipv4,omitempty"`
	CidrIPv6     string     `json:"cidr_ipv6,omitempty"`
	PrefixListID string     `json:"prefix_list_id,omitempty"`
	Group        *sgPeerRef `json:"group,omitempty"`
	Description  string     `json:"description,omitempty"`
	// RuleID is the rule's id when harden revoked it; AWS gives a rule
	// authorized again a new one.
	RuleID string `json:"rule_id,omitempty"`
}

// sgPeerRef is a security group a rule lets traffic from or to.
type sgPeerRef struct {
	GroupID                string `json:"group_id"`
	UserID                 string `json:"user_id,omitempty"`
	VpcPeeringConnectionID string `json:"vpc_peering_connection_id,omitempty"`
}

// sgRules is one direction of a default security group's rules, journaled
// before (the rules) and after (none) a revoke.
type sgRules struct {
	GroupID string   `json:"group_id"`
	VpcID   string   `json:"vpc_id"`
	Egress  bool     `json:"egress"`
	Rules   []sgRule `json:"rules"`
}

// identity is what makes two rules the same to AWS (a second is a
// duplicate, whatever its description).
func (r sgRule) identity() string {
	group := ""
	if r.Group != nil {
		group = r.Group.GroupID
	}
	return strings.Join([]string{strings.ToLower(r.Protocol), fmt.Sprint(r.FromPort), fmt.Sprint(r.ToPort),
		r.CidrIPv4, r.CidrIPv6, r.PrefixListID, group}, "|")
}

// text says a rule in words: "all traffic from sg-… (itself)", "tcp 443
// to 10.0.0.0/8 (corp)".
func (r sgRule) text(groupID string, egress bool) string {
	what := "all traffic"
	switch {
	case r.Protocol == "-1":
	case r.FromPort == r.ToPort:
		what = fmt.Sprintf("%s %d", r.Protocol, r.FromPort)
	default:
		what = fmt.Sprintf("%s %d-%d", r.Protocol, r.FromPort, r.ToPort)
	}
	peer := r.CidrIPv4 + r.CidrIPv6 + r.PrefixListID
	if r.Group != nil {
		peer = r.Group.GroupID
		if peer == groupID {
			peer += " (itself)"
		}
	}
	dir := "from"
	if egress {
		dir = "to"
	}
	s := fmt.Sprintf("%s %s %s", what, dir, peer)
	if r.Description != "" {
		s += fmt.Sprintf(" (%q)", r.Description)
	}
	return s
}

func portsOf(protocol string, from, to *int32) (int32, int32) {
	if protocol == "-1" || from == nil || to == nil {
		return -1, -1
	}
	return *from, *to
}

// rulesOfPermission splits an IpPermission into its rules, one per peer.
func rulesOfPermission(p ec2types.IpPermission) []sgRule {
	base := sgRule{Protocol: aws.ToString(p.IpProtocol)}
	base.FromPort, base.ToPort = portsOf(base.Protocol, p.FromPort, p.ToPort)
	var out []sgRule
	with := func(set func(*sgRule)) {
		r := base
		set(&r)
		out = append(out, r)
	}
	for _, x := range p.IpRanges {
		with(func(r *sgRule) { r.CidrIPv4, r.Description = aws.ToString(x.CidrIp), aws.ToString(x.Description) })
	}
	for _, x := range p.Ipv6Ranges {
		with(func(r *sgRule) { r.CidrIPv6, r.Description = aws.ToString(x.CidrIpv6), aws.ToString(x.Description) })
	}
	for _, x := range p.PrefixListIds {
		with(func(r *sgRule) {
			r.PrefixListID, r.Description = aws.ToString(x.PrefixListId), aws.ToString(x.Description)
		})
	}
	for _, x := range p.UserIdGroupPairs {
		with(func(r *sgRule) {
			r.Group = &sgPeerRef{GroupID: aws.ToString(x.GroupId), UserID: aws.ToString(x.UserId), VpcPeeringConnectionID: aws.ToString(x.VpcPeeringConnectionId)}
			r.Description = aws.ToString(x.Description)
		})
	}
	return out
}

// ruleOf converts a rule as DescribeSecurityGroupRules reads it.
func ruleOf(r ec2types.SecurityGroupRule) sgRule {
	out := sgRule{Protocol: aws.ToString(r.IpProtocol), CidrIPv4: aws.ToString(r.CidrIpv4), CidrIPv6: aws.ToString(r.CidrIpv6),
		PrefixListID: aws.ToString(r.PrefixListId), Description: aws.ToString(r.Description), RuleID: aws.ToString(r.SecurityGroupRuleId)}
	out.FromPort, out.ToPort = portsOf(out.Protocol, r.FromPort, r.ToPort)
	if g := r.ReferencedGroupInfo; g != nil {
		out.Group = &sgPeerRef{GroupID: aws.ToString(g.GroupId), UserID: aws.ToString(g.UserId), VpcPeeringConnectionID: aws.ToString(g.VpcPeeringConnectionId)}
	}
	return out
}

// permissionOf is the IpPermission that authorizes r again.
func permissionOf(r sgRule) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.Protocol)}
	if r.Protocol != "-1" {
		p.FromPort, p.ToPort = aws.Int32(r.FromPort), aws.Int32(r.ToPort)
	}
	desc := aws.String(r.Description)
	if r.Description == "" {
		desc = nil
	}
	switch {
	case r.CidrIPv4 != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.CidrIPv4), Description: desc}}
	case r.CidrIPv6 != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.CidrIPv6), Description: desc}}
	case r.PrefixListID != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.PrefixListID), Description: desc}}
	case r.Group != nil:
		pair := ec2types.UserIdGroupPair{GroupId: aws.String(r.Group.GroupID), Description: desc}
		if r.Group.UserID != "" {
			pair.UserId = aws.String(r.Group.UserID)
		}
		if r.Group.VpcPeeringConnectionID != "" {
			pair.VpcPeeringConnectionId = aws.String(r.Group.VpcPeeringConnectionID)
		}
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{pair}
	}
	return p
}

// defaultGroup is one VPC's default security group as Check reads it.
type defaultGroup struct {
	GroupID, VpcID  string
	Ingress, Egress []sgRule
	// UsedBy names the network interfaces that use the group.
	UsedBy []string
}

func (g defaultGroup) rulesText() string {
	var parts []string
	for _, r := range g.Ingress {
		parts = append(parts, "in: "+r.text(g.GroupID, false))
	}
	for _, r := range g.Egress {
		parts = append(parts, "out: "+r.text(g.GroupID, true))
	}
	return strings.Join(parts, "; ")
}

func (g defaultGroup) name() string {
	return fmt.Sprintf("default security group %s (%s)", g.GroupID, g.VpcID)
}

func (DefaultSecurityGroup) Info() control.Info {
	return control.Info{
		ID:    "default-security-group",
		Title: "Default security groups without rules",
		Scope: control.Regional,
		// A default VPC deleted in the same apply takes its group along:
		// running after it, this control never revokes rules of a group
		// about to go.
		After:       []string{"default-vpc"},
		Desired:     "the default security group of every VPC in the region has no rules (one in use is reported, not changed)",
		SecurityHub: []string{"EC2.2"},
		// CIS v3.0, as every control's ids (5.5 in v4.0 and v5.0).
		CIS:         []string{"5.4"},
		ReadActions: []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroupRules"},
		WriteActions: []string{"ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
			"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"},
		Service: "ec2",
		Cost:    control.Cost{UsageBased: false, Drivers: "free"},
	}
}

// defaultGroups reads the region's default security groups that have
// rules, and the network interfaces that use them: one
// DescribeSecurityGroups, then (if any has rules) one
// DescribeNetworkInterfaces.
func (c DefaultSecurityGroup) defaultGroups(ctx context.Context, env *control.Env, region string) ([]defaultGroup, error) {
	groups, err := c.groupsWithRules(ctx, env, region)
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	return groups, c.markUsed(ctx, env, region, groups)
}

// groupsWithRules reads the region's default security groups that have
// rules.
func (DefaultSecurityGroup) groupsWithRules(ctx context.Context, env *control.Env, region string) ([]defaultGroup, error) {
	sgs, err := allPages(ctx, ec2.NewDescribeSecurityGroupsPaginator(env.AWS.EC2(region), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}}),
		func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		return nil, fmt.Errorf("default-security-group: describe the default security groups in %s: %w", region, err)
	}
	var groups []defaultGroup
	for _, sg := range sgs {
		g := defaultGroup{GroupID: aws.ToString(sg.GroupId), VpcID: aws.ToString(sg.VpcId)}
		for _, p := range sg.IpPermissions {
			g.Ingress = append(g.Ingress, rulesOfPermission(p)...)
		}
		for _, p := range sg.IpPermissionsEgress {
			g.Egress = append(g.Egress, rulesOfPermission(p)...)
		}
		if len(g.Ingress)+len(g.Egress) > 0 {
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// markUsed fills each group's UsedBy with the network interfaces that use
// it.
func (DefaultSecurityGroup) markUsed(ctx context.Context, env *control.Env, region string, groups []defaultGroup) error {
	ids := make([]string, 0, len(groups))
	index := map[string]int{}
	for i, g := range groups {
		ids = append(ids, g.GroupID)
		index[g.GroupID] = i
	}
	enis, err := allPages(ctx, ec2.NewDescribeNetworkInterfacesPaginator(env.AWS.EC2(region), &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: ids}}}),
		func(o *ec2.DescribeNetworkInterfacesOutput) []ec2types.NetworkInterface { return o.NetworkInterfaces })
	if err != nil {
		return fmt.Errorf("default-security-group: describe the network interfaces using %s in %s: %w", strings.Join(ids, ", "), region, err)
	}
	for _, ni := range enis {
		for _, gi := range ni.Groups {
			if i, ok := index[aws.ToString(gi.GroupId)]; ok {
				groups[i].UsedBy = append(groups[i].UsedBy, interfaceUse(ni))
			}
		}
	}
	return nil
}

func (c DefaultSecurityGroup) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	groups, err := c.defaultGroups(ctx, env, t.Region)
	if err != nil {
		return control.Finding{}, err
	}
	return groupsFinding(groups, t), nil
}

// groupsFinding: the groups with rules and no user are to be emptied;
// those in use are named. Only groups in use left: unmanaged. Groups an
// exception names are left as they are (Excepted).
func groupsFinding(groups []defaultGroup, t control.Target) control.Finding {
	var empty, kept []control.Change
	var inUse, resources, excepted []string
	for _, g := range groups {
		if t.Excepts(g.GroupID) {
			excepted = append(excepted, g.GroupID)
			continue
		}
		resources = append(resources, g.GroupID)
		ch := control.Change{Field: g.name(), Current: g.rulesText(), Desired: "no rules"}
		if len(g.UsedBy) > 0 {
			kept = append(kept, ch)
			inUse = append(inUse, fmt.Sprintf("%s is used by %s", g.GroupID, usesText(g.UsedBy)))
			continue
		}
		empty = append(empty, ch)
	}
	usedNote := ""
	if len(inUse) > 0 {
		usedNote = "kept: " + strings.Join(inUse, "; ")
	}
	switch {
	case len(empty) > 0:
		return control.Finding{Action: control.ActionUpdate, Changes: empty, Note: usedNote, Resources: resources, Excepted: excepted}
	case len(kept) > 0:
		return control.Finding{Changes: kept, Unmanaged: usedNote, Resources: resources, Excepted: excepted}
	case len(excepted) > 0:
		return control.Finding{Excepted: excepted, Note: "kept: an exception names " + strings.Join(excepted, ", ")}
	}
	return control.Finding{Compliant: true}
}

func (c DefaultSecurityGroup) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	groups, err := c.groupsWithRules(ctx, env, t.Region)
	if err != nil {
		return nil, err
	}
	var candidates []defaultGroup
	for _, g := range groups {
		if !t.Excepts(g.GroupID) {
			candidates = append(candidates, g)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	// Whether a group is used and its rules' ids both need only the group
	// ids: read at once.
	// markUsed fills candidates' UsedBy meanwhile: the rules' read gets
	// the ids only.
	ids := make([]string, len(candidates))
	for i, g := range candidates {
		ids[i] = g.GroupID
	}
	var rules map[string][]ec2types.SecurityGroupRule
	err = parallel.Do(ctx,
		func(ctx context.Context) error { return c.markUsed(ctx, env, t.Region, candidates) },
		func(ctx context.Context) (err error) {
			rules, err = c.rulesWithIDs(ctx, env, t.Region, ids)
			return err
		})
	if err != nil {
		return nil, err
	}
	var toEmpty []defaultGroup
	for _, g := range candidates {
		if len(g.UsedBy) == 0 {
			toEmpty = append(toEmpty, g)
		}
	}
	if len(toEmpty) == 0 {
		return nil, nil
	}
	// Each group's revokes need only its rules' ids: every group at once.
	changed := make([]control.Change, len(toEmpty))
	var empties []func(context.Context) error
	for i, g := range toEmpty {
		empties = append(empties, func(ctx context.Context) error {
			gone, err := c.empty(ctx, env, t.Region, j, g, rules[g.GroupID])
			if err != nil {
				return err
			}
			changed[i] = control.Change{Field: g.name(), Current: g.rulesText(), Desired: "no rules"}
			if gone {
				// Deleted with its VPC meanwhile (default-vpc, same apply):
				// the target is where the plan said, by another way.
				changed[i].Desired = "deleted with its VPC"
			}
			return nil
		})
	}
	err = parallel.All(ctx, empties...)
	var done []control.Change
	for _, ch := range changed {
		if ch.Field != "" {
			done = append(done, ch)
		}
	}
	return done, err
}

// rulesWithIDs reads the groups' rules with their ids, for the revokes.
func (DefaultSecurityGroup) rulesWithIDs(ctx context.Context, env *control.Env, region string, ids []string) (map[string][]ec2types.SecurityGroupRule, error) {
	rules, err := allPages(ctx, ec2.NewDescribeSecurityGroupRulesPaginator(env.AWS.EC2(region), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: ids}}}),
		func(o *ec2.DescribeSecurityGroupRulesOutput) []ec2types.SecurityGroupRule {
			return o.SecurityGroupRules
		})
	if err != nil {
		return nil, fmt.Errorf("default-security-group: describe the rules of %s in %s: %w", strings.Join(ids, ", "), region, err)
	}
	out := map[string][]ec2types.SecurityGroupRule{}
	for _, r := range rules {
		out[aws.ToString(r.GroupId)] = append(out[aws.ToString(r.GroupId)], r)
	}
	return out, nil
}

// empty revokes a group's ingress and egress rules at once (two rule
// sets, neither needing the other), each one journaled step. gone is
// true when the group vanished meanwhile (its VPC deleted, by default-vpc
// in the same apply, say): nothing left to empty.
func (DefaultSecurityGroup) empty(ctx context.Context, env *control.Env, region string, j control.Journal, g defaultGroup, rules []ec2types.SecurityGroupRule) (gone bool, err error) {
	ec := env.AWS.EC2(region)
	var goneIn, goneOut bool
	revoke := func(egress bool, gone *bool) func(context.Context) error {
		return func(ctx context.Context) error {
			prior := sgRules{GroupID: g.GroupID, VpcID: g.VpcID, Egress: egress}
			var ids []string
			for _, r := range rules {
				if aws.ToBool(r.IsEgress) == egress {
					prior.Rules = append(prior.Rules, ruleOf(r))
					ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
				}
			}
			if len(ids) == 0 {
				return nil
			}
			after := sgRules{GroupID: g.GroupID, VpcID: g.VpcID, Egress: egress, Rules: []sgRule{}}
			kind := stepRevokeIngress
			if egress {
				kind = stepRevokeEgress
			}
			err := j.Write(ctx, kind, prior, after, func(ctx context.Context) (any, error) {
				var err error
				if egress {
					_, err = ec.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(g.GroupID), SecurityGroupRuleIds: ids})
				} else {
					_, err = ec.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g.GroupID), SecurityGroupRuleIds: ids})
				}
				return nil, err
			})
			if awserror.Is(err, "InvalidGroup.NotFound") {
				*gone = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("default-security-group: revoke the %s rules of %s in %s: %w", direction(egress), g.name(), region, err)
			}
			return nil
		}
	}
	err = parallel.All(ctx, revoke(false, &goneIn), revoke(true, &goneOut))
	return goneIn || goneOut, err
}

func direction(egress bool) string {
	if egress {
		return "outbound"
	}
	return "inbound"
}

// Steps lists the writes Apply makes, each with its undo.
func (c DefaultSecurityGroup) Steps() control.Steps {
	return control.Steps{
		stepRevokeIngress: c.undoRevoke(false),
		stepRevokeEgress:  c.undoRevoke(true),
	}
}

// currentRules reads one direction of a group's rules; found is false
// when the group is gone.
func currentRules(ctx context.Context, env *control.Env, region, groupID string, egress bool) (rules []sgRule, found bool, err error) {
	out, err := env.AWS.EC2(region).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID}})
	if awserror.Is(err, "InvalidGroup.NotFound") {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("default-security-group: describe %s in %s: %w", groupID, region, err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, false, nil
	}
	perms := out.SecurityGroups[0].IpPermissions
	if egress {
		perms = out.SecurityGroups[0].IpPermissionsEgress
	}
	for _, p := range perms {
		rules = append(rules, rulesOfPermission(p)...)
	}
	return rules, true, nil
}

// missingRules returns the rules of removed that current lacks.
func missingRules(removed, current []sgRule) []sgRule {
	present := map[string]bool{}
	for _, r := range current {
		present[r.identity()] = true
	}
	var out []sgRule
	for _, r := range removed {
		if !present[r.identity()] {
			out = append(out, r)
		}
	}
	return out
}

// undoRevoke re-authorizes the rules a revoke removed that are not there
// now, with their descriptions. Rules added since stay: they are not the
// step's. Rules the user already put back are not added twice.
func (DefaultSecurityGroup) undoRevoke(egress bool) control.UndoFunc {
	return func(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
		var prior sgRules
		if err := control.DecodePrior(s, &prior); err != nil {
			return control.Undo{}, err
		}
		current, found, err := currentRules(ctx, env, t.Region, prior.GroupID, egress)
		if err != nil {
			return control.Undo{}, err
		}
		name := fmt.Sprintf("default security group %s (%s)", prior.GroupID, prior.VpcID)
		if !found {
			return control.Nothing("%s is gone (with its VPC)", name), nil
		}
		missing := missingRules(prior.Rules, current)
		if len(missing) == 0 {
			return control.Nothing("the %s rules harden removed from %s are there", direction(egress), name), nil
		}
		var texts []string
		for _, r := range missing {
			texts = append(texts, r.text(prior.GroupID, egress))
		}
		sort.Strings(texts)
		what := fmt.Sprintf("authorize again %s rules of %s: %s", direction(egress), name, strings.Join(texts, "; "))
		switch added := len(current) + len(missing) - len(prior.Rules); {
		case added == 1:
			what += " (1 rule added since stays)"
		case added > 1:
			what += fmt.Sprintf(" (%d rules added since stay)", added)
		}
		return control.Restored(what, func(ctx context.Context) error {
			return authorize(ctx, env.AWS.EC2(t.Region), prior.GroupID, egress, missing)
		}), nil
	}
}

// authorize adds rules to a group. Should one have appeared since the
// decision (InvalidPermission.Duplicate refuses the whole call), each is
// added on its own and those already there are skipped.
func authorize(ctx context.Context, ec *ec2.Client, groupID string, egress bool, rules []sgRule) error {
	put := func(ctx context.Context, rules []sgRule) error {
		perms := make([]ec2types.IpPermission, 0, len(rules))
		for _, r := range rules {
			perms = append(perms, permissionOf(r))
		}
		var err error
		if egress {
			_, err = ec.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: perms})
		} else {
			_, err = ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
		}
		return err
	}
	err := put(ctx, rules)
	if awserror.Is(err, "InvalidPermission.Duplicate") && len(rules) > 1 {
		for _, r := range rules {
			if err := put(ctx, []sgRule{r}); err != nil && !awserror.Is(err, "InvalidPermission.Duplicate") {
				return fmt.Errorf("default-security-group: authorize %s again on %s: %w", r.text(groupID, egress), groupID, err)
			}
		}
		return nil
	}
	if err != nil && !awserror.Is(err, "InvalidPermission.Duplicate") {
		return fmt.Errorf("default-security-group: authorize the %s rules of %s again: %w", direction(egress), groupID, err)
	}
	return nil
}
