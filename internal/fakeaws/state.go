package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// account is the whole state of the fake AWS account. Every field is
// exported so that Snapshot can compare states as JSON.
type account struct {
	ID string
	// OptIn is each region's opt-in status, as DescribeRegions reports it.
	OptIn     map[string]string
	Regions   map[string]*regionState
	IAM       iamState
	S3Control s3controlState
	// S3 buckets are global by name; each records its region.
	S3 s3State
	// CloudTrail trails by ARN; a multi-region trail shows in every region.
	CloudTrail cloudtrailState
	// SecurityHub holds the account's one finding aggregator.
	SecurityHub securityhubAccount
	// Account is the AWS Account service's state (alternate contacts).
	Account accountContacts
	// Budgets by name (AWS Budgets is global).
	Budgets budgetsState
	// CostExplorer holds anomaly monitors and subscriptions (global).
	CostExplorer costExplorerState
	// Organization is nil unless the account is an organization member.
	Organization *organizationInfo `json:",omitempty"`
	// Published are the messages SNS topics received; not account state.
	Published []PublishedMessage `json:"-"`
}

// regionState is one region's resources.
type regionState struct {
	EC2            ec2Region
	AccessAnalyzer analyzerRegion
	KMS            kmsRegion
	Config         configRegion
	GuardDuty      guarddutyRegion
	SecurityHub    securityhubRegion
	Detective      detectiveRegion
	SNS            snsRegion
	Events         eventsRegion
	Logs           logsRegion
	CloudWatch     cloudwatchRegion
}

// The regions of a new account: the 17 enabled by default, and opt-in
// regions, one of which this account has opted in to.
var (
	defaultRegions = []string{
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
		"ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
		"eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	}
	optInRegions = map[string]string{
		"af-south-1": "not-opted-in",
		"ap-east-1":  "not-opted-in",
		"me-south-1": "not-opted-in",
		"eu-south-1": "opted-in",
	}
)

func newAccount(id string) *account {
	a := &account{
		ID:         id,
		OptIn:      map[string]string{},
		Regions:    map[string]*regionState{},
		IAM:        iamState{Roles: map[string]*iamRole{}},
		S3:         s3State{Buckets: map[string]*s3Bucket{}},
		CloudTrail: cloudtrailState{Trails: map[string]*trail{}},
		Account:    accountContacts{AlternateContacts: map[string]*alternateContact{}},
		Budgets:    budgetsState{Budgets: map[string]*budget{}},
		CostExplorer: costExplorerState{
			Monitors: map[string]*anomalyMonitor{}, Subscriptions: map[string]*anomalySubscription{}},
	}
	for _, r := range defaultRegions {
		a.OptIn[r] = "opt-in-not-required"
	}
	for r, status := range optInRegions {
		a.OptIn[r] = status
	}
	for r := range a.OptIn {
		a.Regions[r] = newRegionState(id, r)
	}
	return a
}

func newRegionState(acct, region string) *regionState {
	return &regionState{
		EC2:            newEC2Region(acct, region),
		AccessAnalyzer: analyzerRegion{Analyzers: map[string]*analyzer{}},
		KMS:            kmsRegion{Keys: map[string]*kmsKey{}, Aliases: map[string]*kmsAlias{}},
		GuardDuty:      guarddutyRegion{Detectors: map[string]*gdDetector{}},
		SecurityHub:    securityhubRegion{Subscriptions: map[string]*shSubscription{}},
		Detective:      detectiveRegion{Graphs: map[string]*dtGraph{}},
		Logs:           logsRegion{Groups: map[string]*logGroup{}},
		CloudWatch:     cloudwatchRegion{Alarms: map[string]*metricAlarm{}},
	}
}

func (a *account) regionEnabled(region string) bool {
	status, ok := a.OptIn[region]
	return ok && status != "not-opted-in"
}

// region returns a region's state. Calls reach it only for known, enabled
// regions (see Server.handle); an unknown region name still gets a state so
// that a handler never sees nil.
func (a *account) region(name string) *regionState {
	r, ok := a.Regions[name]
	if !ok {
		r = newRegionState(a.ID, name)
		a.Regions[name] = r
	}
	return r
}

// Snapshot returns the whole account state as indented JSON with sorted
// keys, for tests that compare the account before and after a change.
func (s *Server) Snapshot() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.MarshalIndent(s.acct, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("fakeaws: snapshot: %v", err))
	}
	return b
}

// resourceID makes a stable, AWS-shaped id ("vpc-0123456789abcdef0") from
// the parts that identify a resource, so a fresh account is the same every
// time and golden files stay stable.
func resourceID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + "-0" + hex.EncodeToString(h.Sum(nil))[:16]
}
