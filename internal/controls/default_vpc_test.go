package controls_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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

const vpcRegion = "eu-west-1"

func defaultVpcSetup(t *testing.T) (*fakeawstest.Env, controls.DefaultVPC, *control.Env, control.Target) {
	t.Helper()
	env := fakeawstest.Start(t)
	c := controls.DefaultVPC{}
	return env, c, &control.Env{AWS: env.Clients}, target(c, vpcRegion)
}

func place(t *testing.T, env *fakeawstest.Env, p fakeaws.Placement) string {
	t.Helper()
	if p.Region == "" {
		p.Region = vpcRegion
	}
	id, err := env.Server.Place(p)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func defaultVpcID(t *testing.T, env *fakeawstest.Env) string {
	t.Helper()
	id, _, ok := env.Server.DefaultVpc(vpcRegion)
	if !ok {
		t.Fatalf("%s has no default VPC", vpcRegion)
	}
	return id
}

// A default VPC that anything uses is never deleted: the finding is
// "kept", names the user, and apply writes nothing.
func TestDefaultVpcInUseIsKept(t *testing.T) {
	for _, tc := range []struct {
		name  string
		place fakeaws.Placement
		named string // what the finding must say after the id
	}{
		{"an instance's interface", fakeaws.Placement{Kind: "network-interface", InstanceID: "i-0123456789abcdef0"}, ": instance i-0123456789abcdef0"},
		{"a NAT gateway", fakeaws.Placement{Kind: "network-interface", InterfaceType: "natGateway", Description: "Interface for NAT Gateway nat-0abc"},
			": nat gateway (Interface for NAT Gateway nat-0abc)"},
		{"a Lambda function", fakeaws.Placement{Kind: "network-interface", InterfaceType: "lambda", Description: "AWS Lambda VPC ENI-fn"}, ": lambda (AWS Lambda VPC ENI-fn)"},
		{"a load balancer", fakeaws.Placement{Kind: "network-interface", Description: "ELB app/web/50dc6c495c0c9188", RequesterID: "amazon-elb"}, ": ELB app/web/50dc6c495c0c9188"},
		{"a gateway endpoint only", fakeaws.Placement{Kind: "vpc-endpoint", ServiceName: "com.amazonaws.eu-west-1.s3"}, ": gateway endpoint for com.amazonaws.eu-west-1.s3"},
		{"a peering connection", fakeaws.Placement{Kind: "peering-connection"}, ": peering connection"},
		{"a transit gateway attachment", fakeaws.Placement{Kind: "transit-gateway-attachment"}, ": attachment to transit gateway tgw-"},
		{"a VPN gateway", fakeaws.Placement{Kind: "vpn-gateway"}, ": VPN gateway"},
		{"a security group of its own", fakeaws.Placement{Kind: "security-group", Name: "web"}, ": security group web"},
		{"a network ACL of its own", fakeaws.Placement{Kind: "network-acl"}, ": network ACL"},
		{"a route table of its own", fakeaws.Placement{Kind: "route-table"}, ": route table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, c, cenv, tg := defaultVpcSetup(t)
			id := place(t, env, tc.place)
			vpc := defaultVpcID(t, env)
			before := env.Server.Snapshot()
			f, err := c.Check(ctx, cenv, tg)
			if err != nil {
				t.Fatal(err)
			}
			if f.Compliant || f.Action != control.ActionNone || !strings.HasPrefix(f.Unmanaged, "kept: in use by ") ||
				!strings.Contains(f.Unmanaged, id+tc.named) || !strings.Contains(f.Note, vpc) {
				t.Fatalf("finding = %+v, want kept naming %q", f, id+tc.named)
			}
			j := &controltest.MemJournal{}
			changed, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion))
			if err != nil || len(changed) != 0 || len(j.Entries) != 0 {
				t.Fatalf("apply on a VPC in use: %v, %v, %+v", changed, err, j.Entries)
			}
			if string(env.Server.Snapshot()) != string(before) {
				t.Fatal("apply changed a VPC in use")
			}
		})
	}
}

