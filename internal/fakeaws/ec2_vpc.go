package fakeaws

import (
	"fmt"
	"strconv"
)

// A new account's default VPC in every region: 172.31.0.0/16, one default
// subnet per availability zone, an attached internet gateway, a main route
// table routing 0.0.0.0/0 to it, a default network ACL and a default
// security group (ec2_sg.go).

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
	Tags              []ec2Tag        `xml:"tagSet>item,omitempty" json:",omitempty"`
}

type igwAttachment struct {
	VpcID string `xml:"vpcId"`
	State string `xml:"state"`
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type networkACL struct {
	NetworkACLID string `xml:"networkAclId"`
	VpcID        string `xml:"vpcId"`
	IsDefault    bool   `xml:"default"`
	OwnerID      string `xml:"ownerId"`
}

type routeTable struct {
	RouteTableID string
	VpcID        string
	Main         bool
	OwnerID      string
	Routes       []route
}

// route targets "local" or a gateway; its state (active or blackhole) is
// worked out when described.
type route struct {
	DestinationCidrBlock string
	GatewayID            string
}

type networkInterface struct {
	NetworkInterfaceID string            `xml:"networkInterfaceId"`
	SubnetID           string            `xml:"subnetId"`
	VpcID              string            `xml:"vpcId"`
	AvailabilityZone   string            `xml:"availabilityZone"`
	Description        string            `xml:"description"`
	InterfaceType      string            `xml:"interfaceType"`
	OwnerID            string            `xml:"ownerId"`
	RequesterID        string            `xml:"requesterId,omitempty" json:",omitempty"`
	RequesterManaged   bool              `xml:"requesterManaged"`
	Status             string            `xml:"status"`
	Groups             []groupIdentifier `xml:"groupSet>item"`
	Attachment         *eniAttachment    `xml:"attachment,omitempty" json:",omitempty"`
}

type groupIdentifier struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type eniAttachment struct {
	AttachmentID    string `xml:"attachmentId"`
	InstanceID      string `xml:"instanceId"`
	InstanceOwnerID string `xml:"instanceOwnerId"`
	DeviceIndex     int    `xml:"deviceIndex"`
	Status          string `xml:"status"`
}

type vpcEndpoint struct {
	VpcEndpointID   string `xml:"vpcEndpointId"`
	VpcEndpointType string `xml:"vpcEndpointType"`
	VpcID           string `xml:"vpcId"`
	ServiceName     string `xml:"serviceName"`
	State           string `xml:"state"`
	OwnerID         string `xml:"ownerId"`
}

type peeringConnection struct {
	VpcPeeringConnectionID string         `xml:"vpcPeeringConnectionId"`
	Requester              peeringVpcInfo `xml:"requesterVpcInfo"`
	Accepter               peeringVpcInfo `xml:"accepterVpcInfo"`
	Status                 peeringStatus  `xml:"status"`
}

type peeringVpcInfo struct {
	VpcID   string `xml:"vpcId"`
	OwnerID string `xml:"ownerId"`
	Region  string `xml:"region"`
}

type peeringStatus struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type tgwAttachment struct {
	TransitGatewayAttachmentID string `xml:"transitGatewayAttachmentId"`
	TransitGatewayID           string `xml:"transitGatewayId"`
	VpcID                      string `xml:"vpcId"`
	VpcOwnerID                 string `xml:"vpcOwnerId"`
	State                      string `xml:"state"`
}

type vpnGateway struct {
	VpnGatewayID string          `xml:"vpnGatewayId"`
	State        string          `xml:"state"`
	Type         string          `xml:"type"`
	Attachments  []igwAttachment `xml:"attachments>item"`
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
		Vpcs:                         map[string]*vpc{},
		Subnets:                      map[string]*subnet{},
		InternetGateways:             map[string]*internetGateway{},
		SecurityGroups:               map[string]*securityGroup{},
		NetworkAcls:                  map[string]*networkACL{},
		RouteTables:                  map[string]*routeTable{},
		NetworkInterfaces:            map[string]*networkInterface{},
		VpcEndpoints:                 map[string]*vpcEndpoint{},
		PeeringConnections:           map[string]*peeringConnection{},
		TransitGatewayVpcAttachments: map[string]*tgwAttachment{},
		VpnGateways:                  map[string]*vpnGateway{},
		FlowLogs:                     map[string]*flowLog{},
	}
	r.addDefaultVpc(acct, region, "initial")
	return r
}

