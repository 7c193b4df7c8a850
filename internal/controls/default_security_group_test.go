package controls_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func sgSetup(t *testing.T) (*fakeawstest.Env, controls.DefaultSecurityGroup, *control.Env, control.Target) {
	t.Helper()
	env := fakeawstest.Start(t)
	c := controls.DefaultSecurityGroup{}
	return env, c, &control.Env{AWS: env.Clients}, target(c, vpcRegion)
}

// defaultGroupOf returns the id of a VPC's default security group.
func defaultGroupOf(t *testing.T, env *fakeawstest.Env, vpcID string) string {
	t.Helper()
	out, err := env.Clients.EC2(vpcRegion).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("default group of %s: %+v, %v", vpcID, out, err)
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

// groupPermissions reads a group's rules as DescribeSecurityGroups shows
// them, ids left out.
func groupPermissions(t *testing.T, env *fakeawstest.Env, groupID string) ([]ec2types.IpPermission, []ec2types.IpPermission) {
	t.Helper()
	out, err := env.Clients.EC2(vpcRegion).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID}})
	if err != nil {
		t.Fatal(err)
	}
	return out.SecurityGroups[0].IpPermissions, out.SecurityGroups[0].IpPermissionsEgress
}

func authorizeIngress(t *testing.T, env *fakeawstest.Env, groupID string, perms ...ec2types.IpPermission) {
	t.Helper()
	if _, err := env.Clients.EC2(vpcRegion).AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(groupID), IpPermissions: perms}); err != nil {
		t.Fatal(err)
	}
}

var httpsFromCorp = ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
	IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("corp https")}}}

func undoAllIn(t *testing.T, j *controltest.MemJournal, c control.Control, cenv *control.Env, tg control.Target) {
	t.Helper()
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
}

// Every kind of rule (CIDR, IPv6, prefix list, group pair; ports,
// descriptions; both directions) comes back identical after rollback.
func TestDefaultSecurityGroupRulesComeBackIdentical(t *testing.T) {
	env, c, cenv, tg := sgSetup(t)
	sg := defaultGroupOf(t, env, defaultVpcID(t, env))
	other := place(t, env, fakeaws.Placement{Kind: "security-group", Name: "app"})
	authorizeIngress(t, env, sg, httpsFromCorp,
		ec2types.IpPermission{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(54),
			Ipv6Ranges:    []ec2types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32"), Description: aws.String("dns v6")}},
			PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-63a5400a")}}},
		ec2types.IpPermission{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(8), ToPort: aws.Int32(0),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(other), Description: aws.String("ping from app")}}})
	if _, err := env.Clients.EC2(vpcRegion).AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(sg),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(other)}}}}}); err != nil {
		t.Fatal(err)
	}
	before := env.Server.Snapshot()
	in, out := groupPermissions(t, env, sg)

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 1 || !strings.Contains(f.Changes[0].Current, `in: tcp 443 from 10.0.0.0/8 ("corp https")`) ||
		!strings.Contains(f.Changes[0].Current, "in: all traffic from "+sg+" (itself)") || !strings.Contains(f.Changes[0].Current, "out: all traffic to 0.0.0.0/0") {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	j := appliedJournal(t, c, cenv, tg)
	if gotIn, gotOut := groupPermissions(t, env, sg); len(gotIn)+len(gotOut) != 0 {
		t.Fatalf("rules left after apply: %+v %+v", gotIn, gotOut)
	}
	undoAllIn(t, j, c, cenv, tg)
	if fakeawstest.WithoutEC2IDs(t, env.Server.Snapshot()) != fakeawstest.WithoutEC2IDs(t, before) {
		t.Fatalf("rules differ after rollback:\nbefore %s\nafter  %s", before, env.Server.Snapshot())
	}
	gotIn, gotOut := groupPermissions(t, env, sg)
	if !samePermissions(gotIn, in) || !samePermissions(gotOut, out) {
		t.Fatalf("permissions after rollback:\n%+v\n%+v\nwant\n%+v\n%+v", gotIn, gotOut, in, out)
	}
}

// samePermissions compares permissions by what they allow and say.
func samePermissions(a, b []ec2types.IpPermission) bool {
	key := func(ps []ec2types.IpPermission) string {
		var parts []string
		for _, p := range ps {
			s := aws.ToString(p.IpProtocol)
			if p.FromPort != nil {
				s += fmt.Sprintf(" %d-%d", *p.FromPort, *p.ToPort)
			}
			for _, r := range p.IpRanges {
				s += " " + aws.ToString(r.CidrIp) + "/" + aws.ToString(r.Description)
			}
			for _, r := range p.Ipv6Ranges {
				s += " " + aws.ToString(r.CidrIpv6) + "/" + aws.ToString(r.Description)
			}
			for _, r := range p.PrefixListIds {
				s += " " + aws.ToString(r.PrefixListId) + "/" + aws.ToString(r.Description)
			}
			for _, r := range p.UserIdGroupPairs {
				s += " " + aws.ToString(r.GroupId) + "@" + aws.ToString(r.UserId) + "/" + aws.ToString(r.Description)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n")
	}
	return key(a) == key(b)
}

// A default group that a network interface uses is reported, naming the
// interface, and left alone.
func TestDefaultSecurityGroupInUseIsKept(t *testing.T) {
	env, c, cenv, tg := sgSetup(t)
	sg := defaultGroupOf(t, env, defaultVpcID(t, env))
	eni := place(t, env, fakeaws.Placement{Kind: "network-interface", InstanceID: "i-0feedbeef"})
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionNone || f.Unmanaged != "kept: "+sg+" is used by "+eni+": instance i-0feedbeef" || len(f.Changes) != 1 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if changed, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion)); err != nil || len(changed) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply on a group in use: %v, %v, %+v", changed, err, j.Entries)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("apply changed a group in use")
	}
}

