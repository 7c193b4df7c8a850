package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// eventsRegion is one region's EventBridge state: the default event bus's
// rules by name. Other buses are not modelled.
type eventsRegion struct {
	Rules map[string]*eventRule `json:",omitempty"`
}

type eventRule struct {
	Name         string
	Arn          string
	EventPattern string
	State        string
	Description  string            `json:",omitempty"`
	Tags         map[string]string `json:",omitempty"`
	Targets      []*eventTarget    `json:",omitempty"`
}

// eventTarget is a rule's target as PutTargets takes it.
type eventTarget struct {
	Id               string
	Arn              string
	RoleArn          string            `json:",omitempty"`
	Input            string            `json:",omitempty"`
	InputPath        string            `json:",omitempty"`
	InputTransformer *inputTransformer `json:",omitempty"`
}

type inputTransformer struct {
	InputPathsMap map[string]string `json:",omitempty"`
	InputTemplate string
}

type eventTag struct {
	Key   string
	Value string
}

func (a *account) eventsRegion(region string) *eventsRegion {
	r := a.region(region)
	if r.Events.Rules == nil {
		r.Events.Rules = map[string]*eventRule{}
	}
	return &r.Events
}

func eventBridgeService() *service {
	return &service{
		name:          "events",
		signingName:   "events",
		protocol:      protoJSON,
		target:        "AWSEvents",
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "PutRule", write: true, handle: eventsPutRule},
			{name: "DescribeRule", handle: eventsDescribeRule},
			{name: "ListRules", handle: eventsListRules},
			{name: "DeleteRule", write: true, handle: eventsDeleteRule},
			{name: "PutTargets", write: true, handle: eventsPutTargets},
			{name: "ListTargetsByRule", handle: eventsListTargetsByRule},
			{name: "RemoveTargets", write: true, handle: eventsRemoveTargets},
			{name: "PutEvents", write: true, handle: eventsPutEvents},
			{name: "TagResource", write: true, handle: eventsTagResource},
			{name: "ListTagsForResource", handle: eventsListTagsForResource},
		},
	}
}

func eventsErr(code, msg string) *APIError { return &APIError{Status: 400, Code: code, Message: msg} }

var ruleNamePattern = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

func checkDefaultBus(bus string) error {
	if bus != "" && bus != "default" && !strings.HasSuffix(bus, ":event-bus/default") {
		return eventsErr("ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", bus))
	}
	return nil
}

func (c *call) rule(name string) (*eventRule, error) {
	r, ok := c.acct.eventsRegion(c.region).Rules[name]
	if !ok {
		return nil, eventsErr("ResourceNotFoundException", fmt.Sprintf("Rule %s does not exist on EventBus default.", name))
	}
	return r, nil
}