// newID issues an id no resource of the region had before.
func (r *ec2Region) newID(prefix, acct, region string) string {
	r.issued++
	return resourceID(prefix, acct, region, "issued", strconv.Itoa(r.issued))
}

// defaultSubnetCidr is the /20 AWS gives the default subnet of the i-th
// availability zone.
func defaultSubnetCidr(i int) string { return fmt.Sprintf("172.31.%d.0/20", i*16) }

// addDefaultVpc creates a default VPC as AWS does for a new account or
// CreateDefaultVpc; generation makes its ids distinct from earlier ones
// (CreateDefaultVpc issues new ids).
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
		r.addDefaultSubnet(acct, v.VpcID, az, i, resourceID("subnet", acct, region, generation, az))
	}
	igw := &internetGateway{
		InternetGatewayID: resourceID("igw", acct, region, generation),
		OwnerID:           acct,
		Attachments:       []igwAttachment{{VpcID: v.VpcID, State: "available"}},
	}
	r.InternetGateways[igw.InternetGatewayID] = igw
	acl := &networkACL{NetworkACLID: resourceID("acl", acct, region, generation), VpcID: v.VpcID, IsDefault: true, OwnerID: acct}
	r.NetworkAcls[acl.NetworkACLID] = acl
	rtb := &routeTable{
		RouteTableID: resourceID("rtb", acct, region, generation),
		VpcID:        v.VpcID,
		Main:         true,
		OwnerID:      acct,
		Routes: []route{
			{DestinationCidrBlock: v.CidrBlock, GatewayID: "local"},
			{DestinationCidrBlock: "0.0.0.0/0", GatewayID: igw.InternetGatewayID},
		},
	}
	r.RouteTables[rtb.RouteTableID] = rtb
	r.addDefaultSecurityGroup(acct, region, generation, v.VpcID)
	return v
}

func (r *ec2Region) addDefaultSubnet(acct, vpcID, az string, azIndex int, id string) *subnet {
	sn := &subnet{
		SubnetID:     id,
		VpcID:        vpcID,
		CidrBlock:    defaultSubnetCidr(azIndex),
		AZ:           az,
		DefaultForAz: true,
		MapPublicIP:  true,
		State:        "available",
		OwnerID:      acct,
	}
	r.Subnets[sn.SubnetID] = sn
	return sn
}

// defaultVpc returns the region's default VPC, or nil.
func (r *ec2Region) defaultVpc() *vpc {
	for _, id := range sortedKeys(r.Vpcs) {
		if r.Vpcs[id].IsDefault {
			return r.Vpcs[id]
		}
	}
	return nil
}

func vpcNotFound(id string) *APIError {
	return &APIError{Status: 400, Code: "InvalidVpcID.NotFound", Message: fmt.Sprintf("The vpc ID '%s' does not exist", id)}
}

func dependencyViolation(kind, id string) *APIError {
	return &APIError{Status: 400, Code: "DependencyViolation",
		Message: fmt.Sprintf("The %s '%s' has dependencies and cannot be deleted.", kind, id)}
}

func missingParameter(name string) *APIError {
	return &APIError{Status: 400, Code: "MissingParameter",
		Message: fmt.Sprintf("The request must contain the parameter %s", name)}
}

// matches reports whether a filter on name, if given, lets value through.
func matches(filters map[string][]string, name string, values ...string) bool {
	want, ok := filters[name]
	if !ok {
		return true
	}
	for _, v := range values {
		if contains(want, v) {
			return true
		}
	}
	return false
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
			return nil, vpcNotFound(id)
		}
	}
	for _, id := range sortedKeys(r.Vpcs) {
		v := r.Vpcs[id]
		if len(ids) > 0 && !contains(ids, id) {
			continue
		}
		isDefault := strconv.FormatBool(v.IsDefault)
		if !matches(filters, "isDefault", isDefault) || !matches(filters, "is-default", isDefault) || !matches(filters, "vpc-id", v.VpcID) {
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
		if !matches(filters, "vpc-id", sn.VpcID) || !matches(filters, "default-for-az", strconv.FormatBool(sn.DefaultForAz)) ||
			!matches(filters, "availability-zone", sn.AZ) {
			continue
		}
		out.Subnets = append(out.Subnets, sn)
	}
	return out, nil
}