// In a region with two VPCs, the free default group is emptied and the
// one in use is named in the note.
func TestDefaultSecurityGroupEveryVpc(t *testing.T) {
	env, c, cenv, tg := sgSetup(t)
	second := place(t, env, fakeaws.Placement{Kind: "vpc"})
	used := defaultGroupOf(t, env, second)
	eni := place(t, env, fakeaws.Placement{Kind: "network-interface", VpcID: second, Description: "RDSNetworkInterface", RequesterID: "amazon-rds"})
	free := defaultGroupOf(t, env, defaultVpcID(t, env))
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 1 || !strings.Contains(f.Changes[0].Field, free) ||
		f.Note != "kept: "+used+" is used by "+eni+": RDSNetworkInterface" {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	appliedJournal(t, c, cenv, tg)
	if in, out := groupPermissions(t, env, free); len(in)+len(out) != 0 {
		t.Fatal("the free group still has rules")
	}
	if in, out := groupPermissions(t, env, used); len(in) != 1 || len(out) != 1 {
		t.Fatal("the group in use lost rules")
	}
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || !strings.HasPrefix(f.Unmanaged, "kept: "+used) {
		t.Fatalf("after apply: %+v, %v", f, err)
	}
}

// A rule added after apply stays, and the removed rules come back beside
// it; rules the user already put back are not added twice; a group gone
// with its VPC has nothing to undo.
func TestDefaultSecurityGroupRollbackAfterChanges(t *testing.T) {
	t.Run("rule added since", func(t *testing.T) {
		env, c, cenv, tg := sgSetup(t)
		sg := defaultGroupOf(t, env, defaultVpcID(t, env))
		j := appliedJournal(t, c, cenv, tg)
		authorizeIngress(t, env, sg, httpsFromCorp)
		ingress := revokeStep(t, j, false)
		u := undoVerdict(t, c, cenv, tg, ingress)
		if u.Verdict != control.Restore || u.What != "authorize again inbound rules of default security group "+sg+" ("+defaultVpcID(t, env)+"): all traffic from "+sg+" (itself) (1 rule added since stays)" {
			t.Fatalf("undo = %s %q", u.Verdict, u.What)
		}
		undoAllIn(t, j, c, cenv, tg)
		in, out := groupPermissions(t, env, sg)
		if len(in) != 2 || len(out) != 1 {
			t.Fatalf("after rollback: %+v %+v", in, out)
		}
	})
	t.Run("rules already back", func(t *testing.T) {
		env, c, cenv, tg := sgSetup(t)
		sg := defaultGroupOf(t, env, defaultVpcID(t, env))
		j := appliedJournal(t, c, cenv, tg)
		authorizeIngress(t, env, sg, ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(sg)}}})
		u := undoVerdict(t, c, cenv, tg, revokeStep(t, j, false))
		if u.Verdict != control.Already || !strings.Contains(u.What, "are there") {
			t.Fatalf("undo = %s %q", u.Verdict, u.What)
		}
		env.Server.ResetLog()
		if err := controltest.Undo(ctx, c, cenv, tg, revokeStep(t, j, false)); err != nil || len(env.Server.Writes()) != 0 {
			t.Fatalf("undo of rules already back: %v, writes %+v", err, env.Server.Writes())
		}
	})
	t.Run("some back", func(t *testing.T) {
		env, c, cenv, tg := sgSetup(t)
		sg := defaultGroupOf(t, env, defaultVpcID(t, env))
		authorizeIngress(t, env, sg, httpsFromCorp)
		j := appliedJournal(t, c, cenv, tg)
		authorizeIngress(t, env, sg, httpsFromCorp)
		u := undoVerdict(t, c, cenv, tg, revokeStep(t, j, false))
		if u.Verdict != control.Restore || strings.Contains(u.What, "10.0.0.0/8") || !strings.Contains(u.What, "(itself)") {
			t.Fatalf("undo = %s %q", u.Verdict, u.What)
		}
		undoAllIn(t, j, c, cenv, tg)
		if in, _ := groupPermissions(t, env, sg); len(in) != 2 {
			t.Fatalf("ingress after rollback: %+v", in)
		}
	})
	t.Run("group gone", func(t *testing.T) {
		_, c, cenv, tg := sgSetup(t)
		j := appliedJournal(t, c, cenv, tg)
		appliedJournal(t, controls.DefaultVPC{}, cenv, tg)
		for _, e := range j.Entries {
			if u := undoVerdict(t, c, cenv, tg, e.Step); u.Verdict != control.Already || !strings.Contains(u.What, "is gone") {
				t.Fatalf("undo = %s %q", u.Verdict, u.What)
			}
		}
	})
	t.Run("unconfirmed revoke that never happened", func(t *testing.T) {
		env, c, cenv, tg := sgSetup(t)
		before := env.Server.Snapshot()
		// Both revokes fail (they are made at once).
		for _, action := range []string{"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"} {
			env.Server.AddFault(fakeaws.Fault{Service: "ec2", Action: action, Error: "UnauthorizedOperation", Status: 403, Message: "You are not authorized to perform this operation."})
		}
		j := &controltest.MemJournal{}
		if _, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion)); err == nil {
			t.Fatal("apply succeeded through a failing revoke")
		}
		step := revokeStep(t, j, false)
		step.Done = false // as a killed apply leaves it
		if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
			t.Fatalf("undo = %s %q", u.Verdict, u.What)
		}
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("the group changed")
		}
	})
}

