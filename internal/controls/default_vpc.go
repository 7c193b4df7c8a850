package controls

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// DefaultVPC deletes the default VPC of every region, but only one that
// nothing uses: no network interface (instances, interface endpoints, NAT
// gateways, load balancers, Lambda, RDS and EFS all have one), no VPC
// endpoint, peering connection, transit gateway or VPN attachment, and no
// security group, network ACL or route table beyond the defaults. A VPC in
// use is kept and reported, naming what uses it.
//
// Rollback recreates a default VPC with CreateDefaultVpc: same shape, new
// ids. What referenced the old ids is not restored; plan says so (the
// finding's Loss). A default VPC an exception names (by its id) is left as
// it is.
type DefaultVPC struct{}

// The writes, in the order Apply makes them; rollback undoes them newest
// first, so the DeleteVpc undo recreates the whole default VPC and the
// older steps then find their subnet or gateway back (nothing to do).
// Only when apply stopped before DeleteVpc do the older undos act: they
// give the VPC that is still there its subnets and gateway again. One
// exception: a gateway an apply killed after the detach left behind, when
// a later apply deleted the VPC without it (it was no longer attached),
// is deleted by the detach's undo once the VPC is gone (see
// undoDetachGateway).
const (
	stepDetachInternetGateway control.StepKind = "DetachInternetGateway"
	stepDeleteInternetGateway control.StepKind = "DeleteInternetGateway"
	stepDeleteSubnet          control.StepKind = "DeleteSubnet"
	stepDeleteVpc             control.StepKind = "DeleteVpc"
)

// maxUsesShown bounds how many users of a VPC a finding names.
const maxUsesShown = 5

// gatewayState is the default VPC's internet gateway, as journaled around
// the detach and delete steps.
type gatewayState struct {
	GatewayID string `json:"gateway_id"`
	VpcID     string `json:"vpc_id"`
	Exists    bool   `json:"exists"`
	Attached  bool   `json:"attached"`
	// Routes that go through the gateway; a replacement gateway takes them
	// over.
	Routes []gatewayRoute `json:"routes,omitempty"`
}

type gatewayRoute struct {
	RouteTableID string `json:"route_table_id"`
	Destination  string `json:"destination"`
}

// subnetState is one default subnet, as journaled around its deletion.
type subnetState struct {
	SubnetID         string `json:"subnet_id"`
	VpcID            string `json:"vpc_id"`
	AvailabilityZone string `json:"availability_zone"`
	CidrBlock        string `json:"cidr_block"`
	Exists           bool   `json:"exists"`
}

// vpcState is the default VPC, as journaled around its deletion.
type vpcState struct {
	VpcID     string   `json:"vpc_id"`
	CidrBlock string   `json:"cidr_block"`
	Exists    bool     `json:"exists"`
	SubnetIDs []string `json:"subnet_ids,omitempty"`
	GatewayID string   `json:"gateway_id,omitempty"`
}

// defaultVpcSurvey is what Check and Apply read about a region's default
// VPC.
type defaultVpcSurvey struct {
	vpc *ec2types.Vpc
	// uses names what uses the VPC ("eni-…: instance i-…").
	uses     []string
	subnets  []ec2types.Subnet
	gateways []gatewayState
}

func (DefaultVPC) Info() control.Info {
	return control.Info{
		ID:      "default-vpc",
		Title:   "No default VPC",
		Scope:   control.Regional,
		Desired: "the region has no default VPC (one in use is kept and reported)",
		// No Security Hub control asks for it; deleting an unused default
		// VPC settles these three for it (default security group, flow
		// logs, subnets that give public addresses).
		SecurityHub: []string{"EC2.2", "EC2.6", "EC2.15"},
		Destructive: true,
		ReadActions: []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeInternetGateways",
			"ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcPeeringConnections",
			"ec2:DescribeTransitGatewayVpcAttachments", "ec2:DescribeVpnGateways", "ec2:DescribeSecurityGroups",
			"ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables"},
		WriteActions: []string{"ec2:DetachInternetGateway", "ec2:DeleteInternetGateway", "ec2:DeleteSubnet", "ec2:DeleteVpc",
			"ec2:CreateDefaultVpc", "ec2:CreateDefaultSubnet", "ec2:CreateInternetGateway", "ec2:AttachInternetGateway",
			"ec2:ReplaceRoute"},
		Service: "ec2",
		Cost:    control.Cost{UsageBased: false, Drivers: "free"},
	}
}