func eventsPutRule(c *call) (any, error) {
	var in struct {
		Name, EventPattern, State, Description, EventBusName, ScheduleExpression string
		Tags                                                                     []eventTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !ruleNamePattern.MatchString(in.Name) {
		return nil, eventsErr("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint")
	}
	if err := checkDefaultBus(in.EventBusName); err != nil {
		return nil, err
	}
	if in.ScheduleExpression != "" || in.EventPattern == "" {
		return nil, eventsErr("ValidationException", "fakeaws: a rule needs an EventPattern (schedules are not modelled)")
	}
	if _, err := parseEventPattern(in.EventPattern); err != nil {
		return nil, eventsErr("InvalidEventPatternException", "Event pattern is not valid. Reason: "+err.Error())
	}
	state := in.State
	if state == "" {
		state = "ENABLED"
	}
	if state != "ENABLED" && state != "DISABLED" {
		return nil, eventsErr("ValidationException", "1 validation error detected: Value '"+state+"' at 'state' failed to satisfy constraint")
	}
	rules := c.acct.eventsRegion(c.region).Rules
	r, exists := rules[in.Name]
	if !exists {
		r = &eventRule{Name: in.Name, Arn: fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", c.region, c.acct.ID, in.Name)}
		rules[in.Name] = r
		for _, t := range in.Tags {
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			r.Tags[t.Key] = t.Value
		}
	}
	// PutRule on an existing rule replaces its settings; tags are only
	// taken at creation.
	r.EventPattern, r.State, r.Description = in.EventPattern, state, in.Description
	return map[string]string{"RuleArn": r.Arn}, nil
}

func eventsDescribeRule(c *call) (any, error) {
	var in struct{ Name, EventBusName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := checkDefaultBus(in.EventBusName); err != nil {
		return nil, err
	}
	r, err := c.rule(in.Name)
	if err != nil {
		return nil, err
	}
	return ruleOut(r), nil
}

func ruleOut(r *eventRule) map[string]any {
	out := map[string]any{"Name": r.Name, "Arn": r.Arn, "EventPattern": r.EventPattern, "State": r.State, "EventBusName": "default"}
	if r.Description != "" {
		out["Description"] = r.Description
	}
	return out
}

func eventsListRules(c *call) (any, error) {
	var in struct {
		NamePrefix, EventBusName, NextToken string
		Limit                               int
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := checkDefaultBus(in.EventBusName); err != nil {
		return nil, err
	}
	rules := c.acct.eventsRegion(c.region).Rules
	var out []map[string]any
	for _, name := range sortedKeys(rules) {
		if strings.HasPrefix(name, in.NamePrefix) {
			out = append(out, ruleOut(rules[name]))
		}
	}
	return map[string]any{"Rules": out}, nil
}

func eventsDeleteRule(c *call) (any, error) {
	var in struct{ Name, EventBusName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	rules := c.acct.eventsRegion(c.region).Rules
	r, ok := rules[in.Name]
	if !ok {
		return nil, nil // DeleteRule of a missing rule succeeds.
	}
	if len(r.Targets) > 0 {
		return nil, eventsErr("ValidationException", "Rule can't be deleted since it has targets.")
	}
	delete(rules, in.Name)
	return nil, nil
}

var arnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$`)

func eventsPutTargets(c *call) (any, error) {
	var in struct {
		Rule, EventBusName string
		Targets            []*eventTarget
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r, err := c.rule(in.Rule)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Targets {
		if t.Id == "" || !arnPattern.MatchString(t.Arn) {
			return nil, eventsErr("ValidationException", "1 validation error detected: a target needs an Id and an ARN")
		}
		if t.InputTransformer != nil && t.InputTransformer.InputTemplate == "" {
			return nil, eventsErr("ValidationException", "InputTemplate is required with an InputTransformer")
		}
		if strings.Contains(t.Arn, ":event-bus/") && t.RoleArn == "" && !strings.Contains(t.Arn, ":"+c.region+":") {
			return nil, eventsErr("ValidationException", "RoleArn is required for target "+t.Id+": a cross-region event bus target needs a role.")
		}
		replaced := false
		for i, old := range r.Targets {
			if old.Id == t.Id {
				r.Targets[i], replaced = t, true
			}
		}
		if !replaced {
			r.Targets = append(r.Targets, t)
		}
	}
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func eventsListTargetsByRule(c *call) (any, error) {
	var in struct{ Rule, EventBusName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r, err := c.rule(in.Rule)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Targets": r.Targets}, nil
}

func eventsRemoveTargets(c *call) (any, error) {
	var in struct {
		Rule, EventBusName string
		Ids                []string
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r, err := c.rule(in.Rule)
	if err != nil {
		return nil, err
	}
	remove := map[string]bool{}
	for _, id := range in.Ids {
		remove[id] = true
	}
	var kept []*eventTarget
	for _, t := range r.Targets {
		if !remove[t.Id] {
			kept = append(kept, t)
		}
	}
	r.Targets = kept
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func (c *call) ruleByARN(arn string) (*eventRule, error) {
	name, ok := strings.CutPrefix(arn, fmt.Sprintf("arn:aws:events:%s:%s:rule/", c.region, c.acct.ID))
	if !ok {
		return nil, eventsErr("ResourceNotFoundException", "Rule "+arn+" does not exist.")
	}
	return c.rule(name)
}

func eventsTagResource(c *call) (any, error) {
	var in struct {
		ResourceARN string
		Tags        []eventTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r, err := c.ruleByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	for _, t := range in.Tags {
		r.Tags[t.Key] = t.Value
	}
	return nil, nil
}

func eventsListTagsForResource(c *call) (any, error) {
	var in struct{ ResourceARN string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r, err := c.ruleByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags := []eventTag{}
	for _, k := range sortedKeys(r.Tags) {
		tags = append(tags, eventTag{k, r.Tags[k]})
	}
	return map[string]any{"Tags": tags}, nil
}

func eventsPutEvents(c *call) (any, error) {
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
			Resources                                []string
		}
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, e := range in.Entries {
		var detail any
		if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil {
			out = append(out, map[string]string{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
			continue
		}
		ev := Event{Source: e.Source, DetailType: e.DetailType, Detail: detail, Resources: e.Resources}
		id, _ := c.acct.putEvent(c.region, ev, 0)
		out = append(out, map[string]string{"EventId": id})
	}
	return map[string]any{"FailedEntryCount": 0, "Entries": out}, nil
}

// Event is an event as a service sends it to EventBridge.
type Event struct {
	Source     string   `json:"source"`
	DetailType string   `json:"detail-type"`
	Detail     any      `json:"detail"`
	Resources  []string `json:"resources,omitempty"`
	// Account and Region default to the fake account and the region the
	// event is put in.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Delivery is what happened to an event at one rule target.
type Delivery struct {
	Region string `json:"region"`
	Rule   string `json:"rule"`
	Target string `json:"target"`
	// Error says why the target did not receive the event; "" when it did.
	Error string `json:"error,omitempty"`
}

// InjectEvent puts ev on region's default bus, as the service would, and
// returns what every matching rule target did with it, forwarded events
// included.
func (s *Server) InjectEvent(region string, ev Event) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, deliveries := s.acct.putEvent(region, ev, 0)
	if home := s.acct.securityHubAggregation(region, ev); home != "" {
		ev.Region = home
		_, more := s.acct.putEvent(home, ev, 0)
		deliveries = append(deliveries, more...)
	}
	return deliveries
}

// securityHubAggregation is the aggregation (home) region that also
// receives ev, a Security Hub finding event from region, or "" when none.
// The Security Hub user guide ("Types of Security Hub integration with
// EventBridge"): "In an aggregation Region, the event feed includes events
// for findings from the aggregation Region and the linked Regions." The
// linked region's own bus keeps its event too. A region is linked by the
// aggregator's RegionLinkingMode and Regions, and only where Security Hub
// is enabled (ALL_REGIONS "aggregates findings from all of the Regions
// where Security Hub is enabled"). The copy is Security Hub's own event in
// the aggregation region (its envelope's region is that region; the
// finding inside keeps its Region), not an EventBridge forward.
func (a *account) securityHubAggregation(region string, ev Event) string {
	agg := a.SecurityHub.Aggregator
	if ev.Source != "aws.securityhub" || ev.DetailType != "Security Hub Findings - Imported" || agg == nil ||
		agg.Region == region || a.region(region).SecurityHub.Hub == nil || a.region(agg.Region).SecurityHub.Hub == nil {
		return ""
	}
	listed := slices.Contains(agg.Regions, region)
	switch agg.RegionLinkingMode {
	case "ALL_REGIONS":
	case "ALL_REGIONS_EXCEPT_SPECIFIED":
		if listed {
			return ""
		}
	case "SPECIFIED_REGIONS":
		if !listed {
			return ""
		}
	default: // NO_REGIONS
		return ""
	}
	return agg.Region
}

// putEvent evaluates the region's rules on ev and delivers it to the
// targets of every matching, enabled rule. hops counts cross-region
// forwards, which EventBridge does not chain. The server's mu is held.
func (a *account) putEvent(region string, ev Event, hops int) (string, []Delivery) {
	if ev.Account == "" {
		ev.Account = a.ID
	}
	if ev.Region == "" {
		ev.Region = region
	}
	envelope := map[string]any{
		"version": "0", "id": resourceID("event", region, ev.Source, fmt.Sprint(len(a.Published))),
		"detail-type": ev.DetailType, "source": ev.Source, "account": ev.Account,
		"time": time.Now().UTC().Format(time.RFC3339), "region": ev.Region,
		"resources": orEmpty(ev.Resources), "detail": ev.Detail,
	}
	envelope = genericJSON(envelope)
	var deliveries []Delivery
	rules := a.eventsRegion(region).Rules
	for _, name := range sortedKeys(rules) {
		r := rules[name]
		pattern, err := parseEventPattern(r.EventPattern)
		if err != nil || r.State != "ENABLED" || !pattern.matches(envelope) {
			continue
		}
		for _, t := range r.Targets {
			d := Delivery{Region: region, Rule: r.Name, Target: t.Arn}
			more, err := a.deliver(region, t, envelope, ev, hops)
			if err != nil {
				d.Error = err.Error()
			}
			deliveries = append(append(deliveries, d), more...)
		}
	}
	return envelope["id"].(string), deliveries
}

// genericJSON turns v into what json.Unmarshal makes of it (maps, []any,
// float64), the shapes pattern matching and paths walk.
func genericJSON(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deliver sends one event to one target: another region's default bus
// (through the target's role) or an SNS topic (rendered by the target's
// input transformer).
func (a *account) deliver(region string, t *eventTarget, envelope map[string]any, ev Event, hops int) ([]Delivery, error) {
	parts := strings.SplitN(t.Arn, ":", 6)
	switch {
	case parts[2] == "events" && strings.HasPrefix(parts[5], "event-bus/"):
		if parts[5] != "event-bus/default" || parts[4] != a.ID {
			return nil, fmt.Errorf("fakeaws delivers to the account's default buses only, not %s", t.Arn)
		}
		if hops > 0 {
			return nil, fmt.Errorf("EventBridge does not forward an event that another region forwarded")
		}
		if err := a.roleMayPutEvents(t.RoleArn, t.Arn); err != nil {
			return nil, err
		}
		_, more := a.putEvent(parts[3], ev, hops+1)
		return more, nil
	case parts[2] == "sns":
		if parts[3] != region {
			return nil, fmt.Errorf("topic %s is not in the rule's region %s", t.Arn, region)
		}
		msg, err := renderTargetInput(t, envelope)
		if err != nil {
			return nil, err
		}
		return nil, a.deliverToTopic(t.Arn, "events.amazonaws.com", a.ID, msg)
	}
	return nil, fmt.Errorf("fakeaws does not deliver to %s", t.Arn)
}

// roleMayPutEvents checks the role EventBridge assumes for a bus target:
// it must exist, trust events.amazonaws.com and allow events:PutEvents on
// the bus.
func (a *account) roleMayPutEvents(roleARN, busARN string) error {
	if roleARN == "" {
		return fmt.Errorf("target %s has no role", busARN)
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	role, ok := a.IAM.Roles[strings.ToLower(name)]
	if !ok || role.Arn != roleARN {
		return fmt.Errorf("role %s does not exist", roleARN)
	}
	trustText, err := url.QueryUnescape(role.AssumeRolePolicyDocument)
	if err != nil {
		return fmt.Errorf("role %s: trust policy: %v", roleARN, err)
	}
	trust, err := parsePolicy(trustText, policyParseOptions{})
	if err != nil || !trust.allows(policyRequest{Principal: policyPrincipal{Service: "events.amazonaws.com"}, Action: "sts:AssumeRole", Resource: roleARN,
		Context: map[string][]string{"aws:SourceAccount": {a.ID}}}) {
		return fmt.Errorf("role %s does not trust events.amazonaws.com", roleARN)
	}
	for _, doc := range role.Policies {
		p, err := parsePolicy(doc, policyParseOptions{})
		if err == nil && p.allows(policyRequest{Principal: policyPrincipal{ARN: roleARN, Account: a.ID}, Action: "events:PutEvents", Resource: busARN}) {
			return nil
		}
	}
	return fmt.Errorf("role %s may not events:PutEvents to %s", roleARN, busARN)
}

// renderTargetInput is what a target receives: the fixed Input, the
// InputPath's value, the input transformer's rendering, or the event.
func renderTargetInput(t *eventTarget, envelope map[string]any) (string, error) {
	switch {
	case t.Input != "":
		return t.Input, nil
	case t.InputPath != "":
		b, _ := json.Marshal(jsonPath(envelope, t.InputPath))
		return string(b), nil
	case t.InputTransformer != nil:
		return renderTemplate(t.InputTransformer, envelope), nil
	}
	b, err := json.Marshal(envelope)
	return string(b), err
}

var placeholder = regexp.MustCompile(`<([A-Za-z0-9_.\-]+)>`)

// renderTemplate replaces each <name> of the template with the value of
// its InputPathsMap path: strings as they are, other values as JSON, a
// missing path as nothing.
func renderTemplate(tr *inputTransformer, envelope map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tr.InputTemplate, func(m string) string {
		name := m[1 : len(m)-1]
		path, ok := tr.InputPathsMap[name]
		if !ok {
			return m
		}
		switch v := jsonPath(envelope, path).(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	})
}

var pathStep = regexp.MustCompile(`^([^\[\]]+)((?:\[\d+\])*)$`)

// jsonPath reads "$.detail.findings[0].Title" from v; nil when absent.
func jsonPath(v any, path string) any {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return v
	}
	for _, step := range strings.Split(path, ".") {
		m := pathStep.FindStringSubmatch(step)
		if m == nil {
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[m[1]]
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			arr, ok := v.([]any)
			n, _ := strconv.Atoi(idx)
			if !ok || n >= len(arr) {
				return nil
			}
			v = arr[n]
		}
	}
	return v
}

// eventPattern is a parsed event pattern: field names to either a nested
// pattern or a list of value matchers.
type eventPattern map[string]any

func parseEventPattern(text string) (eventPattern, error) {
	var p map[string]any
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return nil, fmt.Errorf("pattern is not a JSON object: %v", err)
	}
	if err := checkPattern(p); err != nil {
		return nil, err
	}
	return p, nil
}

func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return err
			}
		case []any:
			for _, m := range v {
				if obj, ok := m.(map[string]any); ok {
					if err := checkMatcher(obj); err != nil {
						return fmt.Errorf("%s: %v", k, err)
					}
				}
			}
		default:
			return fmt.Errorf("match value for %s must be an array or an object", k)
		}
	}
	return nil
}

func checkMatcher(m map[string]any) error {
	if len(m) != 1 {
		return fmt.Errorf("a matcher object has exactly one key")
	}
	for k, v := range m {
		switch k {
		case "prefix", "suffix", "equals-ignore-case", "anything-but", "exists":
		case "numeric":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 || len(arr)%2 != 0 {
				return fmt.Errorf("numeric takes operator and value pairs")
			}
			for i := 0; i < len(arr); i += 2 {
				op, _ := arr[i].(string)
				if _, isNum := arr[i+1].(float64); !isNum || !map[string]bool{"<": true, "<=": true, "=": true, ">": true, ">=": true}[op] {
					return fmt.Errorf("numeric takes operator and value pairs")
				}
			}
		default:
			return fmt.Errorf("unrecognized match type %s", k)
		}
	}
	return nil
}

// matches says whether the event (or a part of it) matches the pattern:
// every field of the pattern must match. An array in the event matches
// when one of its elements does.
func (p eventPattern) matches(event any) bool {
	obj, ok := event.(map[string]any)
	if !ok {
		if arr, isArr := event.([]any); isArr {
			for _, e := range arr {
				if p.matches(e) {
					return true
				}
			}
		}
		return false
	}
	for k, want := range p {
		got, present := obj[k]
		switch want := want.(type) {
		case map[string]any:
			if !present || !eventPattern(want).matches(got) {
				return false
			}
		case []any:
			if !leafMatches(want, got, present) {
				return false
			}
		}
	}
	return true
}

func leafMatches(matchers []any, got any, present bool) bool {
	values := []any{got}
	if arr, ok := got.([]any); ok {
		values = arr
	}
	for _, m := range matchers {
		if obj, ok := m.(map[string]any); ok {
			if e, isExists := obj["exists"]; isExists {
				if e == present {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			if valueMatches(m, v) {
				return true
			}
		}
	}
	return false
}

func valueMatches(m, v any) bool {
	obj, ok := m.(map[string]any)
	if !ok {
		return m == v
	}
	s, isString := v.(string)
	for k, arg := range obj {
		switch k {
		case "prefix":
			p, _ := arg.(string)
			return isString && strings.HasPrefix(s, p)
		case "suffix":
			p, _ := arg.(string)
			return isString && strings.HasSuffix(s, p)
		case "equals-ignore-case":
			p, _ := arg.(string)
			return isString && strings.EqualFold(s, p)
		case "anything-but":
			list, isList := arg.([]any)
			if !isList {
				list = []any{arg}
			}
			for _, x := range list {
				if valueMatches(x, v) {
					return false
				}
			}
			return true
		case "numeric":
			n, isNum := v.(float64)
			return isNum && numericMatches(arg.([]any), n)
		}
	}
	return false
}

func numericMatches(ops []any, n float64) bool {
	for i := 0; i+1 < len(ops); i += 2 {
		op, _ := ops[i].(string)
		w, _ := ops[i+1].(float64)
		ok := map[string]bool{"<": n < w, "<=": n <= w, "=": n == w, ">": n > w, ">=": n >= w}[op]
		if !ok {
			return false
		}
	}
	return true
}

// serveInjectEvent is POST /_fakeaws/events?region=R with an Event body:
// it puts the event on R's default bus and answers the deliveries.
func (s *Server) serveInjectEvent(w http.ResponseWriter, r *http.Request) {
	region := r.URL.Query().Get("region")
	var ev Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || region == "" || ev.Source == "" {
		http.Error(w, "want ?region=R and a JSON event with source, detail-type and detail", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, map[string]any{"deliveries": orEmptyDeliveries(s.InjectEvent(region, ev))})
}

func orEmptyDeliveries(d []Delivery) []Delivery {
	if d == nil {
		return []Delivery{}
	}
	return d
}

// servePublished is GET /_fakeaws/sns/messages?topic=ARN.
func (s *Server) servePublished(w http.ResponseWriter, r *http.Request) {
	msgs := s.Published(r.URL.Query().Get("topic"))
	if msgs == nil {
		msgs = []PublishedMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, msgs)
}
