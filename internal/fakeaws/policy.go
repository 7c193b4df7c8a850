package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file is a small, honest evaluator for resource-based policies (S3
// bucket policies, KMS key policies) following the IAM policy grammar:
// statements with Effect Allow or Deny, Principal or NotPrincipal, Action or
// NotAction and Resource or NotResource with * and ? wildcards, and
// Conditions. An explicit Deny wins over any Allow; without a matching
// Allow the request is implicitly denied.
//
// Condition semantics follow the IAM documentation: operators in one block,
// keys under one operator and the statement's blocks are ANDed; the values
// listed for one key are ORed. A key missing from the request context makes
// a condition false, except for negated operators (StringNotEquals,
// ArnNotLike, …) and ...IfExists operators, which are then true, and Null,
// which tests for the key's absence. Condition keys are case-insensitive;
// actions are case-insensitive; resources and ARNs are case-sensitive.

// policyDocument is a parsed policy.
type policyDocument struct {
	Version    string
	ID         string
	Statements []*policyStatement
}

type policyStatement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Principal    *principalSet
	NotPrincipal *principalSet
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []policyCondition
}

// principalSet is a Principal element: "*" or {"AWS": …, "Service": …}.
type principalSet struct {
	Any    bool
	Values map[string][]string // "AWS", "Service", "Federated", "CanonicalUser"
}

type policyCondition struct {
	Operator string // base operator without IfExists or set prefix, e.g. "StringLike"
	IfExists bool
	Set      string // "", "ForAnyValue" or "ForAllValues"
	Key      string
	Values   []string
}

// policyParseOptions say which elements a policy type requires.
type policyParseOptions struct {
	// requirePrincipal: resource policies name a principal in every statement.
	requirePrincipal bool
	// requireResource: statements must have Resource or NotResource.
	requireResource bool
}

// parsePolicy parses and validates a policy document. The error message
// says what is wrong; callers wrap it in their service's error code.
func parsePolicy(text string, opts policyParseOptions) (*policyDocument, error) {
	trimmed := strings.TrimSpace(text)
	if !strings.HasPrefix(trimmed, "{") {
		return nil, fmt.Errorf("policies must be valid JSON and the first byte must be '{'")
	}
	var top map[string]json.RawMessage
	if err := strictJSON(trimmed, &top); err != nil {
		return nil, fmt.Errorf("policies must be valid JSON: %v", err)
	}
	doc := &policyDocument{}
	for k, raw := range top {
		switch k {
		case "Version":
			if err := json.Unmarshal(raw, &doc.Version); err != nil {
				return nil, fmt.Errorf("invalid Version")
			}
			if doc.Version != "2012-10-17" && doc.Version != "2008-10-17" {
				return nil, fmt.Errorf("invalid policy version %q", doc.Version)
			}
		case "Id":
			if err := json.Unmarshal(raw, &doc.ID); err != nil {
				return nil, fmt.Errorf("invalid Id")
			}
		case "Statement":
			stmts, err := parseStatements(raw, opts)
			if err != nil {
				return nil, err
			}
			doc.Statements = stmts
		default:
			return nil, fmt.Errorf("unknown field %s", k)
		}
	}
	if _, ok := top["Statement"]; !ok {
		return nil, fmt.Errorf("missing required field Statement")
	}
	return doc, nil
}

// strictJSON decodes one JSON value and rejects trailing data.
func strictJSON(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the policy")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("unexpected data after the policy")
	}
	return nil
}