// defaultVpc reads the region's default VPC; nil when there is none.
func defaultVpc(ctx context.Context, env *control.Env, region string) (*ec2types.Vpc, error) {
	out, err := env.AWS.EC2(region).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
		Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		return nil, fmt.Errorf("default-vpc: describe the default VPC in %s: %w", region, err)
	}
	if len(out.Vpcs) == 0 {
		return nil, nil
	}
	return &out.Vpcs[0], nil
}

func byVpc(id string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}
}

// ec2Pager is an EC2 paginator.
type ec2Pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*ec2.Options)) (O, error)
}

// allPages reads every page of p and returns the items of each.
func allPages[O, T any](ctx context.Context, p ec2Pager[O], items func(O) []T) ([]T, error) {
	var out []T
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// survey reads the default VPC and, concurrently, everything that may use
// it and what deleting it removes: one DescribeVpcs, then ten reads in one
// round trip.
func (DefaultVPC) survey(ctx context.Context, env *control.Env, region string) (defaultVpcSurvey, error) {
	v, err := defaultVpc(ctx, env, region)
	if err != nil || v == nil {
		return defaultVpcSurvey{}, err
	}
	s := defaultVpcSurvey{vpc: v}
	id := aws.ToString(v.VpcId)
	c := env.AWS.EC2(region)
	// uses has one slot per kind of user, each filled by one read.
	uses := make([][]string, 8)
	var tables []ec2types.RouteTable
	var gateways []ec2types.InternetGateway
	g, gctx := errgroup.WithContext(ctx)
	read := func(what string, f func() error) {
		g.Go(func() error {
			if err := f(); err != nil {
				return fmt.Errorf("default-vpc: %s of %s in %s: %w", what, id, region, err)
			}
			return nil
		})
	}
	read("describe the network interfaces", func() error {
		enis, err := allPages(gctx, ec2.NewDescribeNetworkInterfacesPaginator(c, &ec2.DescribeNetworkInterfacesInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeNetworkInterfacesOutput) []ec2types.NetworkInterface { return o.NetworkInterfaces })
		for _, ni := range enis {
			uses[0] = append(uses[0], interfaceUse(ni))
		}
		return err
	})
	read("describe the VPC endpoints", func() error {
		eps, err := allPages(gctx, ec2.NewDescribeVpcEndpointsPaginator(c, &ec2.DescribeVpcEndpointsInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeVpcEndpointsOutput) []ec2types.VpcEndpoint { return o.VpcEndpoints })
		for _, e := range eps {
			if e.State != ec2types.StateDeleted {
				uses[1] = append(uses[1], fmt.Sprintf("%s: %s endpoint for %s", aws.ToString(e.VpcEndpointId), strings.ToLower(string(e.VpcEndpointType)), aws.ToString(e.ServiceName)))
			}
		}
		return err
	})
	read("describe the peering connections", func() error {
		pcxs, err := allPages(gctx, ec2.NewDescribeVpcPeeringConnectionsPaginator(c, &ec2.DescribeVpcPeeringConnectionsInput{}),
			func(o *ec2.DescribeVpcPeeringConnectionsOutput) []ec2types.VpcPeeringConnection {
				return o.VpcPeeringConnections
			})
		for _, p := range pcxs {
			if peeringUses(p, id) {
				uses[2] = append(uses[2], fmt.Sprintf("%s: peering connection", aws.ToString(p.VpcPeeringConnectionId)))
			}
		}
		return err
	})
	read("describe the transit gateway attachments", func() error {
		atts, err := allPages(gctx, ec2.NewDescribeTransitGatewayVpcAttachmentsPaginator(c, &ec2.DescribeTransitGatewayVpcAttachmentsInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeTransitGatewayVpcAttachmentsOutput) []ec2types.TransitGatewayVpcAttachment {
				return o.TransitGatewayVpcAttachments
			})
		for _, a := range atts {
			switch a.State {
			case ec2types.TransitGatewayAttachmentStateDeleted, ec2types.TransitGatewayAttachmentStateFailed, ec2types.TransitGatewayAttachmentStateRejected:
			default:
				uses[3] = append(uses[3], fmt.Sprintf("%s: attachment to transit gateway %s", aws.ToString(a.TransitGatewayAttachmentId), aws.ToString(a.TransitGatewayId)))
			}
		}
		return err
	})
	read("describe the VPN gateways", func() error {
		out, err := c.DescribeVpnGateways(gctx, &ec2.DescribeVpnGatewaysInput{
			Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{id}}}})
		if err != nil {
			return err
		}
		for _, vgw := range out.VpnGateways {
			for _, a := range vgw.VpcAttachments {
				if aws.ToString(a.VpcId) == id && (a.State == ec2types.AttachmentStatusAttached || a.State == ec2types.AttachmentStatusAttaching) {
					uses[4] = append(uses[4], fmt.Sprintf("%s: VPN gateway", aws.ToString(vgw.VpnGatewayId)))
				}
			}
		}
		return nil
	})
	read("describe the security groups", func() error {
		sgs, err := allPages(gctx, ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
		for _, sg := range sgs {
			if aws.ToString(sg.GroupName) != "default" {
				uses[5] = append(uses[5], fmt.Sprintf("%s: security group %s", aws.ToString(sg.GroupId), aws.ToString(sg.GroupName)))
			}
		}
		return err
	})
	read("describe the network ACLs", func() error {
		acls, err := allPages(gctx, ec2.NewDescribeNetworkAclsPaginator(c, &ec2.DescribeNetworkAclsInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeNetworkAclsOutput) []ec2types.NetworkAcl { return o.NetworkAcls })
		for _, acl := range acls {
			if !aws.ToBool(acl.IsDefault) {
				uses[6] = append(uses[6], fmt.Sprintf("%s: network ACL", aws.ToString(acl.NetworkAclId)))
			}
		}
		return err
	})
	read("describe the route tables", func() error {
		var err error
		tables, err = allPages(gctx, ec2.NewDescribeRouteTablesPaginator(c, &ec2.DescribeRouteTablesInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
		for _, rt := range tables {
			if !isMain(rt) {
				uses[7] = append(uses[7], fmt.Sprintf("%s: route table", aws.ToString(rt.RouteTableId)))
			}
		}
		return err
	})
	read("describe the subnets", func() error {
		var err error
		s.subnets, err = allPages(gctx, ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{Filters: byVpc(id)}),
			func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
		return err
	})
	read("describe the internet gateways", func() error {
		var err error
		gateways, err = allPages(gctx, ec2.NewDescribeInternetGatewaysPaginator(c, &ec2.DescribeInternetGatewaysInput{
			Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{id}}}}),
			func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		return err
	})
	if err := g.Wait(); err != nil {
		return defaultVpcSurvey{}, err
	}
	for _, u := range uses {
		s.uses = append(s.uses, u...)
	}
	for _, igw := range gateways {
		s.gateways = append(s.gateways, gatewayOf(igw, id, tables))
	}
	return s, nil
}

// gatewayOf is an internet gateway attached to vpcID, with the routes
// through it.
func gatewayOf(igw ec2types.InternetGateway, vpcID string, tables []ec2types.RouteTable) gatewayState {
	gw := gatewayState{GatewayID: aws.ToString(igw.InternetGatewayId), VpcID: vpcID, Exists: true, Attached: true}
	for _, rt := range tables {
		for _, r := range rt.Routes {
			if aws.ToString(r.GatewayId) == gw.GatewayID && r.DestinationCidrBlock != nil {
				gw.Routes = append(gw.Routes, gatewayRoute{RouteTableID: aws.ToString(rt.RouteTableId), Destination: aws.ToString(r.DestinationCidrBlock)})
			}
		}
	}
	return gw
}

func isMain(rt ec2types.RouteTable) bool {
	for _, a := range rt.Associations {
		if aws.ToBool(a.Main) {
			return true
		}
	}
	return false
}

// peeringUses reports whether a peering connection that still counts
// (not deleted, rejected, failed or expired) has vpcID on either side.
func peeringUses(p ec2types.VpcPeeringConnection, vpcID string) bool {
	if p.Status != nil {
		switch p.Status.Code {
		case ec2types.VpcPeeringConnectionStateReasonCodeDeleted, ec2types.VpcPeeringConnectionStateReasonCodeRejected,
			ec2types.VpcPeeringConnectionStateReasonCodeFailed, ec2types.VpcPeeringConnectionStateReasonCodeExpired,
			ec2types.VpcPeeringConnectionStateReasonCodeDeleting:
			return false
		}
	}
	for _, side := range []*ec2types.VpcPeeringConnectionVpcInfo{p.RequesterVpcInfo, p.AccepterVpcInfo} {
		if side != nil && aws.ToString(side.VpcId) == vpcID {
			return true
		}
	}
	return false
}

// interfaceUse names a network interface and what it serves: "eni-…:
// instance i-…", "eni-…: nat gateway (Interface for NAT Gateway nat-…)",
// "eni-…: ELB app/web/…".
func interfaceUse(ni ec2types.NetworkInterface) string {
	id := aws.ToString(ni.NetworkInterfaceId)
	desc := aws.ToString(ni.Description)
	kind := interfaceKind(string(ni.InterfaceType))
	switch {
	case ni.Attachment != nil && aws.ToString(ni.Attachment.InstanceId) != "":
		return fmt.Sprintf("%s: instance %s", id, aws.ToString(ni.Attachment.InstanceId))
	case kind != "" && kind != "interface" && desc != "":
		return fmt.Sprintf("%s: %s (%s)", id, kind, desc)
	case kind != "" && kind != "interface":
		return fmt.Sprintf("%s: %s", id, kind)
	case desc != "":
		return fmt.Sprintf("%s: %s", id, desc)
	case aws.ToString(ni.RequesterId) != "":
		return fmt.Sprintf("%s: made by %s", id, aws.ToString(ni.RequesterId))
	}
	return fmt.Sprintf("%s: unattached interface", id)
}

// interfaceKind says an interface type in words: "natGateway" and
// "vpc_endpoint" (AWS spells them both ways) become "nat gateway" and "vpc
// endpoint".
func interfaceKind(t string) string {
	var b strings.Builder
	for _, r := range t {
		switch {
		case r == '_':
			b.WriteRune(' ')
		case r >= 'A' && r <= 'Z':
			b.WriteRune(' ')
			b.WriteRune(r - 'A' + 'a')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// usesText lists what uses a VPC, at most maxUsesShown of them.
func usesText(uses []string) string {
	if len(uses) <= maxUsesShown {
		return strings.Join(uses, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(uses[:maxUsesShown], ", "), len(uses)-maxUsesShown)
}

// loss is the blast radius of deleting the default VPC, said in the plan
// before anyone confirms: what goes, and what rollback cannot give back.
func (s defaultVpcSurvey) loss() control.Loss {
	id := aws.ToString(s.vpc.VpcId)
	with := []string{"its " + plural(len(s.subnets), "subnet")}
	if len(s.subnets) == 1 {
		with[0] = "its subnet"
	}
	for _, gw := range s.gateways {
		with = append(with, "internet gateway "+gw.GatewayID)
	}
	what := fmt.Sprintf("deletes %s (%s) with %s; rollback recreates a default VPC with NEW ids: what referenced the old ids is not restored",
		id, aws.ToString(s.vpc.CidrBlock), strings.Join(with, " and "))
	return control.Loss{Verb: "delete", Kind: "default VPC", Resource: id, What: what}
}

func (s defaultVpcSurvey) shape() string {
	id := aws.ToString(s.vpc.VpcId)
	parts := []string{aws.ToString(s.vpc.CidrBlock), plural(len(s.subnets), "subnet")}
	for _, gw := range s.gateways {
		parts = append(parts, "internet gateway "+gw.GatewayID)
	}
	return fmt.Sprintf("%s (%s)", id, strings.Join(parts, ", "))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (c DefaultVPC) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	s, err := c.survey(ctx, env, t.Region)
	if err != nil {
		return control.Finding{}, err
	}
	return s.finding(t), nil
}

// finding: a default VPC an exception names is kept whatever it is; one
// in use is kept and reported; an unused one is deleted.
func (s defaultVpcSurvey) finding(t control.Target) control.Finding {
	if s.vpc == nil {
		return control.Finding{Compliant: true, Note: "no default VPC in " + t.Region}
	}
	id := aws.ToString(s.vpc.VpcId)
	if t.Excepts(id) {
		return control.Finding{Excepted: []string{id}, Note: "default VPC " + id + " kept: an exception names it"}
	}
	if len(s.uses) > 0 {
		return control.Finding{
			Changes:   []control.Change{{Field: "default VPC", Current: s.shape(), Desired: "deleted"}},
			Note:      "default VPC " + id,
			Unmanaged: "kept: in use by " + usesText(s.uses),
			Resources: []string{id},
		}
	}
	return control.Finding{
		Action:    control.ActionDelete,
		Changes:   []control.Change{{Field: "default VPC", Current: s.shape(), Desired: "deleted"}},
		Resources: []string{id},
		Destroys:  []control.Loss{s.loss()},
	}
}

func (c DefaultVPC) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	s, err := c.survey(ctx, env, t.Region)
	if err != nil {
		return nil, err
	}
	f := s.finding(t)
	if f.Action != control.ActionDelete {
		// Compliant, in use, or kept by an exception: no write.
		return nil, nil
	}
	id := aws.ToString(s.vpc.VpcId)
	ec := env.AWS.EC2(t.Region)
	// DeleteVpc needs the internet gateway detached (not deleted) and every
	// subnet gone; the gateway's delete needs only its detach. The detach
	// and the subnets' deletes need nothing of each other: they go at once,
	// then DeleteVpc at once with the gateway's delete.
	var first, last []func(context.Context) error
	for _, gw := range s.gateways {
		first = append(first, func(ctx context.Context) error {
			if err := c.detachGateway(ctx, ec, j, gw); err != nil {
				return fmt.Errorf("default-vpc: %s in %s: %w", id, t.Region, err)
			}
			return nil
		})
		last = append(last, func(ctx context.Context) error {
			if err := c.deleteGateway(ctx, ec, j, gw); err != nil {
				return fmt.Errorf("default-vpc: %s in %s: %w", id, t.Region, err)
			}
			return nil
		})
	}
	for _, sn := range s.subnets {
		first = append(first, func(ctx context.Context) error {
			prior := subnetState{SubnetID: aws.ToString(sn.SubnetId), VpcID: id, AvailabilityZone: aws.ToString(sn.AvailabilityZone),
				CidrBlock: aws.ToString(sn.CidrBlock), Exists: true}
			after := prior
			after.Exists = false
			err := j.Write(ctx, stepDeleteSubnet, prior, after, func(ctx context.Context) (any, error) {
				_, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.SubnetId})
				return nil, err
			})
			if err != nil {
				return fmt.Errorf("default-vpc: delete subnet %s of %s in %s: %w", prior.SubnetID, id, t.Region, err)
			}
			return nil
		})
	}
	if err := parallel.All(ctx, first...); err != nil {
		return nil, err
	}
	prior := vpcState{VpcID: id, CidrBlock: aws.ToString(s.vpc.CidrBlock), Exists: true}
	for _, sn := range s.subnets {
		prior.SubnetIDs = append(prior.SubnetIDs, aws.ToString(sn.SubnetId))
	}
	for _, gw := range s.gateways {
		prior.GatewayID = gw.GatewayID
	}
	last = append([]func(context.Context) error{func(ctx context.Context) error {
		after := prior
		after.Exists = false
		err := j.Write(ctx, stepDeleteVpc, prior, after, func(ctx context.Context) (any, error) {
			_, err := ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
			return nil, err
		})
		if awserror.Is(err, "DependencyViolation") {
			return fmt.Errorf("default-vpc: delete %s in %s: something still uses it that harden did not see (its gateway is detached and its subnets are gone; rollback gives them back): %w", id, t.Region, err)
		}
		if err != nil {
			return fmt.Errorf("default-vpc: delete %s in %s: %w", id, t.Region, err)
		}
		return nil
	}}, last...)
	if err := parallel.All(ctx, last...); err != nil {
		return nil, err
	}
	return f.Changes, nil
}

// detachGateway detaches the internet gateway from the VPC.
func (DefaultVPC) detachGateway(ctx context.Context, ec *ec2.Client, j control.Journal, gw gatewayState) error {
	detached := gw
	detached.Attached = false
	err := j.Write(ctx, stepDetachInternetGateway, gw, detached, func(ctx context.Context) (any, error) {
		_, err := ec.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(gw.GatewayID), VpcId: aws.String(gw.VpcID)})
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("detach internet gateway %s: %w", gw.GatewayID, err)
	}
	return nil
}

// deleteGateway deletes the internet gateway detachGateway detached.
func (DefaultVPC) deleteGateway(ctx context.Context, ec *ec2.Client, j control.Journal, gw gatewayState) error {
	detached := gw
	detached.Attached = false
	deleted := detached
	deleted.Exists = false
	err := j.Write(ctx, stepDeleteInternetGateway, detached, deleted, func(ctx context.Context) (any, error) {
		_, err := ec.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(gw.GatewayID)})
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("delete internet gateway %s: %w", gw.GatewayID, err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c DefaultVPC) Steps() control.Steps {
	return control.Steps{
		stepDetachInternetGateway: c.undoDetachGateway,
		stepDeleteInternetGateway: c.undoDeleteGateway,
		stepDeleteSubnet:          c.undoDeleteSubnet,
		stepDeleteVpc:             c.undoDeleteVpc,
	}
}

// undoDeleteVpc recreates a default VPC when the region has none. Its
// ids are new: CreateDefaultVpc cannot bring back the old ones.
func (DefaultVPC) undoDeleteVpc(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior vpcState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	current, err := defaultVpc(ctx, env, t.Region)
	if err != nil {
		return control.Undo{}, err
	}
	if current != nil {
		if aws.ToString(current.VpcId) == prior.VpcID {
			return control.Nothing("the default VPC %s in %s was never deleted", prior.VpcID, t.Region), nil
		}
		return control.Nothing("%s has a default VPC again (%s)", t.Region, aws.ToString(current.VpcId)), nil
	}
	what := fmt.Sprintf("recreate a default VPC in %s (%s with a default subnet per availability zone and an internet gateway) under new ids: "+
		"what referenced %s, its subnets or its gateway is not restored", t.Region, prior.CidrBlock, prior.VpcID)
	return control.Restored(what, func(ctx context.Context) error {
		_, err := env.AWS.EC2(t.Region).CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{})
		if err != nil && !awserror.Is(err, "DefaultVpcAlreadyExists") {
			return fmt.Errorf("default-vpc: recreate the default VPC in %s: %w", t.Region, err)
		}
		return nil
	}), nil
}

// undoDeleteSubnet gives the default VPC a default subnet in the deleted
// subnet's zone again, when the VPC harden emptied is still there without
// one (apply stopped before DeleteVpc). A recreated default VPC comes with
// its subnets: nothing to do.
func (DefaultVPC) undoDeleteSubnet(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior subnetState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	current, err := defaultVpc(ctx, env, t.Region)
	if err != nil {
		return control.Undo{}, err
	}
	if current == nil {
		return control.Nothing("the default subnet in %s comes back with the default VPC (see the DeleteVpc step)", prior.AvailabilityZone), nil
	}
	id := aws.ToString(current.VpcId)
	out, err := env.AWS.EC2(t.Region).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{id}},
		{Name: aws.String("availability-zone"), Values: []string{prior.AvailabilityZone}},
		{Name: aws.String("default-for-az"), Values: []string{"true"}},
	}})
	if err != nil {
		return control.Undo{}, fmt.Errorf("default-vpc: describe the default subnet of %s in %s: %w", id, prior.AvailabilityZone, err)
	}
	if len(out.Subnets) > 0 {
		return control.Nothing("default VPC %s has a default subnet in %s (%s)", id, prior.AvailabilityZone, aws.ToString(out.Subnets[0].SubnetId)), nil
	}
	if id != prior.VpcID {
		return control.Drift(nil, "the default VPC %s in %s has no default subnet in %s, but it is not the VPC harden emptied (%s): left as it is",
			id, t.Region, prior.AvailabilityZone, prior.VpcID), nil
	}
	what := fmt.Sprintf("create a default subnet in %s of %s (a new id replaces %s)", prior.AvailabilityZone, id, prior.SubnetID)
	return control.Restored(what, func(ctx context.Context) error {
		_, err := env.AWS.EC2(t.Region).CreateDefaultSubnet(ctx, &ec2.CreateDefaultSubnetInput{AvailabilityZone: aws.String(prior.AvailabilityZone)})
		if err != nil && !awserror.Is(err, "DefaultSubnetAlreadyExistsInAvailabilityZone") {
			return fmt.Errorf("default-vpc: create a default subnet in %s: %w", prior.AvailabilityZone, err)
		}
		return nil
	}), nil
}

