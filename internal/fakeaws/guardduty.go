package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// guarddutyRegion is one region's GuardDuty state: at most one detector,
// as in AWS, and the organization administrator that manages the account
// there, if any.
type guarddutyRegion struct {
	Detectors map[string]*gdDetector
	// Administrator is the GuardDuty administrator account of this member
	// account; nil for a standalone account.
	Administrator *gdAdministrator `json:",omitempty"`
}

type gdDetector struct {
	ID string
	// Status is ENABLED or DISABLED (suspended).
	Status                     string
	FindingPublishingFrequency string
	// Features maps each optional protection feature to ENABLED or
	// DISABLED.
	Features  map[string]string
	CreatedAt string
	Tags      map[string]string `json:",omitempty"`
}

type gdAdministrator struct {
	AccountID          string
	RelationshipStatus string
}

// gdOptionalFeatures are the detector features a request may name. A
// feature left out of CreateDetector is enabled, except the runtime
// monitoring ones, which deploy agents (API_CreateDetector).
var gdOptionalFeatures = map[string]string{
	"S3_DATA_EVENTS":         "ENABLED",
	"EKS_AUDIT_LOGS":         "ENABLED",
	"EBS_MALWARE_PROTECTION": "ENABLED",
	"RDS_LOGIN_EVENTS":       "ENABLED",
	"LAMBDA_NETWORK_LOGS":    "ENABLED",
	"EKS_RUNTIME_MONITORING": "DISABLED",
	"RUNTIME_MONITORING":     "DISABLED",
}

// gdFoundationalSources are always on and reported by GetDetector.
var gdFoundationalSources = []string{"CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"}

var gdFrequencies = map[string]bool{"FIFTEEN_MINUTES": true, "ONE_HOUR": true, "SIX_HOURS": true}

func guarddutyService() *service {
	return &service{
		name:          "guardduty",
		signingName:   "guardduty",
		protocol:      protoRESTJSON,
		throttleErr:   APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "ListDetectors", method: http.MethodGet, path: "/detector", handle: gdListDetectors},
			{name: "CreateDetector", write: true, method: http.MethodPost, path: "/detector", handle: gdCreateDetector},
			{name: "GetDetector", method: http.MethodGet, path: "/detector/{detectorId}", handle: gdGetDetector},
			{name: "UpdateDetector", write: true, method: http.MethodPost, path: "/detector/{detectorId}", handle: gdUpdateDetector},
			{name: "DeleteDetector", write: true, method: http.MethodDelete, path: "/detector/{detectorId}", handle: gdDeleteDetector},
			{name: "GetAdministratorAccount", method: http.MethodGet, path: "/detector/{detectorId}/administrator", handle: gdGetAdministrator},
		},
	}
}

func gdBadRequest(format string, args ...any) *APIError {
	return &APIError{Status: 400, Code: "BadRequestException", Message: fmt.Sprintf(format, args...)}
}

type gdFeatureIn struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// gdCheckFeatures validates the features of a request as AWS does: known
// names and statuses, and never both runtime monitoring features.
func gdCheckFeatures(features []gdFeatureIn) error {
	named := map[string]bool{}
	for _, f := range features {
		if _, ok := gdOptionalFeatures[f.Name]; !ok {
			return gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: feature %q", f.Name)
		}
		if f.Status != "ENABLED" && f.Status != "DISABLED" {
			return gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: status %q", f.Status)
		}
		named[f.Name] = true
	}
	if named["EKS_RUNTIME_MONITORING"] && named["RUNTIME_MONITORING"] {
		return gdBadRequest("The request is rejected because a request cannot contain both EKS_RUNTIME_MONITORING and RUNTIME_MONITORING.")
	}
	return nil
}

func gdListDetectors(c *call) (any, error) {
	return struct {
		DetectorIDs []string `json:"detectorIds"`
	}{append([]string{}, sortedKeys(c.regionState().GuardDuty.Detectors)...)}, nil
}