func ec2DescribeInternetGateways(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("InternetGatewayId")
	var out struct {
		Gateways []*internetGateway `xml:"internetGatewaySet>item"`
	}
	for _, id := range ids {
		if _, ok := r.InternetGateways[id]; !ok {
			return nil, igwNotFound(id)
		}
	}
	for _, id := range sortedKeys(r.InternetGateways) {
		igw := r.InternetGateways[id]
		var attached []string
		for _, a := range igw.Attachments {
			attached = append(attached, a.VpcID)
		}
		if (len(ids) > 0 && !contains(ids, id)) || !matches(filters, "attachment.vpc-id", attached...) ||
			!matches(filters, "internet-gateway-id", id) {
			continue
		}
		out.Gateways = append(out.Gateways, igw)
	}
	return out, nil
}

func ec2DescribeNetworkAcls(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Acls []*networkACL `xml:"networkAclSet>item"`
	}
	for _, id := range sortedKeys(r.NetworkAcls) {
		acl := r.NetworkAcls[id]
		if matches(filters, "vpc-id", acl.VpcID) && matches(filters, "default", strconv.FormatBool(acl.IsDefault)) {
			out.Acls = append(out.Acls, acl)
		}
	}
	return out, nil
}

type routeView struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId"`
	State                string `xml:"state"`
	Origin               string `xml:"origin"`
}

type routeTableAssociationView struct {
	ID           string `xml:"routeTableAssociationId"`
	RouteTableID string `xml:"routeTableId"`
	Main         bool   `xml:"main"`
	State        string `xml:"associationState>state"`
}

type routeTableView struct {
	RouteTableID string                      `xml:"routeTableId"`
	VpcID        string                      `xml:"vpcId"`
	OwnerID      string                      `xml:"ownerId"`
	Routes       []routeView                 `xml:"routeSet>item"`
	Associations []routeTableAssociationView `xml:"associationSet>item"`
}

func (r *ec2Region) routeTableView(rt *routeTable) routeTableView {
	v := routeTableView{RouteTableID: rt.RouteTableID, VpcID: rt.VpcID, OwnerID: rt.OwnerID}
	for _, rr := range rt.Routes {
		state, origin := "active", "CreateRoute"
		if rr.GatewayID == "local" {
			origin = "CreateRouteTable"
		} else if !r.gatewayAttached(rr.GatewayID, rt.VpcID) {
			state = "blackhole"
		}
		v.Routes = append(v.Routes, routeView{DestinationCidrBlock: rr.DestinationCidrBlock, GatewayID: rr.GatewayID, State: state, Origin: origin})
	}
	if rt.Main {
		v.Associations = append(v.Associations, routeTableAssociationView{
			ID: "rtbassoc-" + rt.RouteTableID[len("rtb-"):], RouteTableID: rt.RouteTableID, Main: true, State: "associated"})
	}
	return v
}

func (r *ec2Region) gatewayAttached(igwID, vpcID string) bool {
	igw, ok := r.InternetGateways[igwID]
	if !ok {
		return false
	}
	for _, a := range igw.Attachments {
		if a.VpcID == vpcID {
			return true
		}
	}
	return false
}

func ec2DescribeRouteTables(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Tables []routeTableView `xml:"routeTableSet>item"`
	}
	for _, id := range sortedKeys(r.RouteTables) {
		rt := r.RouteTables[id]
		if matches(filters, "vpc-id", rt.VpcID) && matches(filters, "association.main", strconv.FormatBool(rt.Main)) {
			out.Tables = append(out.Tables, r.routeTableView(rt))
		}
	}
	return out, nil
}

