package fakeaws

import (
	"encoding/json"
	"fmt"
)

// costExplorerState is Cost Anomaly Detection (part of the Cost Explorer
// API, global): monitors and subscriptions by ARN.
type costExplorerState struct {
	Monitors      map[string]*anomalyMonitor
	Subscriptions map[string]*anomalySubscription
	// seq numbers new monitors and subscriptions: AWS ARNs end in a UUID,
	// fakeaws's in a counter so snapshots stay stable. It is not part of
	// the snapshot: a rolled-back account equals the one before.
	seq int
}

type anomalyMonitor struct {
	MonitorArn       string            `json:"MonitorArn"`
	MonitorName      string            `json:"MonitorName"`
	MonitorType      string            `json:"MonitorType"`
	MonitorDimension string            `json:"MonitorDimension,omitempty"`
	CreationDate     string            `json:"CreationDate"`
	Tags             map[string]string `json:"-"`
}

type anomalySubscriber struct {
	Address string `json:"Address"`
	Type    string `json:"Type"`
	Status  string `json:"Status,omitempty"`
}

type anomalySubscription struct {
	SubscriptionArn     string              `json:"SubscriptionArn"`
	SubscriptionName    string              `json:"SubscriptionName"`
	AccountId           string              `json:"AccountId"`
	MonitorArnList      []string            `json:"MonitorArnList"`
	Subscribers         []anomalySubscriber `json:"Subscribers"`
	Frequency           string              `json:"Frequency"`
	ThresholdExpression json.RawMessage     `json:"ThresholdExpression,omitempty"`
	Tags                map[string]string   `json:"-"`
}

// MarshalJSON shows Snapshot the tags too (the API shows them only
// through ListTagsForResource).
func (s costExplorerState) MarshalJSON() ([]byte, error) {
	type view struct {
		Monitors      map[string]any
		Subscriptions map[string]any
	}
	v := view{Monitors: map[string]any{}, Subscriptions: map[string]any{}}
	for arn, m := range s.Monitors {
		v.Monitors[arn] = struct {
			*anomalyMonitor
			Tags map[string]string
		}{m, m.Tags}
	}
	for arn, sub := range s.Subscriptions {
		v.Subscriptions[arn] = struct {
			*anomalySubscription
			Tags map[string]string
		}{sub, sub.Tags}
	}
	return json.Marshal(v)
}