// Many users are named up to five, then counted.
func TestDefaultVpcUsersAreCounted(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	for range 7 {
		place(t, env, fakeaws.Placement{Kind: "network-interface", InstanceID: "i-0aaa"})
	}
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || strings.Count(f.Unmanaged, "instance i-0aaa") != 5 || !strings.HasSuffix(f.Unmanaged, " and 2 more") {
		t.Fatalf("finding = %q, %v", f.Unmanaged, err)
	}
}

// The plan says, before anyone confirms, that rollback cannot bring back
// the old ids.
func TestDefaultVpcPlanWarnsOfNewIDs(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	vpc := defaultVpcID(t, env)
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionDelete || len(f.Changes) != 1 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	ch := f.Changes[0]
	if len(f.Destroys) != 1 || len(f.Resources) != 1 || f.Resources[0] != vpc {
		t.Fatalf("a delete names no loss or resource: %+v", f)
	}
	l := f.Destroys[0]
	if l.Resource != vpc || l.Verb != "delete" || l.Kind != "default VPC" ||
		!strings.HasPrefix(l.What, "deletes "+vpc+" (172.31.0.0/16) with its 3 subnets and internet gateway igw-") ||
		!strings.HasSuffix(l.What, "rollback recreates a default VPC with NEW ids: what referenced the old ids is not restored") {
		t.Errorf("loss %+v does not say what goes and that rollback gives new ids", l)
	}
	if !strings.HasPrefix(ch.Current, vpc+" (172.31.0.0/16, 3 subnets, internet gateway igw-") {
		t.Errorf("current = %q", ch.Current)
	}
}

// A default VPC an exception names is kept, in use or not: Check reports
// it excepted (no action, nothing destroyed) and Apply writes nothing.
func TestDefaultVpcExceptedIsKept(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	vpc := defaultVpcID(t, env)
	tg.Excepted = []string{"vpc-0other", vpc}
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionNone || len(f.Resources) != 0 || len(f.Destroys) != 0 ||
		len(f.Excepted) != 1 || f.Excepted[0] != vpc {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	changed, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion))
	if err != nil || len(changed) != 0 || len(j.Entries) != 0 || string(env.Server.Snapshot()) != string(before) {
		t.Fatalf("apply on an excepted VPC: %v, %v, %d journal entries", changed, err, len(j.Entries))
	}
	// An exception naming another VPC changes nothing for this one.
	tg.Excepted = []string{"vpc-0other"}
	if f, _ := c.Check(ctx, cenv, tg); f.Action != control.ActionDelete {
		t.Fatalf("an exception for another VPC kept this one: %+v", f)
	}
}

