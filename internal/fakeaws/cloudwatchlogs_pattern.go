package fakeaws

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// filterPattern is a parsed CloudWatch Logs filter pattern. fakeaws
// implements the JSON form the CIS monitoring filters use —
// "{ ($.a = "x") && ($.b != y*) || $.c NOT EXISTS }" with parentheses,
// && binding tighter than || ("() > && > ||"), quoted or bare values, "*"
// wildcards at the start or end of a value, numeric comparisons, IS NULL,
// IS TRUE, IS FALSE and NOT EXISTS / EXISTS — and the plain form where
// every term must appear in the message. An empty pattern matches
// everything. The rules are the CloudWatch Logs user guide's "Filter and
// pattern syntax" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
// "*Event" matches PutEvent, "Event*" EventId, but "Ev*ent only matches
// the actual string Ev*ent"; a selector that points to an array or an
// object matches neither = nor != ("{$.users = 1} and {$.users != 1} will
// fail to match" an array).
type filterPattern struct {
	json  *patternNode
	terms []string
}

// patternNode is an && / || node or a comparison leaf.
type patternNode struct {
	op          string // "&&", "||" or "" for a leaf
	left, right *patternNode
	selector    []string // field path: ["userIdentity", "type"], array indexes as "[0]"
	cmp         string   // "=", "!=", "<", "<=", ">", ">=", "EXISTS", "NOT EXISTS", "IS NULL", "IS TRUE", "IS FALSE"
	value       string
}

func parseFilterPattern(s string) (*filterPattern, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return &filterPattern{terms: plainTerms(s)}, nil
	}
	if !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("a JSON pattern must end with }")
	}
	p := &patternParser{toks: tokenizePattern(s[1 : len(s)-1])}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return &filterPattern{json: n}, nil
}

func plainTerms(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		out = append(out, strings.Trim(f, `"`))
	}
	return out
}