func costExplorerService() *service {
	return &service{
		name:          "ce",
		signingName:   "ce",
		protocol:      protoJSON,
		target:        "AWSInsightsIndexService",
		global:        true,
		throttleErr:   APIError{Status: 400, Code: "LimitExceededException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "AccessDeniedException", Message: "not enabled"},
		ops: []*op{
			{name: "CreateAnomalyMonitor", write: true, handle: ceCreateMonitor},
			{name: "GetAnomalyMonitors", handle: ceGetMonitors},
			{name: "DeleteAnomalyMonitor", write: true, handle: ceDeleteMonitor},
			{name: "CreateAnomalySubscription", write: true, handle: ceCreateSubscription},
			{name: "GetAnomalySubscriptions", handle: ceGetSubscriptions},
			{name: "UpdateAnomalySubscription", write: true, handle: ceUpdateSubscription},
			{name: "DeleteAnomalySubscription", write: true, handle: ceDeleteSubscription},
			{name: "ListTagsForResource", handle: ceListTags},
		},
	}
}

func ceValidation(msg string) *APIError {
	return &APIError{Status: 400, Code: "ValidationException", Message: msg}
}

func ceUnknownMonitor(arn string) *APIError {
	return &APIError{Status: 400, Code: "UnknownMonitorException", Message: "No anomaly monitor with ARN " + arn}
}

func ceUnknownSubscription(arn string) *APIError {
	return &APIError{Status: 400, Code: "UnknownSubscriptionException", Message: "No anomaly subscription with ARN " + arn}
}

func (s *costExplorerState) nextARN(acct, kind string) string {
	s.seq++
	return fmt.Sprintf("arn:aws:ce::%s:%s/%08d-0000-4000-8000-000000000000", acct, kind, s.seq)
}

func tagMap(tags []resourceTag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func ceCreateMonitor(c *call) (any, error) {
	var in struct {
		AnomalyMonitor anomalyMonitor
		ResourceTags   []resourceTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	m := in.AnomalyMonitor
	if m.MonitorName == "" {
		return nil, ceValidation("MonitorName is required")
	}
	switch m.MonitorType {
	case "DIMENSIONAL":
		if m.MonitorDimension != "SERVICE" && m.MonitorDimension != "LINKED_ACCOUNT" &&
			m.MonitorDimension != "TAG" && m.MonitorDimension != "COST_CATEGORY" {
			return nil, ceValidation("Invalid MonitorDimension: " + m.MonitorDimension)
		}
		if m.MonitorDimension == "SERVICE" {
			for _, other := range c.acct.CostExplorer.Monitors {
				if other.MonitorType == "DIMENSIONAL" && other.MonitorDimension == "SERVICE" {
					return nil, &APIError{Status: 400, Code: "ServiceQuotaExceededException",
						Message: "An account can have only one AWS services monitor"}
				}
			}
		}
	case "CUSTOM":
	default:
		return nil, ceValidation("Invalid MonitorType: " + m.MonitorType)
	}
	m.MonitorArn = c.acct.CostExplorer.nextARN(c.acct.ID, "anomalymonitor")
	m.CreationDate = "2026-01-01"
	m.Tags = tagMap(in.ResourceTags)
	c.acct.CostExplorer.Monitors[m.MonitorArn] = &m
	return struct{ MonitorArn string }{m.MonitorArn}, nil
}

func ceGetMonitors(c *call) (any, error) {
	var in struct{ MonitorArnList []string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	out := []*anomalyMonitor{}
	if len(in.MonitorArnList) > 0 {
		for _, arn := range in.MonitorArnList {
			m, ok := c.acct.CostExplorer.Monitors[arn]
			if !ok {
				return nil, ceUnknownMonitor(arn)
			}
			out = append(out, m)
		}
	} else {
		for _, arn := range sortedKeys(c.acct.CostExplorer.Monitors) {
			out = append(out, c.acct.CostExplorer.Monitors[arn])
		}
	}
	return struct{ AnomalyMonitors []*anomalyMonitor }{out}, nil
}

func ceDeleteMonitor(c *call) (any, error) {
	var in struct{ MonitorArn string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if _, ok := c.acct.CostExplorer.Monitors[in.MonitorArn]; !ok {
		return nil, ceUnknownMonitor(in.MonitorArn)
	}
	delete(c.acct.CostExplorer.Monitors, in.MonitorArn)
	return nil, nil
}

func ceCheckSubscription(c *call, s *anomalySubscription) error {
	if s.SubscriptionName == "" || len(s.MonitorArnList) == 0 || len(s.Subscribers) == 0 {
		return ceValidation("SubscriptionName, MonitorArnList and Subscribers are required")
	}
	for _, arn := range s.MonitorArnList {
		if _, ok := c.acct.CostExplorer.Monitors[arn]; !ok {
			return ceUnknownMonitor(arn)
		}
	}
	switch s.Frequency {
	case "IMMEDIATE":
		for _, sub := range s.Subscribers {
			if sub.Type != "SNS" {
				return ceValidation("IMMEDIATE subscriptions support only SNS subscribers")
			}
		}
	case "DAILY", "WEEKLY":
	default:
		return ceValidation("Invalid Frequency: " + s.Frequency)
	}
	for i := range s.Subscribers {
		if s.Subscribers[i].Status == "" {
			s.Subscribers[i].Status = "CONFIRMED"
		}
	}
	return nil
}

func ceCreateSubscription(c *call) (any, error) {
	var in struct {
		AnomalySubscription anomalySubscription
		ResourceTags        []resourceTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	s := in.AnomalySubscription
	if err := ceCheckSubscription(c, &s); err != nil {
		return nil, err
	}
	s.AccountId = c.acct.ID
	s.SubscriptionArn = c.acct.CostExplorer.nextARN(c.acct.ID, "anomalysubscription")
	s.Tags = tagMap(in.ResourceTags)
	c.acct.CostExplorer.Subscriptions[s.SubscriptionArn] = &s
	return struct{ SubscriptionArn string }{s.SubscriptionArn}, nil
}

func ceGetSubscriptions(c *call) (any, error) {
	var in struct {
		MonitorArn          string
		SubscriptionArnList []string
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	out := []*anomalySubscription{}
	for _, arn := range sortedKeys(c.acct.CostExplorer.Subscriptions) {
		s := c.acct.CostExplorer.Subscriptions[arn]
		if in.MonitorArn != "" && !contains(s.MonitorArnList, in.MonitorArn) {
			continue
		}
		if len(in.SubscriptionArnList) > 0 && !contains(in.SubscriptionArnList, arn) {
			continue
		}
		out = append(out, s)
	}
	return struct{ AnomalySubscriptions []*anomalySubscription }{out}, nil
}

func ceUpdateSubscription(c *call) (any, error) {
	var in struct {
		SubscriptionArn     string
		Frequency           string
		Subscribers         []anomalySubscriber
		ThresholdExpression json.RawMessage
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	s, ok := c.acct.CostExplorer.Subscriptions[in.SubscriptionArn]
	if !ok {
		return nil, ceUnknownSubscription(in.SubscriptionArn)
	}
	next := *s
	if in.Frequency != "" {
		next.Frequency = in.Frequency
	}
	if in.Subscribers != nil {
		next.Subscribers = in.Subscribers
	}
	if len(in.ThresholdExpression) > 0 {
		next.ThresholdExpression = in.ThresholdExpression
	}
	if err := ceCheckSubscription(c, &next); err != nil {
		return nil, err
	}
	*s = next
	return struct{ SubscriptionArn string }{s.SubscriptionArn}, nil
}

func ceDeleteSubscription(c *call) (any, error) {
	var in struct{ SubscriptionArn string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if _, ok := c.acct.CostExplorer.Subscriptions[in.SubscriptionArn]; !ok {
		return nil, ceUnknownSubscription(in.SubscriptionArn)
	}
	delete(c.acct.CostExplorer.Subscriptions, in.SubscriptionArn)
	return nil, nil
}

func ceListTags(c *call) (any, error) {
	var in struct{ ResourceArn string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	var tags map[string]string
	if m, ok := c.acct.CostExplorer.Monitors[in.ResourceArn]; ok {
		tags = m.Tags
	} else if s, ok := c.acct.CostExplorer.Subscriptions[in.ResourceArn]; ok {
		tags = s.Tags
	} else {
		return nil, &APIError{Status: 400, Code: "ResourceNotFoundException", Message: "No resource " + in.ResourceArn}
	}
	out := []resourceTag{}
	for _, k := range sortedKeys(tags) {
		out = append(out, resourceTag{k, tags[k]})
	}
	return struct{ ResourceTags []resourceTag }{out}, nil
}

// AddDefaultServicesMonitor creates the AWS services monitor AWS makes for
// some new accounts ("Default-Services-Monitor", untagged) and returns its
// ARN.
func (s *Server) AddDefaultServicesMonitor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ce := &s.acct.CostExplorer
	m := &anomalyMonitor{MonitorName: "Default-Services-Monitor", MonitorType: "DIMENSIONAL",
		MonitorDimension: "SERVICE", CreationDate: "2026-01-01", Tags: map[string]string{}}
	m.MonitorArn = ce.nextARN(s.acct.ID, "anomalymonitor")
	ce.Monitors[m.MonitorArn] = m
	return m.MonitorArn
}