func ec2DescribeNetworkInterfaces(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("NetworkInterfaceId")
	var out struct {
		Interfaces []*networkInterface `xml:"networkInterfaceSet>item"`
	}
	for _, id := range ids {
		if _, ok := r.NetworkInterfaces[id]; !ok {
			return nil, &APIError{Status: 400, Code: "InvalidNetworkInterfaceID.NotFound",
				Message: fmt.Sprintf("The networkInterface ID '%s' does not exist", id)}
		}
	}
	for _, id := range sortedKeys(r.NetworkInterfaces) {
		ni := r.NetworkInterfaces[id]
		var groups []string
		for _, g := range ni.Groups {
			groups = append(groups, g.GroupID)
		}
		if (len(ids) > 0 && !contains(ids, id)) || !matches(filters, "vpc-id", ni.VpcID) ||
			!matches(filters, "subnet-id", ni.SubnetID) || !matches(filters, "group-id", groups...) {
			continue
		}
		out.Interfaces = append(out.Interfaces, ni)
	}
	return out, nil
}

func ec2DescribeVpcEndpoints(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Endpoints []*vpcEndpoint `xml:"vpcEndpointSet>item"`
	}
	for _, id := range sortedKeys(r.VpcEndpoints) {
		e := r.VpcEndpoints[id]
		if matches(filters, "vpc-id", e.VpcID) && matches(filters, "vpc-endpoint-type", e.VpcEndpointType) {
			out.Endpoints = append(out.Endpoints, e)
		}
	}
	return out, nil
}

func ec2DescribeVpcPeeringConnections(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Connections []*peeringConnection `xml:"vpcPeeringConnectionSet>item"`
	}
	for _, id := range sortedKeys(r.PeeringConnections) {
		p := r.PeeringConnections[id]
		if matches(filters, "requester-vpc-info.vpc-id", p.Requester.VpcID) &&
			matches(filters, "accepter-vpc-info.vpc-id", p.Accepter.VpcID) &&
			matches(filters, "status-code", p.Status.Code) {
			out.Connections = append(out.Connections, p)
		}
	}
	return out, nil
}

func ec2DescribeTransitGatewayVpcAttachments(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Attachments []*tgwAttachment `xml:"transitGatewayVpcAttachments>item"`
	}
	for _, id := range sortedKeys(r.TransitGatewayVpcAttachments) {
		a := r.TransitGatewayVpcAttachments[id]
		if matches(filters, "vpc-id", a.VpcID) && matches(filters, "state", a.State) {
			out.Attachments = append(out.Attachments, a)
		}
	}
	return out, nil
}

func ec2DescribeVpnGateways(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	var out struct {
		Gateways []*vpnGateway `xml:"vpnGatewaySet>item"`
	}
	for _, id := range sortedKeys(r.VpnGateways) {
		g := r.VpnGateways[id]
		var attached []string
		for _, a := range g.Attachments {
			attached = append(attached, a.VpcID)
		}
		if matches(filters, "attachment.vpc-id", attached...) {
			out.Gateways = append(out.Gateways, g)
		}
	}
	return out, nil
}

type returnResponse struct {
	Return bool `xml:"return"`
}

func igwNotFound(id string) *APIError {
	return &APIError{Status: 400, Code: "InvalidInternetGatewayID.NotFound",
		Message: fmt.Sprintf("The internetGateway ID '%s' does not exist", id)}
}

// igwAndVpc reads the InternetGatewayId and VpcId parameters and checks
// that both exist.
func (c *call) igwAndVpc() (*internetGateway, *vpc, error) {
	r := &c.regionState().EC2
	igwID, vpcID := c.form.Get("InternetGatewayId"), c.form.Get("VpcId")
	if igwID == "" {
		return nil, nil, missingParameter("internetGatewayId")
	}
	if vpcID == "" {
		return nil, nil, missingParameter("vpcId")
	}
	igw, ok := r.InternetGateways[igwID]
	if !ok {
		return nil, nil, igwNotFound(igwID)
	}
	v, ok := r.Vpcs[vpcID]
	if !ok {
		return nil, nil, vpcNotFound(vpcID)
	}
	return igw, v, nil
}

func ec2DetachInternetGateway(c *call) (any, error) {
	igw, v, err := c.igwAndVpc()
	if err != nil {
		return nil, err
	}
	for i, a := range igw.Attachments {
		if a.VpcID == v.VpcID {
			igw.Attachments = append(igw.Attachments[:i], igw.Attachments[i+1:]...)
			return returnResponse{Return: true}, nil
		}
	}
	return nil, &APIError{Status: 400, Code: "Gateway.NotAttached",
		Message: fmt.Sprintf("resource %s is not attached to network %s", igw.InternetGatewayID, v.VpcID)}
}