// gatewaysNow reads the region's default VPC and, at once, its internet
// gateways: the one attached to the default VPC (if any) and the one the
// step names (if it still exists, default VPC or not).
func gatewaysNow(ctx context.Context, env *control.Env, region, gatewayID string) (vpcID string, attached string, named *ec2types.InternetGateway, err error) {
	var current *ec2types.Vpc
	var igws []ec2types.InternetGateway
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		current, err = defaultVpc(gctx, env, region)
		return err
	})
	g.Go(func() error {
		var err error
		igws, err = allPages(gctx, ec2.NewDescribeInternetGatewaysPaginator(env.AWS.EC2(region), &ec2.DescribeInternetGatewaysInput{}),
			func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		if err != nil {
			return fmt.Errorf("default-vpc: describe the internet gateways in %s: %w", region, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return "", "", nil, err
	}
	if current != nil {
		vpcID = aws.ToString(current.VpcId)
	}
	for i, igw := range igws {
		id := aws.ToString(igw.InternetGatewayId)
		if id == gatewayID {
			named = &igws[i]
		}
		for _, a := range igw.Attachments {
			if vpcID != "" && aws.ToString(a.VpcId) == vpcID {
				attached = id
			}
		}
	}
	return vpcID, attached, named, nil
}

// undoDeleteGateway gives the VPC harden emptied a new internet gateway,
// routed as the old one was, when apply stopped before DeleteVpc.
func (DefaultVPC) undoDeleteGateway(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior gatewayState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	vpcID, attached, named, err := gatewaysNow(ctx, env, t.Region, prior.GatewayID)
	switch {
	case err != nil:
		return control.Undo{}, err
	case vpcID == "":
		return control.Nothing("the internet gateway comes back with the default VPC (see the DeleteVpc step)"), nil
	case attached != "":
		return control.Nothing("default VPC %s has internet gateway %s", vpcID, attached), nil
	case vpcID != prior.VpcID:
		return control.Drift(nil, "the default VPC %s in %s has no internet gateway, but it is not the VPC harden emptied (%s): left as it is", vpcID, t.Region, prior.VpcID), nil
	case named != nil:
		return control.Nothing("internet gateway %s was never deleted (see the DetachInternetGateway step)", prior.GatewayID), nil
	}
	what := fmt.Sprintf("create an internet gateway for %s and route %s through it (a new id replaces %s)", vpcID, routesText(prior.Routes), prior.GatewayID)
	return control.Restored(what, func(ctx context.Context) error {
		return replaceGateway(ctx, env.AWS.EC2(t.Region), prior)
	}), nil
}

func routesText(routes []gatewayRoute) string {
	if len(routes) == 0 {
		return "no route"
	}
	var parts []string
	for _, r := range routes {
		parts = append(parts, r.Destination+" of "+r.RouteTableID)
	}
	return strings.Join(parts, ", ")
}

// replaceGateway creates an internet gateway, attaches it to the
// gateway's VPC and points its routes at it: the VPC's shape as it was.
// It carries no tags, as the gateway it replaces had none.
func replaceGateway(ctx context.Context, ec *ec2.Client, prior gatewayState) error {
	out, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		return fmt.Errorf("default-vpc: create an internet gateway for %s: %w", prior.VpcID, err)
	}
	id := out.InternetGateway.InternetGatewayId
	if _, err := ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: id, VpcId: aws.String(prior.VpcID)}); err != nil {
		return fmt.Errorf("default-vpc: attach internet gateway %s to %s: %w", aws.ToString(id), prior.VpcID, err)
	}
	for _, r := range prior.Routes {
		_, err := ec.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(r.RouteTableID), DestinationCidrBlock: aws.String(r.Destination), GatewayId: id})
		if err != nil {
			return fmt.Errorf("default-vpc: route %s of %s through %s: %w", r.Destination, r.RouteTableID, aws.ToString(id), err)
		}
	}
	return nil
}

