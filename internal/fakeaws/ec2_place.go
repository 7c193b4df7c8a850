package fakeaws

import (
	"fmt"
)

// Placement is a network resource a test puts into a region, as if the
// account's owner had made it: something that uses a VPC.
type Placement struct {
	Region string `json:"region"`
	// Kind is "vpc" (a non-default VPC, 10.0.0.0/16, with its default
	// security group, network ACL and main route table and one subnet),
	// "network-interface", "vpc-endpoint", "peering-connection",
	// "transit-gateway-attachment", "vpn-gateway", "security-group",
	// "network-acl" or "route-table".
	Kind string `json:"kind"`
	// VpcID is the VPC it is in; empty means the region's default VPC.
	VpcID string `json:"vpc_id,omitempty"`
	// SubnetID places a network interface; empty means the VPC's first
	// subnet.
	SubnetID string `json:"subnet_id,omitempty"`
	// Network interfaces: what made them. InstanceID attaches it to an
	// instance; InterfaceType is "interface" unless given ("nat_gateway",
	// "vpc_endpoint", "lambda", …); GroupIDs default to the VPC's default
	// security group.
	InstanceID    string   `json:"instance_id,omitempty"`
	InterfaceType string   `json:"interface_type,omitempty"`
	Description   string   `json:"description,omitempty"`
	RequesterID   string   `json:"requester_id,omitempty"`
	GroupIDs      []string `json:"group_ids,omitempty"`
	// ServiceName and EndpointType ("Gateway", "Interface") of a VPC
	// endpoint.
	ServiceName  string `json:"service_name,omitempty"`
	EndpointType string `json:"endpoint_type,omitempty"`
	// PeerVpcID is the accepter of a peering connection.
	PeerVpcID string `json:"peer_vpc_id,omitempty"`
	// Name of a security group.
	Name string `json:"name,omitempty"`
}

// Place adds p to the account and returns its id.
func (s *Server) Place(p Placement) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.acct.Regions[p.Region]; !ok {
		return "", fmt.Errorf("fakeaws: unknown region %q", p.Region)
	}
	r := &s.acct.region(p.Region).EC2
	acct := s.acct.ID
	if p.Kind == "vpc" {
		return r.addVpc(acct, p.Region), nil
	}
	if p.VpcID == "" {
		v := r.defaultVpc()
		if v == nil {
			return "", fmt.Errorf("fakeaws: %s has no default VPC to place a %s in", p.Region, p.Kind)
		}
		p.VpcID = v.VpcID
	}
	if _, ok := r.Vpcs[p.VpcID]; !ok {
		return "", fmt.Errorf("fakeaws: no VPC %s in %s", p.VpcID, p.Region)
	}
	id := ""
	switch p.Kind {
	case "network-interface":
		ni, err := r.placeNetworkInterface(acct, p)
		if err != nil {
			return "", err
		}
		id = ni.NetworkInterfaceID
	case "vpc-endpoint":
		if p.EndpointType == "" {
			p.EndpointType = "Gateway"
		}
		id = r.newID("vpce", acct, p.Region)
		r.VpcEndpoints[id] = &vpcEndpoint{VpcEndpointID: id, VpcEndpointType: p.EndpointType, VpcID: p.VpcID,
			ServiceName: p.ServiceName, State: "available", OwnerID: acct}
	case "peering-connection":
		id = r.newID("pcx", acct, p.Region)
		r.PeeringConnections[id] = &peeringConnection{VpcPeeringConnectionID: id,
			Requester: peeringVpcInfo{VpcID: p.VpcID, OwnerID: acct, Region: p.Region},
			Accepter:  peeringVpcInfo{VpcID: p.PeerVpcID, OwnerID: acct, Region: p.Region},
			Status:    peeringStatus{Code: "active", Message: "Active"}}
	case "transit-gateway-attachment":
		id = r.newID("tgw-attach", acct, p.Region)
		r.TransitGatewayVpcAttachments[id] = &tgwAttachment{TransitGatewayAttachmentID: id,
			TransitGatewayID: r.newID("tgw", acct, p.Region), VpcID: p.VpcID, VpcOwnerID: acct, State: "available"}
	case "vpn-gateway":
		id = r.newID("vgw", acct, p.Region)
		r.VpnGateways[id] = &vpnGateway{VpnGatewayID: id, State: "available", Type: "ipsec.1",
			Attachments: []igwAttachment{{VpcID: p.VpcID, State: "attached"}}}
	case "security-group":
		id = r.newID("sg", acct, p.Region)
		r.SecurityGroups[id] = &securityGroup{GroupID: id, GroupName: p.Name, Description: p.Description, VpcID: p.VpcID, OwnerID: acct}
	case "network-acl":
		id = r.newID("acl", acct, p.Region)
		r.NetworkAcls[id] = &networkACL{NetworkACLID: id, VpcID: p.VpcID, OwnerID: acct}
	case "route-table":
		id = r.newID("rtb", acct, p.Region)
		r.RouteTables[id] = &routeTable{RouteTableID: id, VpcID: p.VpcID, OwnerID: acct,
			Routes: []route{{DestinationCidrBlock: r.Vpcs[p.VpcID].CidrBlock, GatewayID: "local"}}}
	default:
		return "", fmt.Errorf("fakeaws: cannot place a %q", p.Kind)
	}
	return id, nil
}