func ec2AttachInternetGateway(c *call) (any, error) {
	igw, v, err := c.igwAndVpc()
	if err != nil {
		return nil, err
	}
	r := &c.regionState().EC2
	if len(igw.Attachments) > 0 {
		return nil, &APIError{Status: 400, Code: "Resource.AlreadyAssociated",
			Message: fmt.Sprintf("resource %s is already attached to network %s", igw.InternetGatewayID, igw.Attachments[0].VpcID)}
	}
	for _, id := range sortedKeys(r.InternetGateways) {
		if r.gatewayAttached(id, v.VpcID) {
			return nil, &APIError{Status: 400, Code: "InvalidParameterValue",
				Message: fmt.Sprintf("Network %s already has an internet gateway attached", v.VpcID)}
		}
	}
	igw.Attachments = []igwAttachment{{VpcID: v.VpcID, State: "available"}}
	return returnResponse{Return: true}, nil
}

func ec2CreateInternetGateway(c *call) (any, error) {
	r := &c.regionState().EC2
	igw := &internetGateway{InternetGatewayID: r.newID("igw", c.acct.ID, c.region), OwnerID: c.acct.ID, Tags: c.ec2TagSpecification("internet-gateway")}
	r.InternetGateways[igw.InternetGatewayID] = igw
	return struct {
		Gateway *internetGateway `xml:"internetGateway"`
	}{igw}, nil
}