// undoDetachGateway attaches the gateway to the VPC again when both are
// still there (apply stopped after the detach).
//
// When the VPC it was detached from is gone (a later apply, resuming the
// killed one, deleted the VPC without the gateway it no longer found
// attached), the gateway is what is left of the default VPC harden took
// apart: it is deleted, as the interrupted apply would have deleted it.
// The fresh account had one internet gateway, attached to its default
// VPC; the default VPC rollback recreates comes with a new one, so
// attaching the old one as well is impossible and keeping it would leave
// an orphan the fresh account never had. Only a gateway still as harden
// left it (detached) is deleted; one attached anywhere is left alone.
func (DefaultVPC) undoDetachGateway(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior gatewayState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	vpcID, attached, named, err := gatewaysNow(ctx, env, t.Region, prior.GatewayID)
	switch {
	case err != nil:
		return control.Undo{}, err
	case named == nil && vpcID != prior.VpcID:
		return control.Nothing("the internet gateway comes back with the default VPC (see the DeleteVpc step)"), nil
	case named == nil:
		return control.Nothing("internet gateway %s is gone (see the DeleteInternetGateway step)", prior.GatewayID), nil
	case len(named.Attachments) > 0 && vpcID != "" && aws.ToString(named.Attachments[0].VpcId) == vpcID:
		return control.Nothing("internet gateway %s is attached to the default VPC %s", prior.GatewayID, vpcID), nil
	case len(named.Attachments) > 0:
		return control.Drift(nil, "internet gateway %s is attached to %s now: left as it is", prior.GatewayID, aws.ToString(named.Attachments[0].VpcId)), nil
	case vpcID != prior.VpcID:
		// Default VPCs are never made non-default: the one harden
		// detached the gateway from is deleted.
		what := fmt.Sprintf("delete internet gateway %s, which harden detached from the default VPC %s before that VPC was deleted: "+
			"the default VPC comes back with a gateway of its own (see the DeleteVpc step)", prior.GatewayID, prior.VpcID)
		return control.Deleted(what, func(ctx context.Context) error {
			_, err := env.AWS.EC2(t.Region).DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(prior.GatewayID)})
			if err != nil && !awserror.Is(err, "InvalidInternetGatewayID.NotFound") {
				return fmt.Errorf("default-vpc: delete internet gateway %s, detached from %s: %w", prior.GatewayID, prior.VpcID, err)
			}
			return nil
		}), nil
	case attached != "":
		return control.Nothing("default VPC %s has internet gateway %s; %s stays detached as it was left", vpcID, attached, prior.GatewayID), nil
	}
	what := fmt.Sprintf("attach internet gateway %s to %s again", prior.GatewayID, prior.VpcID)
	return control.Restored(what, func(ctx context.Context) error {
		_, err := env.AWS.EC2(t.Region).AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{
			InternetGatewayId: aws.String(prior.GatewayID), VpcId: aws.String(prior.VpcID)})
		if err != nil {
			return fmt.Errorf("default-vpc: attach internet gateway %s to %s: %w", prior.GatewayID, prior.VpcID, err)
		}
		return nil
	}), nil
}
