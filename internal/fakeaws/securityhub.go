package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// securityhubRegion is one region's Security Hub CSPM state.
type securityhubRegion struct {
	// Hub is nil while Security Hub is not enabled in the region.
	Hub *shHub `json:",omitempty"`
	// Subscriptions are the enabled standards by subscription ARN.
	Subscriptions map[string]*shSubscription
	// Administrator is the Security Hub administrator account of this
	// member account; "" for a standalone account.
	Administrator string `json:",omitempty"`
	// Withdrawn lists the standard ARNs this region does not offer.
	Withdrawn []string `json:",omitempty"`
}

type shHub struct {
	HubArn                  string
	SubscribedAt            string
	ControlFindingGenerator string
	AutoEnableControls      bool
	Tags                    map[string]string `json:",omitempty"`
}

type shSubscription struct {
	Arn          string
	StandardsArn string
	// Status is PENDING until GetEnabledStandards has seen it pending
	// readyAfter times, then READY.
	Status string
	polls  int
}

// securityhubAccount is Security Hub state of the whole account.
type securityhubAccount struct {
	Aggregator *shAggregator `json:",omitempty"`
	// Central, when set, makes the account the delegated administrator of
	// an organization under central configuration.
	Central *shCentral `json:",omitempty"`
}

// shCentral is central configuration as the delegated administrator sees
// it: the home region where configuration policies are managed, and the
// policy associated with the administrator's own account (its UUID, or
// SELF_MANAGED_SECURITY_HUB).
type shCentral struct {
	HomeRegion string
	PolicyID   string
}

// shAggregator is the account's one finding aggregator, created in (and
// named by) its aggregation region.
type shAggregator struct {
	Arn               string
	Region            string
	RegionLinkingMode string
	Regions           []string `json:",omitempty"`
}

// shStandard is a standard DescribeStandards offers.
type shStandard struct {
	path    string // after the ARN's resource type: "aws-foundational-security-best-practices/v/1.0.0"
	name    string
	global  bool // CIS v1.2.0's region-less "ruleset" ARN
	Default bool
}

var shStandards = []shStandard{
	{path: "aws-foundational-security-best-practices/v/1.0.0", name: "AWS Foundational Security Best Practices v1.0.0", Default: true},
	{path: "cis-aws-foundations-benchmark/v/1.2.0", name: "CIS AWS Foundations Benchmark v1.2.0", global: true, Default: true},
	{path: "cis-aws-foundations-benchmark/v/1.4.0", name: "CIS AWS Foundations Benchmark v1.4.0"},
	{path: "cis-aws-foundations-benchmark/v/3.0.0", name: "CIS AWS Foundations Benchmark v3.0.0"},
	{path: "cis-aws-foundations-benchmark/v/5.0.0", name: "CIS AWS Foundations Benchmark v5.0.0"},
	{path: "nist-800-53/v/5.0.0", name: "NIST Special Publication 800-53 Revision 5"},
	{path: "pci-dss/v/3.2.1", name: "PCI DSS v3.2.1"},
}

func (st shStandard) arn(region string) string {
	if st.global {
		return "arn:aws:securityhub:::ruleset/" + st.path
	}
	return fmt.Sprintf("arn:aws:securityhub:%s::standards/%s", region, st.path)
}

func (st shStandard) subscriptionArn(region, acct string) string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:subscription/%s", region, acct, st.path)
}