// tokenizePattern splits a JSON pattern's body into parentheses,
// operators, quoted strings and bare words.
func tokenizePattern(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case unicode.IsSpace(rune(c)):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") || strings.HasPrefix(s[i:], "!=") ||
			strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '=' || c == '<' || c == '>':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			toks = append(toks, s[i:min(j+1, len(s))])
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("()=!<>&|\"", rune(s[j])) {
				j++
			}
			if j == i {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type patternParser struct {
	toks []string
	pos  int
}

func (p *patternParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *patternParser) next() string { t := p.peek(); p.pos++; return t }

func (p *patternParser) or() (*patternNode, error) {
	left, err := p.and()
	for err == nil && p.peek() == "||" {
		p.next()
		var right *patternNode
		if right, err = p.and(); err == nil {
			left = &patternNode{op: "||", left: left, right: right}
		}
	}
	return left, err
}

func (p *patternParser) and() (*patternNode, error) {
	left, err := p.unary()
	for err == nil && p.peek() == "&&" {
		p.next()
		var right *patternNode
		if right, err = p.unary(); err == nil {
			left = &patternNode{op: "&&", left: left, right: right}
		}
	}
	return left, err
}

func (p *patternParser) unary() (*patternNode, error) {
	if p.peek() == "(" {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return n, nil
	}
	return p.comparison()
}

func (p *patternParser) comparison() (*patternNode, error) {
	sel := p.next()
	if !strings.HasPrefix(sel, "$") {
		return nil, fmt.Errorf("expected a $. selector, got %q", sel)
	}
	path, err := selectorPath(sel)
	if err != nil {
		return nil, err
	}
	n := &patternNode{selector: path}
	switch op := p.next(); op {
	case "=", "!=", "<", "<=", ">", ">=":
		v := p.next()
		if v == "" || v == ")" || v == "&&" || v == "||" {
			return nil, fmt.Errorf("%s needs a value", op)
		}
		n.cmp, n.value = op, unquote(v)
	case "NOT":
		if p.next() != "EXISTS" {
			return nil, fmt.Errorf("NOT must be followed by EXISTS")
		}
		n.cmp = "NOT EXISTS"
	case "EXISTS":
		n.cmp = "EXISTS"
	case "IS":
		switch v := p.next(); v {
		case "NULL", "TRUE", "FALSE":
			n.cmp = "IS " + v
		default:
			return nil, fmt.Errorf("IS must be followed by NULL, TRUE or FALSE, got %q", v)
		}
	default:
		return nil, fmt.Errorf("unexpected %q after %s", op, sel)
	}
	return n, nil
}

func selectorPath(sel string) ([]string, error) {
	rest := strings.TrimPrefix(sel, "$")
	var out []string
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			j := strings.IndexAny(rest, ".[")
			if j < 0 {
				j = len(rest)
			}
			if j == 0 {
				return nil, fmt.Errorf("empty field in %s", sel)
			}
			out = append(out, rest[:j])
			rest = rest[j:]
		case '[':
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, fmt.Errorf("missing ] in %s", sel)
			}
			out = append(out, rest[:j+1])
			rest = rest[j+1:]
		default:
			return nil, fmt.Errorf("bad selector %s", sel)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}

// matchMessage reports whether a log event's message matches.
func (p *filterPattern) matchMessage(msg string) bool {
	if p.json == nil {
		for _, t := range p.terms {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		return true
	}
	var doc any
	if err := json.Unmarshal([]byte(msg), &doc); err != nil {
		return false
	}
	return p.json.match(doc)
}

func (n *patternNode) match(doc any) bool {
	switch n.op {
	case "&&":
		return n.left.match(doc) && n.right.match(doc)
	case "||":
		return n.left.match(doc) || n.right.match(doc)
	}
	v, ok := lookup(doc, n.selector)
	switch n.cmp {
	case "EXISTS":
		return ok
	case "NOT EXISTS":
		return !ok
	}
	// A comparison on a field the event does not have never matches,
	// "!=" included.
	if !ok {
		return false
	}
	switch n.cmp {
	case "IS NULL":
		return v == nil
	case "IS TRUE", "IS FALSE":
		b, isBool := v.(bool)
		return isBool && b == (n.cmp == "IS TRUE")
	}
	// A selector must point to a value node: on an array or an object
	// neither = nor != matches.
	switch v.(type) {
	case []any, map[string]any:
		return false
	}
	switch n.cmp {
	case "=":
		return patternValueMatches(v, n.value)
	case "!=":
		return !patternValueMatches(v, n.value)
	}
	num, isNum := v.(float64)
	want, err := strconv.ParseFloat(n.value, 64)
	if !isNum || err != nil {
		return false
	}
	switch n.cmp {
	case "<":
		return num < want
	case "<=":
		return num <= want
	case ">":
		return num > want
	}
	return num >= want
}

func lookup(doc any, sel []string) (any, bool) {
	cur := doc
	for _, part := range sel {
		if strings.HasPrefix(part, "[") {
			arr, ok := cur.([]any)
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if !ok || err != nil || i < 0 || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// patternValueMatches compares a JSON value with a pattern value, a "*"
// at the start or the end of it matching any run of characters.
func patternValueMatches(v any, want string) bool {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		if w, err := strconv.ParseFloat(want, 64); err == nil {
			return x == w
		}
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	case nil:
		return want == "NULL"
	default:
		return false
	}
	return patternWildcardMatch(want, s)
}

// patternWildcardMatch matches s against want, where a "*" at the start or the
// end of want matches any run of characters and one anywhere else is
// itself.
func patternWildcardMatch(want, s string) bool {
	lead := strings.HasPrefix(want, "*")
	want = strings.TrimPrefix(want, "*")
	trail := strings.HasSuffix(want, "*")
	want = strings.TrimSuffix(want, "*")
	switch {
	case lead && trail:
		return strings.Contains(s, want)
	case lead:
		return strings.HasSuffix(s, want)
	case trail:
		return strings.HasPrefix(s, want)
	}
	return s == want
}