func parseStatements(raw json.RawMessage, opts policyParseOptions) ([]*policyStatement, error) {
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("invalid Statement")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("missing required field Statement")
	}
	var out []*policyStatement
	for _, r := range list {
		s, err := parseStatement(r, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseStatement(raw json.RawMessage, opts policyParseOptions) (*policyStatement, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, fmt.Errorf("each statement must be a JSON object")
	}
	s := &policyStatement{}
	var err error
	for k, v := range fields {
		switch k {
		case "Sid":
			if json.Unmarshal(v, &s.Sid) != nil {
				return nil, fmt.Errorf("invalid Sid")
			}
		case "Effect":
			if json.Unmarshal(v, &s.Effect) != nil || (s.Effect != "Allow" && s.Effect != "Deny") {
				return nil, fmt.Errorf("invalid effect: %s", string(v))
			}
		case "Principal":
			if s.Principal, err = parsePrincipal(v); err != nil {
				return nil, err
			}
		case "NotPrincipal":
			if s.NotPrincipal, err = parsePrincipal(v); err != nil {
				return nil, err
			}
		case "Action":
			if s.Action, err = stringOrList(v, "Action"); err != nil {
				return nil, err
			}
		case "NotAction":
			if s.NotAction, err = stringOrList(v, "NotAction"); err != nil {
				return nil, err
			}
		case "Resource":
			if s.Resource, err = stringOrList(v, "Resource"); err != nil {
				return nil, err
			}
		case "NotResource":
			if s.NotResource, err = stringOrList(v, "NotResource"); err != nil {
				return nil, err
			}
		case "Condition":
			if s.Conditions, err = parseConditions(v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown field %s", k)
		}
	}
	if s.Effect == "" {
		return nil, fmt.Errorf("missing required field Effect")
	}
	if _, a := fields["Action"]; a == fieldPresent(fields, "NotAction") {
		return nil, fmt.Errorf("a statement must have exactly one of Action or NotAction")
	}
	if fieldPresent(fields, "Principal") && fieldPresent(fields, "NotPrincipal") {
		return nil, fmt.Errorf("a statement cannot have both Principal and NotPrincipal")
	}
	if opts.requirePrincipal && s.Principal == nil && s.NotPrincipal == nil {
		return nil, fmt.Errorf("missing required field Principal")
	}
	if fieldPresent(fields, "Resource") && fieldPresent(fields, "NotResource") {
		return nil, fmt.Errorf("a statement cannot have both Resource and NotResource")
	}
	if opts.requireResource && !fieldPresent(fields, "Resource") && !fieldPresent(fields, "NotResource") {
		return nil, fmt.Errorf("missing required field Resource")
	}
	for _, a := range append(append([]string{}, s.Action...), s.NotAction...) {
		if a != "*" && !strings.Contains(a, ":") {
			return nil, fmt.Errorf("invalid action: %s", a)
		}
	}
	return s, nil
}

func fieldPresent(fields map[string]json.RawMessage, k string) bool {
	_, ok := fields[k]
	return ok
}

// stringOrList reads a policy element that is a string or a list of strings.
func stringOrList(raw json.RawMessage, what string) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return nil, fmt.Errorf("invalid %s: must be a string or a non-empty list of strings", what)
	}
	return many, nil
}

func parsePrincipal(raw json.RawMessage) (*principalSet, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("invalid principal in policy: %q", star)
		}
		return &principalSet{Any: true}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, fmt.Errorf("invalid principal in policy")
	}
	p := &principalSet{Values: map[string][]string{}}
	for k, v := range m {
		switch k {
		case "AWS", "Service", "Federated", "CanonicalUser":
		default:
			return nil, fmt.Errorf("invalid principal type %s in policy", k)
		}
		vals, err := stringOrList(v, "Principal")
		if err != nil {
			return nil, fmt.Errorf("invalid principal in policy")
		}
		for _, s := range vals {
			if k == "AWS" && s != "*" && !awsPrincipalPattern(s) {
				return nil, fmt.Errorf("invalid principal in policy: %q", s)
			}
		}
		p.Values[k] = vals
	}
	return p, nil
}

// awsPrincipalPattern accepts a 12-digit account id or an IAM/STS ARN.
func awsPrincipalPattern(s string) bool {
	if len(s) == 12 && strings.Trim(s, "0123456789") == "" {
		return true
	}
	return strings.HasPrefix(s, "arn:aws:iam::") || strings.HasPrefix(s, "arn:aws:sts::")
}

// conditionOperators lists the operators IAM knows, each with whether it is
// negated (true when the key is missing).
var conditionOperators = map[string]bool{
	"StringEquals": false, "StringNotEquals": true,
	"StringEqualsIgnoreCase": false, "StringNotEqualsIgnoreCase": true,
	"StringLike": false, "StringNotLike": true,
	"NumericEquals": false, "NumericNotEquals": true,
	"NumericLessThan": false, "NumericLessThanEquals": false,
	"NumericGreaterThan": false, "NumericGreaterThanEquals": false,
	"DateEquals": false, "DateNotEquals": true,
	"DateLessThan": false, "DateLessThanEquals": false,
	"DateGreaterThan": false, "DateGreaterThanEquals": false,
	"Bool":         false,
	"BinaryEquals": false,
	"IpAddress":    false, "NotIpAddress": true,
	"ArnEquals": false, "ArnNotEquals": true,
	"ArnLike": false, "ArnNotLike": true,
	"Null": false,
}