func securityhubService() *service {
	return &service{
		name:          "securityhub",
		signingName:   "securityhub",
		protocol:      protoRESTJSON,
		throttleErr:   APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "DescribeHub", method: http.MethodGet, path: "/accounts", handle: shDescribeHub},
			{name: "EnableSecurityHub", write: true, method: http.MethodPost, path: "/accounts", handle: shEnable},
			{name: "DisableSecurityHub", write: true, method: http.MethodDelete, path: "/accounts", handle: shDisable},
			{name: "UpdateSecurityHubConfiguration", write: true, method: http.MethodPatch, path: "/accounts", handle: shUpdateConfig},
			{name: "DescribeStandards", method: http.MethodGet, path: "/standards", handle: shDescribeStandards},
			{name: "GetEnabledStandards", method: http.MethodPost, path: "/standards/get", handle: shGetEnabledStandards},
			{name: "BatchEnableStandards", write: true, method: http.MethodPost, path: "/standards/register", handle: shBatchEnable},
			{name: "BatchDisableStandards", write: true, method: http.MethodPost, path: "/standards/deregister", handle: shBatchDisable},
			{name: "ListFindingAggregators", method: http.MethodGet, path: "/findingAggregator/list", handle: shListAggregators},
			{name: "GetFindingAggregator", method: http.MethodGet, path: "/findingAggregator/get/{arn+}", handle: shGetAggregator},
			{name: "CreateFindingAggregator", write: true, method: http.MethodPost, path: "/findingAggregator/create", handle: shCreateAggregator},
			{name: "DeleteFindingAggregator", write: true, method: http.MethodDelete, path: "/findingAggregator/delete/{arn+}", handle: shDeleteAggregator},
			{name: "GetAdministratorAccount", method: http.MethodGet, path: "/administrator", handle: shGetAdministrator},
			{name: "DescribeOrganizationConfiguration", method: http.MethodGet, path: "/organization/configuration", handle: shDescribeOrgConfig},
			{name: "GetConfigurationPolicyAssociation", method: http.MethodPost, path: "/configurationPolicyAssociation/get", handle: shGetPolicyAssociation},
			{name: "ListTagsForResource", method: http.MethodGet, path: "/tags/{arn}", handle: shListTags},
		},
	}
}

// shNotSubscribed is Security Hub's answer to an account that has not
// enabled it in the region.
func shNotSubscribed(c *call) *APIError {
	return &APIError{Status: 401, Code: "InvalidAccessException",
		Message: fmt.Sprintf("Account %s is not subscribed to AWS Security Hub", c.acct.ID)}
}

func shInvalidInput(format string, args ...any) *APIError {
	return &APIError{Status: 400, Code: "InvalidInputException", Message: fmt.Sprintf(format, args...)}
}

// shRegion returns the call's region state, or InvalidAccessException when
// the hub is not enabled there.
func shEnabled(c *call) (*securityhubRegion, error) {
	r := &c.regionState().SecurityHub
	if r.Hub == nil {
		return nil, shNotSubscribed(c)
	}
	return r, nil
}

func shDescribeHub(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	return struct {
		HubArn                  string `json:"HubArn"`
		SubscribedAt            string `json:"SubscribedAt"`
		AutoEnableControls      bool   `json:"AutoEnableControls"`
		ControlFindingGenerator string `json:"ControlFindingGenerator"`
	}{r.Hub.HubArn, r.Hub.SubscribedAt, r.Hub.AutoEnableControls, r.Hub.ControlFindingGenerator}, nil
}