// The default-vpc control may delete the VPC between this control's read
// and its revoke (same apply, same region): the group is gone, and apply
// goes on without error.
func TestDefaultSecurityGroupVanishesDuringApply(t *testing.T) {
	env, c, cenv, tg := sgSetup(t)
	sg := defaultGroupOf(t, env, defaultVpcID(t, env))
	for _, action := range []string{"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"} {
		env.Server.AddFault(fakeaws.Fault{Service: "ec2", Action: action, Error: "InvalidGroup.NotFound", Status: 400,
			Message: "The security group '" + sg + "' does not exist"})
	}
	j := &controltest.MemJournal{}
	changed, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion))
	if err != nil || len(changed) != 1 || changed[0].Desired != "deleted with its VPC" {
		t.Fatalf("apply = %+v, %v", changed, err)
	}
	if len(j.Reversed()) != 0 {
		t.Fatalf("journaled as done: %+v", j.Reversed())
	}
}

// revokeStep is the journal's revoke of one direction (ingress and egress
// are revoked at once, so their order in the journal is not fixed).
func revokeStep(t *testing.T, j *controltest.MemJournal, egress bool) control.Step {
	t.Helper()
	kind := control.StepKind("RevokeSecurityGroupIngress")
	if egress {
		kind = "RevokeSecurityGroupEgress"
	}
	for _, e := range j.Entries {
		if e.Step.Kind == kind {
			return e.Step
		}
	}
	t.Fatalf("no %s in %+v", kind, j.Entries)
	return control.Step{}
}

// A step whose prior cannot be decoded is an error, never a blind undo.
func TestDefaultSecurityGroupBadStep(t *testing.T) {
	_, c, cenv, tg := sgSetup(t)
	_, err := c.Steps().Undo(ctx, c.Info().ID, cenv, tg, control.Step{Kind: "RevokeSecurityGroupIngress", Prior: []byte(`[`), Done: true})
	var drift *controltest.DriftError
	if err == nil || errors.As(err, &drift) {
		t.Fatalf("undo of a broken step = %v", err)
	}
}

// In a region with two VPCs, an exception naming one default group keeps
// that group's rules (excepted, 0 writes to it) while the other group is
// emptied; naming both leaves nothing to do.
func TestDefaultSecurityGroupExceptedGroupIsKept(t *testing.T) {
	env, c, cenv, tg := sgSetup(t)
	second := place(t, env, fakeaws.Placement{Kind: "vpc"})
	kept := defaultGroupOf(t, env, second)
	emptied := defaultGroupOf(t, env, defaultVpcID(t, env))
	tg.Excepted = []string{kept}
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 1 || !strings.Contains(f.Changes[0].Field, emptied) ||
		strings.Join(f.Resources, ",") != emptied || strings.Join(f.Excepted, ",") != kept {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	j := appliedJournal(t, c, cenv, tg)
	for _, e := range j.Entries {
		if strings.Contains(string(e.Step.Prior), kept) {
			t.Fatalf("apply wrote to the excepted group: %s", e.Step.Prior)
		}
	}
	if in, out := groupPermissions(t, env, kept); len(in) != 1 || len(out) != 1 {
		t.Fatal("the excepted group lost rules")
	}
	if in, out := groupPermissions(t, env, emptied); len(in)+len(out) != 0 {
		t.Fatal("the other group still has rules")
	}
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionNone || f.Unmanaged != "" || len(f.Resources) != 0 || strings.Join(f.Excepted, ",") != kept {
		t.Fatalf("after apply, only the excepted group is left: %+v, %v", f, err)
	}
}