// ec2TagSpecification reads the tags of TagSpecification.N for a resource
// type.
func (c *call) ec2TagSpecification(resourceType string) []ec2Tag {
	var tags []ec2Tag
	for i := 1; ; i++ {
		rt, ok := c.form[fmt.Sprintf("TagSpecification.%d.ResourceType", i)]
		if !ok {
			return tags
		}
		if rt[0] != resourceType {
			continue
		}
		for j := 1; ; j++ {
			key, ok := c.form[fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", i, j)]
			if !ok {
				break
			}
			tags = append(tags, ec2Tag{Key: key[0], Value: c.form.Get(fmt.Sprintf("TagSpecification.%d.Tag.%d.Value", i, j))})
		}
	}
}

func ec2DeleteInternetGateway(c *call) (any, error) {
	r := &c.regionState().EC2
	id := c.form.Get("InternetGatewayId")
	igw, ok := r.InternetGateways[id]
	if !ok {
		return nil, igwNotFound(id)
	}
	if len(igw.Attachments) > 0 {
		return nil, dependencyViolation("internetGateway", id)
	}
	delete(r.InternetGateways, id)
	return returnResponse{Return: true}, nil
}

func ec2ReplaceRoute(c *call) (any, error) {
	r := &c.regionState().EC2
	id, dest, gw := c.form.Get("RouteTableId"), c.form.Get("DestinationCidrBlock"), c.form.Get("GatewayId")
	rt, ok := r.RouteTables[id]
	if !ok {
		return nil, &APIError{Status: 400, Code: "InvalidRouteTableID.NotFound",
			Message: fmt.Sprintf("The routeTable ID '%s' does not exist", id)}
	}
	if _, ok := r.InternetGateways[gw]; !ok {
		return nil, igwNotFound(gw)
	}
	for i := range rt.Routes {
		if rt.Routes[i].DestinationCidrBlock == dest && rt.Routes[i].GatewayID != "local" {
			rt.Routes[i].GatewayID = gw
			return returnResponse{Return: true}, nil
		}
	}
	return nil, &APIError{Status: 400, Code: "InvalidRoute.NotFound",
		Message: fmt.Sprintf("no route with destination-cidr-block %s in route table %s", dest, id)}
}

func ec2DeleteSubnet(c *call) (any, error) {
	r := &c.regionState().EC2
	id := c.form.Get("SubnetId")
	if _, ok := r.Subnets[id]; !ok {
		return nil, &APIError{Status: 400, Code: "InvalidSubnetID.NotFound",
			Message: fmt.Sprintf("The subnet ID '%s' does not exist", id)}
	}
	for _, ni := range r.NetworkInterfaces {
		if ni.SubnetID == id {
			return nil, dependencyViolation("subnet", id)
		}
	}
	delete(r.Subnets, id)
	return returnResponse{Return: true}, nil
}

func ec2CreateDefaultSubnet(c *call) (any, error) {
	r := &c.regionState().EC2
	az := c.form.Get("AvailabilityZone")
	v := r.defaultVpc()
	if v == nil {
		return nil, &APIError{Status: 400, Code: "DefaultVpcDoesNotExist",
			Message: "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC."}
	}
	index := -1
	for i, name := range availabilityZones(c.region) {
		if name == az {
			index = i
		}
	}
	if index < 0 {
		return nil, &APIError{Status: 400, Code: "InvalidParameterValue",
			Message: fmt.Sprintf("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %v.", az, availabilityZones(c.region))}
	}
	for _, sn := range r.Subnets {
		if sn.VpcID == v.VpcID && sn.AZ == az && sn.DefaultForAz {
			return nil, &APIError{Status: 400, Code: "DefaultSubnetAlreadyExistsInAvailabilityZone",
				Message: fmt.Sprintf("%s already has a default subnet %s.", az, sn.SubnetID)}
		}
	}
	sn := r.addDefaultSubnet(c.acct.ID, v.VpcID, az, index, r.newID("subnet", c.acct.ID, c.region))
	return struct {
		Subnet *subnet `xml:"subnet"`
	}{sn}, nil
}

// vpcDependencies names what keeps a VPC from being deleted: everything
// but its default security group, default network ACL and main route
// table, which go with it.
func (r *ec2Region) vpcDependencies(vpcID string) []string {
	var deps []string
	for _, id := range sortedKeys(r.Subnets) {
		if r.Subnets[id].VpcID == vpcID {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.InternetGateways) {
		if r.gatewayAttached(id, vpcID) {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.NetworkInterfaces) {
		if r.NetworkInterfaces[id].VpcID == vpcID {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.SecurityGroups) {
		if sg := r.SecurityGroups[id]; sg.VpcID == vpcID && sg.GroupName != "default" {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.NetworkAcls) {
		if acl := r.NetworkAcls[id]; acl.VpcID == vpcID && !acl.IsDefault {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.RouteTables) {
		if rt := r.RouteTables[id]; rt.VpcID == vpcID && !rt.Main {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.VpcEndpoints) {
		if r.VpcEndpoints[id].VpcID == vpcID {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.PeeringConnections) {
		if p := r.PeeringConnections[id]; p.Requester.VpcID == vpcID || p.Accepter.VpcID == vpcID {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.TransitGatewayVpcAttachments) {
		if r.TransitGatewayVpcAttachments[id].VpcID == vpcID {
			deps = append(deps, id)
		}
	}
	for _, id := range sortedKeys(r.VpnGateways) {
		for _, a := range r.VpnGateways[id].Attachments {
			if a.VpcID == vpcID {
				deps = append(deps, id)
			}
		}
	}
	return deps
}

func ec2DeleteVpc(c *call) (any, error) {
	r := &c.regionState().EC2
	id := c.form.Get("VpcId")
	if _, ok := r.Vpcs[id]; !ok {
		return nil, vpcNotFound(id)
	}
	if len(r.vpcDependencies(id)) > 0 {
		return nil, dependencyViolation("vpc", id)
	}
	delete(r.Vpcs, id)
	r.deleteFlowLogsOf(id)
	for _, sgID := range sortedKeys(r.SecurityGroups) {
		if r.SecurityGroups[sgID].VpcID == id {
			delete(r.SecurityGroups, sgID)
		}
	}
	for _, aclID := range sortedKeys(r.NetworkAcls) {
		if r.NetworkAcls[aclID].VpcID == id {
			delete(r.NetworkAcls, aclID)
		}
	}
	for _, rtID := range sortedKeys(r.RouteTables) {
		if r.RouteTables[rtID].VpcID == id {
			delete(r.RouteTables, rtID)
		}
	}
	return returnResponse{Return: true}, nil
}

func ec2CreateDefaultVpc(c *call) (any, error) {
	r := &c.regionState().EC2
	if r.defaultVpc() != nil {
		return nil, &APIError{Status: 400, Code: "DefaultVpcAlreadyExists",
			Message: "A Default VPC already exists for this account in this region."}
	}
	r.issued++
	v := r.addDefaultVpc(c.acct.ID, c.region, "issued-"+strconv.Itoa(r.issued))
	return struct {
		Vpc *vpc `xml:"vpc"`
	}{v}, nil
}