func shEnable(c *call) (any, error) {
	var in struct {
		EnableDefaultStandards  *bool             `json:"EnableDefaultStandards"`
		ControlFindingGenerator string            `json:"ControlFindingGenerator"`
		Tags                    map[string]string `json:"Tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := &c.regionState().SecurityHub
	if r.Hub != nil {
		return nil, &APIError{Status: 409, Code: "ResourceConflictException", Message: "Account is already subscribed to Security Hub"}
	}
	generator := in.ControlFindingGenerator
	switch generator {
	case "":
		generator = "SECURITY_CONTROL"
	case "SECURITY_CONTROL", "STANDARD_CONTROL":
	default:
		return nil, shInvalidInput("Invalid ControlFindingGenerator: %s", generator)
	}
	r.Hub = &shHub{
		HubArn:                  fmt.Sprintf("arn:aws:securityhub:%s:%s:hub/default", c.region, c.acct.ID),
		SubscribedAt:            time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		ControlFindingGenerator: generator,
		AutoEnableControls:      true,
		Tags:                    in.Tags,
	}
	// EnableDefaultStandards defaults to true: FSBP and CIS v1.2.0.
	if in.EnableDefaultStandards == nil || *in.EnableDefaultStandards {
		for _, st := range shStandards {
			if st.Default {
				r.subscribe(c, st)
			}
		}
	}
	return nil, nil
}

func (r *securityhubRegion) subscribe(c *call, st shStandard) *shSubscription {
	arn := st.subscriptionArn(c.region, c.acct.ID)
	if s, ok := r.Subscriptions[arn]; ok {
		return s
	}
	s := &shSubscription{Arn: arn, StandardsArn: st.arn(c.region), Status: "PENDING"}
	r.Subscriptions[arn] = s
	return s
}

func shDisable(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	if agg := c.acct.SecurityHub.Aggregator; agg != nil && agg.Region == c.region {
		return nil, shInvalidInput("Cannot disable Security Hub in the aggregation Region while a finding aggregator exists")
	}
	r.Hub = nil
	r.Subscriptions = map[string]*shSubscription{}
	return nil, nil
}

func shUpdateConfig(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		AutoEnableControls      *bool  `json:"AutoEnableControls"`
		ControlFindingGenerator string `json:"ControlFindingGenerator"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	switch in.ControlFindingGenerator {
	case "":
	case "SECURITY_CONTROL", "STANDARD_CONTROL":
		r.Hub.ControlFindingGenerator = in.ControlFindingGenerator
	default:
		return nil, shInvalidInput("Invalid ControlFindingGenerator: %s", in.ControlFindingGenerator)
	}
	if in.AutoEnableControls != nil {
		r.Hub.AutoEnableControls = *in.AutoEnableControls
	}
	return nil, nil
}

// offered returns the standards the call's region offers.
func (r *securityhubRegion) offered(region string) []shStandard {
	var out []shStandard
	for _, st := range shStandards {
		withdrawn := false
		for _, w := range r.Withdrawn {
			withdrawn = withdrawn || w == st.arn(region)
		}
		if !withdrawn {
			out = append(out, st)
		}
	}
	return out
}

// shDescribeStandards lists the region's standards to a subscribed
// account; InvalidAccessException is among the operation's modeled errors,
// so fakeaws answers it before Security Hub is enabled.
func shDescribeStandards(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	type standard struct {
		StandardsArn     string `json:"StandardsArn"`
		Name             string `json:"Name"`
		Description      string `json:"Description"`
		EnabledByDefault bool   `json:"EnabledByDefault"`
	}
	var out []standard
	for _, st := range c.regionState().SecurityHub.offered(c.region) {
		out = append(out, standard{st.arn(c.region), st.name, "The " + st.name + " standard", st.Default})
	}
	return struct {
		Standards []standard `json:"Standards"`
	}{out}, nil
}

type shSubscriptionOut struct {
	StandardsArn             string            `json:"StandardsArn"`
	StandardsInput           map[string]string `json:"StandardsInput"`
	StandardsStatus          string            `json:"StandardsStatus"`
	StandardsSubscriptionArn string            `json:"StandardsSubscriptionArn"`
}

func (s *shSubscription) out() shSubscriptionOut {
	return shSubscriptionOut{s.StandardsArn, map[string]string{}, s.Status, s.Arn}
}

func shGetEnabledStandards(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		StandardsSubscriptionArns []string `json:"StandardsSubscriptionArns"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, a := range in.StandardsSubscriptionArns {
		want[a] = true
	}
	out := []shSubscriptionOut{}
	for _, arn := range sortedKeys(r.Subscriptions) {
		if len(want) > 0 && !want[arn] {
			continue
		}
		s := r.Subscriptions[arn]
		out = append(out, s.out())
		if s.Status == "PENDING" {
			s.polls++
			if s.polls >= c.server.standardsReadyAfter {
				s.Status = "READY"
			}
		}
	}
	return struct {
		StandardsSubscriptions []shSubscriptionOut `json:"StandardsSubscriptions"`
	}{out}, nil
}

func shBatchEnable(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		StandardsSubscriptionRequests []struct {
			StandardsArn string `json:"StandardsArn"`
		} `json:"StandardsSubscriptionRequests"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.StandardsSubscriptionRequests) == 0 || len(in.StandardsSubscriptionRequests) > 25 {
		return nil, shInvalidInput("StandardsSubscriptionRequests must hold 1 to 25 requests")
	}
	var picked []shStandard
	for _, req := range in.StandardsSubscriptionRequests {
		found := false
		for _, st := range r.offered(c.region) {
			if st.arn(c.region) == req.StandardsArn {
				picked, found = append(picked, st), true
			}
		}
		if !found {
			return nil, shInvalidInput("Invalid StandardsArn: %s", req.StandardsArn)
		}
	}
	out := []shSubscriptionOut{}
	for _, st := range picked {
		out = append(out, r.subscribe(c, st).out())
	}
	return struct {
		StandardsSubscriptions []shSubscriptionOut `json:"StandardsSubscriptions"`
	}{out}, nil
}