// Apply detaches the gateway and deletes the subnets at once, then
// deletes the VPC (which needs both) at once with the detached gateway;
// the region is then compliant, and rollback recreates a default VPC of
// the same shape under new ids.
func TestDefaultVpcDeletedAndRecreated(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	old := defaultVpcID(t, env)
	before := env.Server.Snapshot()
	j := appliedJournal(t, c, cenv, tg)
	at := map[string][]int{}
	for i, e := range j.Entries {
		at[string(e.Step.Kind)] = append(at[string(e.Step.Kind)], i)
	}
	if len(j.Entries) != 6 || len(at["DetachInternetGateway"]) != 1 || len(at["DeleteInternetGateway"]) != 1 ||
		len(at["DeleteSubnet"]) != 3 || len(at["DeleteVpc"]) != 1 {
		t.Fatalf("steps = %v", at)
	}
	vpcAt := at["DeleteVpc"][0]
	if at["DeleteInternetGateway"][0] < at["DetachInternetGateway"][0] || vpcAt < at["DetachInternetGateway"][0] || vpcAt < at["DeleteSubnet"][2] {
		t.Fatalf("steps out of their dependencies' order: %v", at)
	}
	// The log shows the dependencies too: DeleteVpc is asked only after
	// the detach's and every subnet delete's answers.
	var asked []string
	for _, r := range env.Server.Requests() {
		if r.Write {
			asked = append(asked, r.Action)
		}
	}
	if n := len(asked); n != 6 || asked[n-1] != "DeleteVpc" && asked[n-2] != "DeleteVpc" {
		t.Fatalf("writes asked = %v", asked)
	}
	if _, _, ok := env.Server.DefaultVpc(vpcRegion); ok {
		t.Fatal("the default VPC is still there")
	}
	deleted := env.Server.Snapshot()
	if fakeawstest.WithoutEC2IDs(t, deleted) == fakeawstest.WithoutEC2IDs(t, before) {
		t.Fatal("the shape comparison cannot tell a region without its default VPC")
	}
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || f.Note != "no default VPC in "+vpcRegion {
		t.Fatalf("after apply: %+v, %v", f, err)
	}

	// The preview: the VPC step recreates everything; the older steps
	// have nothing of their own to do.
	u := undoVerdict(t, c, cenv, tg, vpcStepOf(t, j))
	if u.Verdict != control.Restore || !strings.Contains(u.What, "under new ids") || !strings.Contains(u.What, "what referenced "+old) {
		t.Fatalf("DeleteVpc undo = %s %q", u.Verdict, u.What)
	}
	for _, e := range j.Reversed() {
		if e.Step.Kind == "DeleteVpc" {
			continue
		}
		if u := undoVerdict(t, c, cenv, tg, e.Step); u.Verdict != control.Already || !strings.Contains(u.What, "comes back with the default VPC") {
			t.Fatalf("%s undo = %s %q", e.Step.Kind, u.Verdict, u.What)
		}
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	recreated := defaultVpcID(t, env)
	if recreated == old {
		t.Fatal("the recreated default VPC has the old id")
	}
	if fakeawstest.WithoutEC2IDs(t, env.Server.Snapshot()) != fakeawstest.WithoutEC2IDs(t, before) {
		t.Fatalf("the recreated default VPC differs in shape:\nbefore %s\nafter  %s", before, env.Server.Snapshot())
	}
	// A second rollback finds a default VPC: nothing to do.
	env.Server.ResetLog()
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil || len(env.Server.Writes()) != 0 {
		t.Fatalf("second rollback: %v, writes %+v", err, env.Server.Writes())
	}
}

// vpcStepOf is the journal's DeleteVpc step.
func vpcStepOf(t *testing.T, j *controltest.MemJournal) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Step.Kind == "DeleteVpc" {
			return e.Step
		}
	}
	t.Fatalf("no DeleteVpc in %+v", j.Entries)
	return control.Step{}
}

// A region whose default VPC is already gone is compliant and apply writes
// nothing there.
func TestRegionWithoutDefaultVpcIsCompliant(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	appliedJournal(t, c, cenv, tg)
	env.Server.ResetLog()
	j := &controltest.MemJournal{}
	if changed, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion)); err != nil || len(changed) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply: %v, %v", changed, err)
	}
	if n := len(env.Server.Requests()); n != 1 {
		t.Fatalf("a region without a default VPC took %d calls, want 1", n)
	}
}