func gdCreateDetector(c *call) (any, error) {
	var in struct {
		Enable                     *bool             `json:"enable"`
		FindingPublishingFrequency string            `json:"findingPublishingFrequency"`
		Features                   []gdFeatureIn     `json:"features"`
		Tags                       map[string]string `json:"tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.Enable == nil {
		return nil, gdBadRequest("The request is rejected because a required parameter is missing: enable")
	}
	if in.FindingPublishingFrequency == "" {
		in.FindingPublishingFrequency = "SIX_HOURS"
	}
	if !gdFrequencies[in.FindingPublishingFrequency] {
		return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: findingPublishingFrequency")
	}
	if err := gdCheckFeatures(in.Features); err != nil {
		return nil, err
	}
	r := &c.regionState().GuardDuty
	if len(r.Detectors) > 0 {
		return nil, gdBadRequest("The request is rejected because a detector already exists for the current account.")
	}
	d := &gdDetector{
		ID:                         newDetectorID(),
		Status:                     map[bool]string{true: "ENABLED", false: "DISABLED"}[*in.Enable],
		FindingPublishingFrequency: in.FindingPublishingFrequency,
		Features:                   map[string]string{},
		CreatedAt:                  time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Tags:                       in.Tags,
	}
	for name, status := range gdOptionalFeatures {
		d.Features[name] = status
	}
	for _, f := range in.Features {
		d.Features[f.Name] = f.Status
	}
	r.Detectors[d.ID] = d
	return struct {
		DetectorID string `json:"detectorId"`
	}{d.ID}, nil
}

// newDetectorID returns a detector id shaped like AWS's: 32 hex digits.
func newDetectorID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func gdDetectorOf(c *call) (*gdDetector, error) {
	id := c.path["detectorId"]
	d, ok := c.regionState().GuardDuty.Detectors[id]
	if !ok {
		return nil, gdBadRequest("The request is rejected because the input detectorId is not owned by the current account.")
	}
	return d, nil
}

func gdGetDetector(c *call) (any, error) {
	d, err := gdDetectorOf(c)
	if err != nil {
		return nil, err
	}
	features := []gdFeatureIn{}
	for _, name := range gdFoundationalSources {
		features = append(features, gdFeatureIn{Name: name, Status: "ENABLED"})
	}
	for _, name := range sortedKeys(d.Features) {
		features = append(features, gdFeatureIn{Name: name, Status: d.Features[name]})
	}
	return struct {
		CreatedAt                  string            `json:"createdAt"`
		UpdatedAt                  string            `json:"updatedAt"`
		FindingPublishingFrequency string            `json:"findingPublishingFrequency"`
		ServiceRole                string            `json:"serviceRole"`
		Status                     string            `json:"status"`
		Features                   []gdFeatureIn     `json:"features"`
		Tags                       map[string]string `json:"tags,omitempty"`
	}{d.CreatedAt, d.CreatedAt, d.FindingPublishingFrequency,
		fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty", c.acct.ID),
		d.Status, features, d.Tags}, nil
}

func gdUpdateDetector(c *call) (any, error) {
	d, err := gdDetectorOf(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		Enable                     *bool         `json:"enable"`
		FindingPublishingFrequency string        `json:"findingPublishingFrequency"`
		Features                   []gdFeatureIn `json:"features"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.FindingPublishingFrequency != "" && !gdFrequencies[in.FindingPublishingFrequency] {
		return nil, gdBadRequest("The request is rejected because an invalid or out-of-range value is specified as an input parameter: findingPublishingFrequency")
	}
	if err := gdCheckFeatures(in.Features); err != nil {
		return nil, err
	}
	if a := c.regionState().GuardDuty.Administrator; a != nil && in.Enable != nil && !*in.Enable {
		return nil, gdBadRequest("The request is rejected because a member account cannot disable GuardDuty; only the administrator account %s can.", a.AccountID)
	}
	if in.Enable != nil {
		d.Status = map[bool]string{true: "ENABLED", false: "DISABLED"}[*in.Enable]
	}
	if in.FindingPublishingFrequency != "" {
		d.FindingPublishingFrequency = in.FindingPublishingFrequency
	}
	for _, f := range in.Features {
		d.Features[f.Name] = f.Status
	}
	return nil, nil
}

func gdDeleteDetector(c *call) (any, error) {
	d, err := gdDetectorOf(c)
	if err != nil {
		return nil, err
	}
	delete(c.regionState().GuardDuty.Detectors, d.ID)
	return nil, nil
}

func gdGetAdministrator(c *call) (any, error) {
	if _, err := gdDetectorOf(c); err != nil {
		return nil, err
	}
	a := c.regionState().GuardDuty.Administrator
	if a == nil {
		return struct{}{}, nil
	}
	type admin struct {
		AccountID          string `json:"accountId"`
		InvitationID       string `json:"invitationId"`
		RelationshipStatus string `json:"relationshipStatus"`
		InvitedAt          string `json:"invitedAt"`
	}
	return struct {
		Administrator admin `json:"administrator"`
	}{admin{a.AccountID, "84b097800250d17d1872b34c4daadcf5", a.RelationshipStatus, "2026-01-01T00:00:00.000Z"}}, nil
}

// SetGuardDutyAdministrator makes the account a GuardDuty member of
// administrator account admin in region ("" makes it standalone again).
func (s *Server) SetGuardDutyAdministrator(region, admin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.acct.region(region).GuardDuty
	if admin == "" {
		r.Administrator = nil
		return
	}
	r.Administrator = &gdAdministrator{AccountID: admin, RelationshipStatus: "Enabled"}
}

// SetDetectorCreatedAt backdates (or postdates) the creation time of the
// detector in region, for tests of what depends on its age (Detective).
func (s *Server) SetDetectorCreatedAt(region string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.acct.region(region).GuardDuty.Detectors {
		d.CreatedAt = at.UTC().Format("2006-01-02T15:04:05.000Z")
		return nil
	}
	return fmt.Errorf("fakeaws: no GuardDuty detector in %s", region)
}