func parseConditions(raw json.RawMessage) ([]policyCondition, error) {
	var blocks map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&blocks); err != nil {
		return nil, fmt.Errorf("invalid Condition: %v", err)
	}
	var out []policyCondition
	for opName, keys := range blocks {
		c := policyCondition{}
		name := opName
		if i := strings.Index(name, ":"); i >= 0 {
			c.Set = name[:i]
			if c.Set != "ForAnyValue" && c.Set != "ForAllValues" {
				return nil, fmt.Errorf("invalid Condition type: %s", opName)
			}
			name = name[i+1:]
		}
		if base, ok := strings.CutSuffix(name, "IfExists"); ok && base != "Null" {
			c.IfExists = true
			name = base
		}
		if _, ok := conditionOperators[name]; !ok {
			return nil, fmt.Errorf("invalid Condition type: %s", opName)
		}
		c.Operator = name
		for key, v := range keys {
			vals, err := conditionValues(v)
			if err != nil {
				return nil, fmt.Errorf("invalid Condition value for %s: %v", key, err)
			}
			cc := c
			cc.Key = key
			cc.Values = vals
			out = append(out, cc)
		}
	}
	return out, nil
}

// conditionValues reads a condition value: a string, number or boolean, or
// a list of them.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	scalar := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			return strconv.FormatBool(t), nil
		}
		return "", fmt.Errorf("unsupported value %v", x)
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, err := scalar(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// policyPrincipal is who makes a request: an AWS service or an IAM principal.
type policyPrincipal struct {
	Service string // service principal, e.g. "cloudtrail.amazonaws.com"
	ARN     string // IAM principal ARN, e.g. "arn:aws:iam::123456789012:user/fakeaws"
	Account string // the IAM principal's account
}

// policyRequest is one request to authorize.
type policyRequest struct {
	Principal policyPrincipal
	Action    string
	Resource  string
	// Context holds the request's condition keys; Evaluate compares keys
	// case-insensitively.
	Context map[string][]string
}

type policyDecision int

const (
	decisionImplicitDeny policyDecision = iota
	decisionAllow
	decisionExplicitDeny
)

func (d policyDecision) String() string {
	switch d {
	case decisionAllow:
		return "Allow"
	case decisionExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// evaluate decides a request against the policy.
func (d *policyDocument) evaluate(req policyRequest) policyDecision {
	ctx := map[string][]string{}
	for k, v := range req.Context {
		ctx[strings.ToLower(k)] = v
	}
	allowed := false
	for _, s := range d.Statements {
		if !s.matches(req, ctx) {
			continue
		}
		if s.Effect == "Deny" {
			return decisionExplicitDeny
		}
		allowed = true
	}
	if allowed {
		return decisionAllow
	}
	return decisionImplicitDeny
}

// allows reports whether the policy allows the request.
func (d *policyDocument) allows(req policyRequest) bool {
	return d.evaluate(req) == decisionAllow
}

func (s *policyStatement) matches(req policyRequest, ctx map[string][]string) bool {
	switch {
	case s.Principal != nil:
		if !s.Principal.matches(req.Principal) {
			return false
		}
	case s.NotPrincipal != nil:
		if s.NotPrincipal.matches(req.Principal) {
			return false
		}
	}
	if s.Action != nil && !anyMatch(s.Action, req.Action, actionMatch) {
		return false
	}
	if s.NotAction != nil && anyMatch(s.NotAction, req.Action, actionMatch) {
		return false
	}
	if s.Resource != nil && !anyMatch(s.Resource, req.Resource, resourceMatch) {
		return false
	}
	if s.NotResource != nil && anyMatch(s.NotResource, req.Resource, resourceMatch) {
		return false
	}
	for _, c := range s.Conditions {
		if !c.holds(ctx) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, s string, match func(pattern, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

func actionMatch(pattern, action string) bool { return wildcardMatch(pattern, action, true) }

func resourceMatch(pattern, resource string) bool { return wildcardMatch(pattern, resource, false) }

func (p *principalSet) matches(who policyPrincipal) bool {
	if p.Any {
		return true
	}
	for _, v := range p.Values["AWS"] {
		switch {
		case v == "*":
			return true
		case who.ARN == "":
			// A service principal is not an AWS account principal.
		case v == who.Account, v == "arn:aws:iam::"+who.Account+":root":
			return true
		case v == who.ARN:
			return true
		}
	}
	if who.Service != "" {
		for _, v := range p.Values["Service"] {
			if strings.EqualFold(v, who.Service) {
				return true
			}
		}
	}
	return false
}

func (c policyCondition) holds(ctx map[string][]string) bool {
	got, present := ctx[strings.ToLower(c.Key)]
	if c.Operator == "Null" {
		for _, v := range c.Values {
			if want, err := strconv.ParseBool(v); err == nil && want == !present {
				return true
			}
		}
		return false
	}
	negated := conditionOperators[c.Operator]
	if !present || len(got) == 0 {
		if c.Set == "ForAllValues" {
			return true
		}
		return c.IfExists || negated
	}
	one := func(v string) bool {
		for _, want := range c.Values {
			if compareCondition(c.Operator, v, want) {
				return true
			}
		}
		return false
	}
	if negated {
		// A negated operator holds for a value that matches none of the
		// listed values.
		pos := func(v string) bool { return !one(v) }
		if c.Set == "ForAnyValue" {
			return anyValue(got, pos)
		}
		return allValues(got, pos)
	}
	if c.Set == "ForAllValues" {
		return allValues(got, one)
	}
	return anyValue(got, one)
}

func anyValue(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if f(v) {
			return true
		}
	}
	return false
}

func allValues(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if !f(v) {
			return false
		}
	}
	return true
}

// compareCondition compares one request value with one policy value. For a
// negated operator it answers the positive comparison; the caller negates.
func compareCondition(op, got, want string) bool {
	switch op {
	case "StringEquals", "StringNotEquals", "BinaryEquals":
		return got == want
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(got, want)
	case "StringLike", "StringNotLike":
		return wildcardMatch(want, got, false)
	case "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike":
		return arnMatch(want, got)
	case "Bool":
		return strings.EqualFold(got, want)
	case "IpAddress", "NotIpAddress":
		ip := net.ParseIP(got)
		if ip == nil {
			return false
		}
		if !strings.Contains(want, "/") {
			return ip.Equal(net.ParseIP(want))
		}
		_, n, err := net.ParseCIDR(want)
		return err == nil && n.Contains(ip)
	}
	if strings.HasPrefix(op, "Numeric") {
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compareOrdered(strings.TrimPrefix(op, "Numeric"), g, w)
	}
	if strings.HasPrefix(op, "Date") {
		g, ok1 := parsePolicyDate(got)
		w, ok2 := parsePolicyDate(want)
		if !ok1 || !ok2 {
			return false
		}
		return compareOrdered(strings.TrimPrefix(op, "Date"), float64(g.UnixNano()), float64(w.UnixNano()))
	}
	return false
}

func compareOrdered(rel string, g, w float64) bool {
	switch rel {
	case "Equals", "NotEquals":
		return g == w
	case "LessThan":
		return g < w
	case "LessThanEquals":
		return g <= w
	case "GreaterThan":
		return g > w
	case "GreaterThanEquals":
		return g >= w
	}
	return false
}

func parsePolicyDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(int64(n), 0), true
	}
	return time.Time{}, false
}

// arnMatch matches an ARN against a pattern component by component: each of
// the six colon-separated parts is matched on its own, case-sensitively,
// with * and ? wildcards, as ArnLike and ArnEquals do. A pattern without
// colons (such as "*") is matched against the whole value.
func arnMatch(pattern, arn string) bool {
	if !strings.Contains(pattern, ":") {
		return wildcardMatch(pattern, arn, false)
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcardMatch(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}

// wildcardMatch matches s against a pattern where * matches any run of
// characters and ? exactly one.
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	p, q := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(q) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == q[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// publicConditionKeys are condition keys that, with fixed values, make a
// statement non-public in S3's Block Public Access sense.
var publicConditionKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceaccount": true, "aws:sourceowner": true, "aws:sourceip": true,
	"aws:userid": true, "aws:principalarn": true, "aws:principalaccount": true,
	"aws:principalorgid": true, "aws:principalorgpaths": true,
	"aws:principalservicename": true, "s3:dataaccesspointarn": true,
	"s3:dataaccesspointaccount": true,
}

// isPublic reports whether the policy grants access to everyone, as S3's
// BlockPublicPolicy judges it: an Allow statement for "*" (or NotPrincipal)
// that no fixed-value condition on a limiting key narrows.
func (d *policyDocument) isPublic() bool {
	for _, s := range d.Statements {
		if s.Effect != "Allow" {
			continue
		}
		wide := s.NotPrincipal != nil || (s.Principal != nil && (s.Principal.Any || contains(s.Principal.Values["AWS"], "*")))
		if !wide {
			continue
		}
		narrowed := false
		for _, c := range s.Conditions {
			if conditionOperators[c.Operator] || !publicConditionKeys[strings.ToLower(c.Key)] {
				continue
			}
			fixed := true
			for _, v := range c.Values {
				if strings.ContainsAny(v, "*?") || v == "0.0.0.0/0" || v == "::/0" {
					fixed = false
				}
			}
			if fixed {
				narrowed = true
			}
		}
		if !narrowed {
			return true
		}
	}
	return false
}