// The user recreated a default VPC between decision and undo: the undo
// accepts DefaultVpcAlreadyExists. An unconfirmed DeleteVpc whose VPC is
// still there never happened.
func TestDefaultVpcAlreadyExists(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	j := appliedJournal(t, c, cenv, tg)
	vpcStep := vpcStepOf(t, j)
	u := undoVerdict(t, c, cenv, tg, vpcStep)
	if _, err := env.Clients.EC2(vpcRegion).CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{}); err != nil {
		t.Fatal(err)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatalf("undo after the user recreated the default VPC: %v", err)
	}
	if u := undoVerdict(t, c, cenv, tg, vpcStep); u.Verdict != control.Already || !strings.Contains(u.What, "has a default VPC again") {
		t.Fatalf("undo = %s %q", u.Verdict, u.What)
	}

	env2, c2, cenv2, tg2 := defaultVpcSetup(t)
	unconfirmed := control.Step{Kind: "DeleteVpc", Prior: []byte(`{"vpc_id":"` + defaultVpcID(t, env2) + `","cidr_block":"172.31.0.0/16","exists":true}`),
		RunID: "20260101T000000Z-0000"}
	if u := undoVerdict(t, c2, cenv2, tg2, unconfirmed); u.Verdict != control.Already || !strings.Contains(u.What, "never deleted") {
		t.Fatalf("unconfirmed DeleteVpc undo = %s %q", u.Verdict, u.What)
	}
}

// Apply stopped at DeleteVpc (something harden did not see): rollback
// gives the VPC that is still there a gateway, routed as before, and its
// default subnets back.
func TestDefaultVpcPartialApplyRollsBack(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	vpc := defaultVpcID(t, env)
	before := env.Server.Snapshot()
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Action: "DeleteVpc", Error: "DependencyViolation", Status: 400,
		Message: "The vpc '" + vpc + "' has dependencies and cannot be deleted."})
	j := &controltest.MemJournal{}
	_, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion))
	if err == nil || !strings.Contains(err.Error(), "something still uses it") {
		t.Fatalf("apply = %v", err)
	}
	env.Server.ClearFaults()
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if got := defaultVpcID(t, env); got != vpc {
		t.Fatalf("default VPC = %s, want %s", got, vpc)
	}
	ec := env.Clients.EC2(vpcRegion)
	subnets, _ := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if len(subnets.Subnets) != 3 {
		t.Fatalf("subnets: %+v", subnets.Subnets)
	}
	tables, _ := ec.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	igws, _ := ec.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	if len(igws.InternetGateways) != 1 || aws.ToString(igws.InternetGateways[0].Attachments[0].VpcId) != vpc {
		t.Fatalf("gateways: %+v", igws.InternetGateways)
	}
	igw := aws.ToString(igws.InternetGateways[0].InternetGatewayId)
	r := tables.RouteTables[0].Routes[1]
	if aws.ToString(r.GatewayId) != igw || r.State != ec2types.RouteStateActive {
		t.Fatalf("route 0.0.0.0/0 = %+v, want active through %s", r, igw)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || f.Action != control.ActionDelete {
		t.Fatalf("after rollback: %+v, %v", f, err)
	}
	if fakeawstest.WithoutEC2IDs(t, env.Server.Snapshot()) != fakeawstest.WithoutEC2IDs(t, before) {
		t.Fatal("the default VPC did not come back in shape")
	}
}

// detachOnly applies default-vpc with every DeleteSubnet refused, so that
// the apply stops after the gateway's detach, before DeleteVpc and the
// gateway's delete, and returns the journal and its detach step.
func detachOnly(t *testing.T, env *fakeawstest.Env, c controls.DefaultVPC, cenv *control.Env, tg control.Target) (*controltest.MemJournal, control.Step) {
	t.Helper()
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Action: "DeleteSubnet", Error: "UnauthorizedOperation", Status: 403, Message: "You are not authorized to perform this operation."})
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, tg, j.For(c.Info().ID, vpcRegion)); err == nil {
		t.Fatal("apply succeeded through a failing DeleteSubnet")
	}
	env.Server.ClearFaults()
	for _, e := range j.Entries {
		if e.Step.Kind == "DetachInternetGateway" && !e.Failed {
			for _, w := range env.Server.Writes() {
				if w.Action == "DeleteVpc" || w.Action == "DeleteInternetGateway" {
					t.Fatalf("%s asked though a subnet delete failed", w.Action)
				}
			}
			return j, e.Step
		}
	}
	t.Fatalf("no detach in %+v", j.Entries)
	return nil, control.Step{}
}