func (r *ec2Region) placeNetworkInterface(acct string, p Placement) (*networkInterface, error) {
	if p.SubnetID == "" {
		for _, id := range sortedKeys(r.Subnets) {
			if r.Subnets[id].VpcID == p.VpcID {
				p.SubnetID = id
				break
			}
		}
	}
	sn, ok := r.Subnets[p.SubnetID]
	if !ok || sn.VpcID != p.VpcID {
		return nil, fmt.Errorf("fakeaws: no subnet %q in VPC %s", p.SubnetID, p.VpcID)
	}
	if len(p.GroupIDs) == 0 {
		for _, id := range sortedKeys(r.SecurityGroups) {
			if sg := r.SecurityGroups[id]; sg.VpcID == p.VpcID && sg.GroupName == "default" {
				p.GroupIDs = []string{id}
			}
		}
	}
	if p.InterfaceType == "" {
		p.InterfaceType = "interface"
	}
	ni := &networkInterface{
		NetworkInterfaceID: r.newID("eni", acct, p.Region),
		SubnetID:           sn.SubnetID,
		VpcID:              p.VpcID,
		AvailabilityZone:   sn.AZ,
		Description:        p.Description,
		InterfaceType:      p.InterfaceType,
		OwnerID:            acct,
		RequesterID:        p.RequesterID,
		RequesterManaged:   p.RequesterID != "",
		Status:             "available",
	}
	for _, gid := range p.GroupIDs {
		sg, ok := r.SecurityGroups[gid]
		if !ok {
			return nil, fmt.Errorf("fakeaws: no security group %s in %s", gid, p.Region)
		}
		ni.Groups = append(ni.Groups, groupIdentifier{GroupID: gid, GroupName: sg.GroupName})
	}
	if p.InstanceID != "" {
		ni.Status = "in-use"
		ni.Attachment = &eniAttachment{AttachmentID: "eni-attach-" + ni.NetworkInterfaceID[len("eni-"):],
			InstanceID: p.InstanceID, InstanceOwnerID: acct, Status: "attached"}
	}
	r.NetworkInterfaces[ni.NetworkInterfaceID] = ni
	return ni, nil
}

// DefaultVpc returns the id of a region's default VPC and of its subnets;
// ok is false when the region has none.
func (s *Server) DefaultVpc(region string) (vpcID string, subnetIDs []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.acct.region(region).EC2
	v := r.defaultVpc()
	if v == nil {
		return "", nil, false
	}
	for _, id := range sortedKeys(r.Subnets) {
		if r.Subnets[id].VpcID == v.VpcID {
			subnetIDs = append(subnetIDs, id)
		}
	}
	return v.VpcID, subnetIDs, true
}

// addVpc creates a VPC as CreateVpc and CreateSubnet would: with its
// default security group (default rules), default network ACL, main route
// table and one subnet.
func (r *ec2Region) addVpc(acct, region string) string {
	generation := "vpc-" + r.newID("gen", acct, region)
	v := &vpc{VpcID: resourceID("vpc", acct, region, generation), CidrBlock: "10.0.0.0/16", State: "available", OwnerID: acct, Tenancy: "default"}
	r.Vpcs[v.VpcID] = v
	acl := &networkACL{NetworkACLID: resourceID("acl", acct, region, generation), VpcID: v.VpcID, IsDefault: true, OwnerID: acct}
	r.NetworkAcls[acl.NetworkACLID] = acl
	rtb := &routeTable{RouteTableID: resourceID("rtb", acct, region, generation), VpcID: v.VpcID, Main: true, OwnerID: acct,
		Routes: []route{{DestinationCidrBlock: v.CidrBlock, GatewayID: "local"}}}
	r.RouteTables[rtb.RouteTableID] = rtb
	az := availabilityZones(region)[0]
	sn := &subnet{SubnetID: resourceID("subnet", acct, region, generation), VpcID: v.VpcID, CidrBlock: "10.0.0.0/24", AZ: az, State: "available", OwnerID: acct}
	r.Subnets[sn.SubnetID] = sn
	r.addDefaultSecurityGroup(acct, region, generation, v.VpcID)
	return v.VpcID
}