func shBatchDisable(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		StandardsSubscriptionArns []string `json:"StandardsSubscriptionArns"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	out := []shSubscriptionOut{}
	for _, arn := range in.StandardsSubscriptionArns {
		s, ok := r.Subscriptions[arn]
		if !ok {
			return nil, shInvalidInput("Invalid StandardsSubscriptionArn: %s", arn)
		}
		delete(r.Subscriptions, arn)
		o := s.out()
		o.StandardsStatus = "DELETING"
		out = append(out, o)
	}
	return struct {
		StandardsSubscriptions []shSubscriptionOut `json:"StandardsSubscriptions"`
	}{out}, nil
}

func shListAggregators(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	type item struct {
		FindingAggregatorArn string `json:"FindingAggregatorArn"`
	}
	out := []item{}
	if a := c.acct.SecurityHub.Aggregator; a != nil {
		out = append(out, item{a.Arn})
	}
	return struct {
		FindingAggregators []item `json:"FindingAggregators"`
	}{out}, nil
}

func shAggregatorOf(c *call) (*shAggregator, error) {
	a := c.acct.SecurityHub.Aggregator
	if a == nil || a.Arn != c.path["arn"] {
		return nil, &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "Finding aggregator not found: " + c.path["arn"]}
	}
	return a, nil
}

func (a *shAggregator) out() any {
	return struct {
		FindingAggregatorArn     string   `json:"FindingAggregatorArn"`
		FindingAggregationRegion string   `json:"FindingAggregationRegion"`
		RegionLinkingMode        string   `json:"RegionLinkingMode"`
		Regions                  []string `json:"Regions,omitempty"`
	}{a.Arn, a.Region, a.RegionLinkingMode, a.Regions}
}

func shGetAggregator(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	a, err := shAggregatorOf(c)
	if err != nil {
		return nil, err
	}
	return a.out(), nil
}

func shCreateAggregator(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	var in struct {
		RegionLinkingMode string   `json:"RegionLinkingMode"`
		Regions           []string `json:"Regions"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	switch in.RegionLinkingMode {
	case "ALL_REGIONS", "NO_REGIONS":
		if len(in.Regions) > 0 {
			return nil, shInvalidInput("Regions must be empty when RegionLinkingMode is %s", in.RegionLinkingMode)
		}
	case "ALL_REGIONS_EXCEPT_SPECIFIED", "SPECIFIED_REGIONS":
	default:
		return nil, shInvalidInput("Invalid RegionLinkingMode: %s", in.RegionLinkingMode)
	}
	if c.acct.SecurityHub.Aggregator != nil {
		return nil, &APIError{Status: 429, Code: "LimitExceededException", Message: "The account already has a finding aggregator"}
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	h := hex.EncodeToString(id[:])
	a := &shAggregator{
		Arn:               fmt.Sprintf("arn:aws:securityhub:%s:%s:finding-aggregator/%s-%s-%s-%s-%s", c.region, c.acct.ID, h[:8], h[8:12], h[12:16], h[16:20], h[20:]),
		Region:            c.region,
		RegionLinkingMode: in.RegionLinkingMode,
		Regions:           in.Regions,
	}
	c.acct.SecurityHub.Aggregator = a
	return a.out(), nil
}

func shDeleteAggregator(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	a, err := shAggregatorOf(c)
	if err != nil {
		return nil, err
	}
	if a.Region != c.region {
		return nil, shInvalidInput("The finding aggregator must be deleted from its aggregation Region %s", a.Region)
	}
	c.acct.SecurityHub.Aggregator = nil
	return nil, nil
}

func shGetAdministrator(c *call) (any, error) {
	r, err := shEnabled(c)
	if err != nil {
		return nil, err
	}
	if r.Administrator == "" {
		return struct{}{}, nil
	}
	type invitation struct {
		AccountID    string `json:"AccountId"`
		InvitationID string `json:"InvitationId"`
		InvitedAt    string `json:"InvitedAt"`
		MemberStatus string `json:"MemberStatus"`
	}
	return struct {
		Administrator invitation `json:"Administrator"`
	}{invitation{r.Administrator, "7ab938c5d52d7904ad09f9e7c20cc4eb", "2026-01-01T00:00:00.000Z", "Enabled"}}, nil
}

// shNotAdministrator is the answer to an organization operation from an
// account that is not the Security Hub administrator: InvalidAccessException
// is the error these operations model for an account without permission
// (the message is not documented).
func shNotAdministrator(c *call) *APIError {
	return &APIError{Status: 401, Code: "InvalidAccessException",
		Message: fmt.Sprintf("Account %s is not an administrator for this organization", c.acct.ID)}
}

// shDescribeOrgConfig answers the delegated administrator only ("Only the
// Security Hub CSPM administrator account can invoke this operation").
func shDescribeOrgConfig(c *call) (any, error) {
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	central := c.acct.SecurityHub.Central
	if central == nil {
		return nil, shNotAdministrator(c)
	}
	type orgConfig struct {
		ConfigurationType string `json:"ConfigurationType"`
		Status            string `json:"Status"`
	}
	return struct {
		AutoEnable                bool      `json:"AutoEnable"`
		AutoEnableStandards       string    `json:"AutoEnableStandards"`
		MemberAccountLimitReached bool      `json:"MemberAccountLimitReached"`
		OrganizationConfiguration orgConfig `json:"OrganizationConfiguration"`
	}{false, "NONE", false, orgConfig{"CENTRAL", "ENABLED"}}, nil
}

// shGetPolicyAssociation answers the delegated administrator in the
// central configuration's home region only ("Only the Security Hub CSPM
// delegated administrator can invoke this operation from the home
// Region"; the error elsewhere is not documented: InvalidAccessException),
// for its own account (other accounts are not modelled:
// ResourceNotFoundException).
func shGetPolicyAssociation(c *call) (any, error) {
	var in struct {
		Target struct {
			AccountID string `json:"AccountId"`
		} `json:"Target"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if _, err := shEnabled(c); err != nil {
		return nil, err
	}
	central := c.acct.SecurityHub.Central
	if central == nil {
		return nil, shNotAdministrator(c)
	}
	if c.region != central.HomeRegion {
		return nil, &APIError{Status: 401, Code: "InvalidAccessException",
			Message: "Configuration policy associations can be read only from the home Region " + central.HomeRegion}
	}
	if in.Target.AccountID != c.acct.ID {
		return nil, &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "No association for target " + in.Target.AccountID}
	}
	return struct {
		AssociationStatus     string `json:"AssociationStatus"`
		AssociationType       string `json:"AssociationType"`
		ConfigurationPolicyID string `json:"ConfigurationPolicyId"`
		TargetID              string `json:"TargetId"`
		TargetType            string `json:"TargetType"`
		UpdatedAt             string `json:"UpdatedAt"`
	}{"SUCCESS", "INHERITED", central.PolicyID, c.acct.ID, "ACCOUNT", "2026-01-01T00:00:00.000Z"}, nil
}

func shListTags(c *call) (any, error) {
	arn := c.path["arn"]
	r := c.regionState().SecurityHub
	if r.Hub == nil || r.Hub.HubArn != arn {
		return nil, &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "Resource not found: " + arn}
	}
	tags := r.Hub.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return struct {
		Tags map[string]string `json:"Tags"`
	}{tags}, nil
}

// SetSecurityHubAdministrator makes the account a Security Hub member of
// administrator account admin in region ("" makes it standalone again).
// It takes effect while Security Hub is enabled there, as in AWS.
func (s *Server) SetSecurityHubAdministrator(region, admin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.region(region).SecurityHub.Administrator = admin
}

// SetSecurityHubCentralConfiguration makes the account the delegated
// administrator of an organization under Security Hub central
// configuration managed from homeRegion, its own account associated with
// policyID (SELF_MANAGED_SECURITY_HUB for self-managed); homeRegion ""
// turns it off.
func (s *Server) SetSecurityHubCentralConfiguration(homeRegion, policyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if homeRegion == "" {
		s.acct.SecurityHub.Central = nil
		return
	}
	s.acct.SecurityHub.Central = &shCentral{HomeRegion: homeRegion, PolicyID: policyID}
}

// SetStandardsReadyAfter sets how many GetEnabledStandards answers show a
// newly enabled standard PENDING before it is READY (default 1).
func (s *Server) SetStandardsReadyAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.standardsReadyAfter = n
}

// WithdrawStandard makes region no longer offer the standard whose name
// DescribeStandards gives ("CIS AWS Foundations Benchmark v5.0.0").
func (s *Server) WithdrawStandard(region, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range shStandards {
		if st.name == name {
			r := &s.acct.region(region).SecurityHub
			r.Withdrawn = append(r.Withdrawn, st.arn(region))
			sort.Strings(r.Withdrawn)
			return nil
		}
	}
	return fmt.Errorf("fakeaws: no standard named %q", name)
}