// Apply stopped right after the detach: rollback attaches the same
// gateway again.
func TestDefaultVpcDetachedGatewayIsAttachedAgain(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	before := env.Server.Snapshot()
	j, detach := detachOnly(t, env, c, cenv, tg)
	u := undoVerdict(t, c, cenv, tg, detach)
	if u.Verdict != control.Restore || !strings.HasPrefix(u.What, "attach internet gateway igw-") {
		t.Fatalf("detach undo = %s %q", u.Verdict, u.What)
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("the gateway was not attached again as it was")
	}
}

// A default VPC someone else recreated, without a subnet harden deleted
// from the old one, is not harden's to fill: drift, never forced.
func TestDefaultVpcSubnetUndoLeavesAnotherVpc(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	j := appliedJournal(t, c, cenv, tg)
	ec := env.Clients.EC2(vpcRegion)
	if _, err := ec.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{}); err != nil {
		t.Fatal(err)
	}
	_, subnets, _ := env.Server.DefaultVpc(vpcRegion)
	if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])}); err != nil {
		t.Fatal(err)
	}
	var drifted int
	for _, e := range j.Entries {
		if e.Step.Kind != "DeleteSubnet" {
			continue
		}
		u := undoVerdict(t, c, cenv, tg, e.Step)
		if u.Verdict == control.Drifted {
			drifted++
			if u.Do != nil || !strings.Contains(u.What, "not the VPC harden emptied") {
				t.Fatalf("drift = %q (force possible: %v)", u.What, u.Do != nil)
			}
		}
	}
	if drifted != 1 {
		t.Fatalf("%d subnet undos drifted, want 1", drifted)
	}
}

// errChainKilled is what chainKillJournal returns once apply is "killed".
var errChainKilled = errors.New("killed")

// chainKillJournal journals into m as a run's journal does and "kills" the
// apply at its intent number at: that intent is journaled without an
// outcome (Done=false), its write made or not as made says, and every
// later write is refused. at 0 never kills.
// Writes made at once are journaled one at a time, in the order they
// come.
type chainKillJournal struct {
	mu         sync.Mutex
	m          *controltest.MemJournal
	at         int
	made, dead bool
}

func (k *chainKillJournal) RunID() string { return "20260101T000000Z-0000" }

func (k *chainKillJournal) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return errChainKilled
	}
	p, _ := json.Marshal(prior)
	a, _ := json.Marshal(after)
	k.m.Entries = append(k.m.Entries, controltest.Entry{Control: "default-vpc", Region: vpcRegion,
		Step: control.Step{Kind: kind, Prior: p, After: a, RunID: k.RunID()}})
	if len(k.m.Entries) == k.at {
		k.dead = true
		if k.made {
			_, _ = write(ctx)
		}
		return errChainKilled
	}
	if _, err := write(ctx); err != nil {
		k.m.Entries[len(k.m.Entries)-1].Failed = true
		return err
	}
	k.m.Entries[len(k.m.Entries)-1].Step.Done = true
	return nil
}

// An apply killed anywhere in the delete chain (after each step
// confirmed, or with its last step's outcome unknown, made or not): the
// next apply reaches compliance, and one rollback of both runs, newest
// first, gives back a default VPC of the fresh shape with no orphan
// gateway or subnet.
func TestDefaultVpcKilledApplyResumesAndRollsBack(t *testing.T) {
	steps := []string{"DetachInternetGateway", "DeleteInternetGateway", "DeleteSubnet", "DeleteSubnet", "DeleteSubnet", "DeleteVpc"}
	for at := 1; at <= len(steps); at++ {
		for _, mode := range []string{"confirmed", "unknown-made", "unknown-not-made"} {
			t.Run(fmt.Sprintf("%d-%s-%s", at, steps[at-1], mode), func(t *testing.T) {
				env, c, cenv, tg := defaultVpcSetup(t)
				fresh := fakeawstest.WithoutEC2IDs(t, env.Server.Snapshot())
				first := &controltest.MemJournal{}
				k := &chainKillJournal{m: first, at: at, made: mode == "unknown-made"}
				if mode == "confirmed" {
					k.at, k.made = at+1, false
				}
				_, err := c.Apply(ctx, cenv, tg, k)
				if at == len(steps) && mode == "confirmed" {
					if err != nil {
						t.Fatalf("apply with every step confirmed: %v", err)
					}
				} else if !errors.Is(err, errChainKilled) {
					t.Fatalf("killed apply = %v", err)
				}
				if mode == "confirmed" {
					first.Entries = first.Entries[:at]
				}

				second := &controltest.MemJournal{Run: "20260101T000001Z-0000"}
				if _, err := c.Apply(ctx, cenv, tg, second.For(c.Info().ID, vpcRegion)); err != nil {
					t.Fatalf("re-apply: %v", err)
				}
				if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
					t.Fatalf("after the re-apply: %+v, %v", f, err)
				}

				// One rollback of both runs: the newer run's steps first.
				both := &controltest.MemJournal{Entries: append(append([]controltest.Entry{}, first.Entries...), second.Entries...)}
				if err := both.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
					t.Fatal(err)
				}
				if got := fakeawstest.WithoutEC2IDs(t, env.Server.Snapshot()); got != fresh {
					i := 0
					for i < len(got) && i < len(fresh) && got[i] == fresh[i] {
						i++
					}
					from := max(0, i-200)
					t.Fatalf("rollback did not give back the fresh shape; from the first difference:\nfresh …%s\nnow   …%s",
						fresh[from:min(len(fresh), i+300)], got[from:min(len(got), i+300)])
				}
				env.Server.ResetLog()
				if err := both.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil || len(env.Server.Writes()) != 0 {
					t.Fatalf("second rollback: %v, writes %+v", err, env.Server.Writes())
				}
			})
		}
	}
}

// The gateway a killed apply only detached is deleted by rollback once
// its VPC is gone, and only while it is as harden left it: attached
// again by someone (here to a default VPC they recreated), it is theirs
// and left alone.
func TestDefaultVpcDetachedGatewayOfDeletedVpc(t *testing.T) {
	env, c, cenv, tg := defaultVpcSetup(t)
	_, detach := detachOnly(t, env, c, cenv, tg)
	var prior struct {
		GatewayID string `json:"gateway_id"`
	}
	if err := json.Unmarshal(detach.Prior, &prior); err != nil {
		t.Fatal(err)
	}
	second := &controltest.MemJournal{Run: "20260101T000001Z-0000"}
	if _, err := c.Apply(ctx, cenv, tg, second.For(c.Info().ID, vpcRegion)); err != nil {
		t.Fatal(err)
	}
	u := undoVerdict(t, c, cenv, tg, detach)
	if u.Verdict != control.Delete || !strings.Contains(u.What, "delete internet gateway "+prior.GatewayID+", which harden detached") {
		t.Fatalf("detach undo with the VPC gone = %s %q", u.Verdict, u.What)
	}

	// Someone recreates the default VPC and gives it the old gateway.
	ec := env.Clients.EC2(vpcRegion)
	if _, err := ec.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{}); err != nil {
		t.Fatal(err)
	}
	vpc := defaultVpcID(t, env)
	igws, err := ec.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{
		{Name: aws.String("attachment.vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(igws.InternetGateways) != 1 {
		t.Fatalf("gateways of %s: %+v, %v", vpc, igws, err)
	}
	if _, err := ec.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igws.InternetGateways[0].InternetGatewayId, VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(prior.GatewayID), VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	if u := undoVerdict(t, c, cenv, tg, detach); u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("detach undo of a gateway attached again = %s %q", u.Verdict, u.What)
	}
	if err := controltest.Undo(ctx, c, cenv, tg, detach); err != nil || len(env.Server.Writes()) != 0 {
		t.Fatalf("undo: %v, writes %+v", err, env.Server.Writes())
	}
}
