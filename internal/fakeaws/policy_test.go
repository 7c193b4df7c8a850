package fakeaws

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *policyDocument {
	t.Helper()
	doc, err := parsePolicy(text, policyParseOptions{requirePrincipal: true, requireResource: true})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return doc
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"s3:Get*", "s3:GetBucketAcl", false, true},
		{"s3:Get*", "s3:PutObject", false, false},
		{"s3:get*", "s3:GetBucketAcl", true, true},
		{"s3:get*", "s3:GetBucketAcl", false, false},
		{"kms:GenerateDataKey*", "kms:GenerateDataKey", true, true},
		{"kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", true, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"arn:aws:s3:::b/AWSLogs/1/*", "arn:aws:s3:::b/AWSLogs/1/CloudTrail/x", false, true},
		{"arn:aws:s3:::b/AWSLogs/1/*", "arn:aws:s3:::b/AWSLogs/2/CloudTrail/x", false, false},
		{"*a*b*", "xxaxxbxx", false, true},
		{"*a*b", "xxaxxbxxc", false, false},
		{"exact", "exact", false, true},
		{"exact", "exactly", false, false},
	} {
		if got := wildcardMatch(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

func TestArnMatchIsPerComponent(t *testing.T) {
	trail := "arn:aws:cloudtrail:us-east-1:123456789012:trail/harden"
	for pattern, want := range map[string]bool{
		"arn:aws:cloudtrail:*:123456789012:trail/*":         true,
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/*": true,
		"arn:aws:cloudtrail:eu-west-1:123456789012:trail/*": false,
		"arn:aws:cloudtrail:*:999999999999:trail/*":         false,
		"arn:aws:cloudtrail:*:*:trail/harden":               true,
		"arn:aws:cloudtrail:*:*:trail/Harden":               false,
		// A * in one component does not swallow the colons of others.
		"arn:aws:*:trail/harden": false,
		trail:                    true,
	} {
		if got := arnMatch(pattern, trail); got != want {
			t.Errorf("arnMatch(%q) = %v, want %v", pattern, got, want)
		}
	}
}

func TestPolicyParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"not json":          `nope`,
		"array":             `[]`,
		"trailing data":     `{"Statement":[]} {}`,
		"no statement":      `{"Version":"2012-10-17"}`,
		"empty statement":   `{"Statement":[]}`,
		"bad version":       `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`,
		"bad effect":        `{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:*","Resource":"*"}}`,
		"no effect":         `{"Statement":{"Principal":"*","Action":"s3:*","Resource":"*"}}`,
		"no action":         `{"Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}`,
		"action+notaction":  `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}`,
		"no principal":      `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
		"bad principal":     `{"Statement":{"Effect":"Allow","Principal":"someone","Action":"s3:*","Resource":"*"}}`,
		"bad principal key": `{"Statement":{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"s3:*","Resource":"*"}}`,
		"bad aws principal": `{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:*","Resource":"*"}}`,
		"no resource":       `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*"}}`,
		"bad action":        `{"Statement":{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"*"}}`,
		"bad operator":      `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}}`,
		"bad set operator":  `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ForSome:StringEquals":{"a":"b"}}}}`,
		"unknown field":     `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Colour":"red"}}`,
	} {
		if _, err := parsePolicy(text, policyParseOptions{requirePrincipal: true, requireResource: true}); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	// Identity-style documents (no Principal) parse when not required.
	if _, err := parsePolicy(`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, policyParseOptions{}); err != nil {
		t.Errorf("identity policy: %v", err)
	}
}

func TestPolicyEvaluation(t *testing.T) {
	const bucket = "arn:aws:s3:::logs"
	trail := "arn:aws:cloudtrail:us-east-1:123456789012:trail/harden"
	doc := mustParse(t, `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Effect": "Allow", "Principal": {"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]},
	     "Action": "s3:GetBucketAcl", "Resource": "`+bucket+`"},
	    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
	     "Action": ["s3:PutObject"], "Resource": "`+bucket+`/AWSLogs/123456789012/*",
	     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"},
	                   "ArnLike": {"aws:SourceArn": ["arn:aws:cloudtrail:*:123456789012:trail/other", "arn:aws:cloudtrail:*:123456789012:trail/harden"]}}},
	    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["`+bucket+`", "`+bucket+`/*"],
	     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
	    {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "NotAction": "s3:Delete*", "Resource": "*"}
	  ]}`)
	ct := policyPrincipal{Service: "cloudtrail.amazonaws.com"}
	object := bucket + "/AWSLogs/123456789012/CloudTrail/us-east-1/log.json.gz"
	good := map[string][]string{"s3:x-amz-acl": {"bucket-owner-full-control"}, "aws:SourceArn": {trail}, "aws:SecureTransport": {"true"}}
	with := func(k, v string) map[string][]string {
		m := map[string][]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = []string{v}
		}
		return m
	}
	user := policyPrincipal{ARN: "arn:aws:iam::123456789012:user/fakeaws", Account: "123456789012"}
	stranger := policyPrincipal{ARN: "arn:aws:iam::999999999999:user/x", Account: "999999999999"}
	for _, tc := range []struct {
		name string
		req  policyRequest
		want policyDecision
	}{
		{"acl check by cloudtrail", policyRequest{ct, "s3:GetBucketAcl", bucket, good}, decisionAllow},
		{"action names are case-insensitive", policyRequest{ct, "S3:getbucketacl", bucket, good}, decisionAllow},
		{"acl check by config", policyRequest{policyPrincipal{Service: "config.amazonaws.com"}, "s3:GetBucketAcl", bucket, nil}, decisionAllow},
		{"acl check by another service", policyRequest{policyPrincipal{Service: "guardduty.amazonaws.com"}, "s3:GetBucketAcl", bucket, nil}, decisionImplicitDeny},
		{"log write", policyRequest{ct, "s3:PutObject", object, good}, decisionAllow},
		{"log write, second listed SourceArn", policyRequest{ct, "s3:PutObject", object, with("aws:SourceArn", "arn:aws:cloudtrail:eu-west-1:123456789012:trail/other")}, decisionAllow},
		{"log write, other trail", policyRequest{ct, "s3:PutObject", object, with("aws:SourceArn", "arn:aws:cloudtrail:us-east-1:123456789012:trail/nope")}, decisionImplicitDeny},
		{"log write, no SourceArn", policyRequest{ct, "s3:PutObject", object, with("aws:SourceArn", "")}, decisionImplicitDeny},
		{"log write, other acl", policyRequest{ct, "s3:PutObject", object, with("s3:x-amz-acl", "private")}, decisionImplicitDeny},
		{"log write, other account prefix", policyRequest{ct, "s3:PutObject", bucket + "/AWSLogs/999999999999/x", good}, decisionImplicitDeny},
		{"log write over plain HTTP", policyRequest{ct, "s3:PutObject", object, with("aws:SecureTransport", "false")}, decisionExplicitDeny},
		{"account principal, allowed action", policyRequest{user, "s3:GetObject", object, good}, decisionAllow},
		{"account principal, NotAction", policyRequest{user, "s3:DeleteBucket", bucket, good}, decisionImplicitDeny},
		{"account principal over plain HTTP", policyRequest{user, "s3:GetObject", object, with("aws:SecureTransport", "false")}, decisionExplicitDeny},
		{"other account", policyRequest{stranger, "s3:GetObject", object, good}, decisionImplicitDeny},
		{"account grant is not a service grant", policyRequest{policyPrincipal{Service: "123456789012"}, "s3:GetObject", object, good}, decisionImplicitDeny},
	} {
		if got := doc.evaluate(tc.req); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConditionOperators(t *testing.T) {
	eval := func(cond string, ctx map[string][]string) bool {
		t.Helper()
		doc := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":`+cond+`}}`)
		return doc.allows(policyRequest{Principal: policyPrincipal{Service: "s.amazonaws.com"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx})
	}
	acct := map[string][]string{"aws:SourceAccount": {"123456789012"}}
	none := map[string][]string{}
	for _, tc := range []struct {
		cond string
		ctx  map[string][]string
		want bool
	}{
		{`{"StringEquals":{"aws:SourceAccount":"123456789012"}}`, acct, true},
		{`{"StringEquals":{"AWS:SOURCEACCOUNT":"123456789012"}}`, acct, true},
		{`{"StringEquals":{"aws:SourceAccount":["1","123456789012"]}}`, acct, true},
		{`{"StringEquals":{"aws:SourceAccount":123456789012}}`, acct, true},
		{`{"StringEquals":{"aws:SourceAccount":"1234567890*"}}`, acct, false},
		{`{"StringLike":{"aws:SourceAccount":"1234567890*"}}`, acct, true},
		{`{"StringEquals":{"aws:SourceAccount":"123456789012"}}`, none, false},
		{`{"StringNotEquals":{"aws:SourceAccount":"999999999999"}}`, acct, true},
		{`{"StringNotEquals":{"aws:SourceAccount":"123456789012"}}`, acct, false},
		{`{"StringNotEquals":{"aws:SourceAccount":"123456789012"}}`, none, true},
		{`{"StringEqualsIfExists":{"aws:SourceAccount":"999999999999"}}`, none, true},
		{`{"StringEqualsIfExists":{"aws:SourceAccount":"999999999999"}}`, acct, false},
		{`{"StringEqualsIgnoreCase":{"x":"ABC"}}`, map[string][]string{"x": {"abc"}}, true},
		{`{"Null":{"aws:SourceAccount":"true"}}`, none, true},
		{`{"Null":{"aws:SourceAccount":"true"}}`, acct, false},
		{`{"Null":{"aws:SourceAccount":"false"}}`, acct, true},
		{`{"Bool":{"aws:SecureTransport":"true"}}`, map[string][]string{"aws:SecureTransport": {"true"}}, true},
		{`{"Bool":{"aws:SecureTransport":true}}`, map[string][]string{"aws:SecureTransport": {"true"}}, true},
		{`{"Bool":{"aws:SecureTransport":"false"}}`, map[string][]string{"aws:SecureTransport": {"true"}}, false},
		{`{"ArnEquals":{"aws:SourceArn":"arn:aws:cloudtrail:*:1:trail/*"}}`, map[string][]string{"aws:SourceArn": {"arn:aws:cloudtrail:us-east-1:1:trail/t"}}, true},
		{`{"ArnNotLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:1:trail/*"}}`, map[string][]string{"aws:SourceArn": {"arn:aws:cloudtrail:us-east-1:1:trail/t"}}, false},
		{`{"ArnNotLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:1:trail/*"}}`, none, true},
		{`{"NumericLessThan":{"s3:max-keys":"10"}}`, map[string][]string{"s3:max-keys": {"5"}}, true},
		{`{"NumericLessThan":{"s3:max-keys":"10"}}`, map[string][]string{"s3:max-keys": {"50"}}, false},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, map[string][]string{"aws:CurrentTime": {"2024-06-01T00:00:00Z"}}, true},
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SourceIp": {"10.1.2.3"}}, true},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SourceIp": {"10.1.2.3"}}, false},
		// Two keys under one operator and two operators are ANDed.
		{`{"StringEquals":{"aws:SourceAccount":"123456789012","x":"y"}}`, acct, false},
		{`{"StringEquals":{"aws:SourceAccount":"123456789012"},"Bool":{"aws:SecureTransport":"true"}}`, acct, false},
		{`{"ForAnyValue:StringEquals":{"tags":["a","b"]}}`, map[string][]string{"tags": {"c", "b"}}, true},
		{`{"ForAllValues:StringEquals":{"tags":["a","b"]}}`, map[string][]string{"tags": {"c", "b"}}, false},
		{`{"ForAllValues:StringEquals":{"tags":["a","b"]}}`, map[string][]string{"tags": {"a", "b"}}, true},
		{`{"ForAllValues:StringEquals":{"tags":["a","b"]}}`, none, true},
	} {
		if got := eval(tc.cond, tc.ctx); got != tc.want {
			t.Errorf("%s with %v = %v, want %v", tc.cond, tc.ctx, got, tc.want)
		}
	}
}

func TestPrincipalsAndNotPrincipal(t *testing.T) {
	user := policyPrincipal{ARN: "arn:aws:iam::123456789012:user/fakeaws", Account: "123456789012"}
	svc := policyPrincipal{Service: "cloudtrail.amazonaws.com"}
	for _, tc := range []struct {
		principal string
		who       policyPrincipal
		want      bool
	}{
		{`"Principal":"*"`, user, true},
		{`"Principal":"*"`, svc, true},
		{`"Principal":{"AWS":"*"}`, svc, true},
		{`"Principal":{"AWS":"arn:aws:iam::123456789012:root"}`, user, true},
		{`"Principal":{"AWS":"arn:aws:iam::123456789012:root"}`, svc, false},
		{`"Principal":{"AWS":"123456789012"}`, user, true},
		{`"Principal":{"AWS":"arn:aws:iam::123456789012:user/fakeaws"}`, user, true},
		{`"Principal":{"AWS":"arn:aws:iam::123456789012:user/other"}`, user, false},
		{`"Principal":{"Service":"CloudTrail.amazonaws.com"}`, svc, true},
		{`"Principal":{"Service":"cloudtrail.amazonaws.com"}`, user, false},
		{`"NotPrincipal":{"Service":"cloudtrail.amazonaws.com"}`, svc, false},
		{`"NotPrincipal":{"Service":"cloudtrail.amazonaws.com"}`, user, true},
	} {
		doc := mustParse(t, `{"Statement":{"Effect":"Allow",`+tc.principal+`,"Action":"kms:*","Resource":"*"}}`)
		if got := doc.allows(policyRequest{Principal: tc.who, Action: "kms:PutKeyPolicy", Resource: "arn:aws:kms:us-east-1:123456789012:key/k"}); got != tc.want {
			t.Errorf("%s for %+v = %v, want %v", tc.principal, tc.who, got, tc.want)
		}
	}
}

func TestNotResourceAndDenyWins(t *testing.T) {
	doc := mustParse(t, `{"Statement":[
	  {"Effect":"Allow","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::b/secret/*"},
	  {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
	  {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/private/*"}]}`)
	who := policyPrincipal{Service: "x.amazonaws.com"}
	for res, want := range map[string]policyDecision{
		"arn:aws:s3:::b/public/k":  decisionAllow,
		"arn:aws:s3:::b/secret/k":  decisionAllow, // second statement still allows
		"arn:aws:s3:::b/private/k": decisionExplicitDeny,
	} {
		if got := doc.evaluate(policyRequest{Principal: who, Action: "s3:GetObject", Resource: res}); got != want {
			t.Errorf("%s: %v, want %v", res, got, want)
		}
	}
	if got := doc.evaluate(policyRequest{Principal: who, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/secret/k"}); got != decisionImplicitDeny {
		t.Errorf("PutObject under NotResource: %v", got)
	}
}

func TestIsPublic(t *testing.T) {
	stmt := func(principal, cond string) string {
		s := `{"Statement":{"Effect":"Allow",` + principal + `,"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
		if cond != "" {
			s += `,"Condition":` + cond
		}
		return s + `}}`
	}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{stmt(`"Principal":"*"`, ""), true},
		{stmt(`"Principal":{"AWS":"*"}`, ""), true},
		{stmt(`"Principal":{"AWS":"123456789012"}`, ""), false},
		{stmt(`"Principal":{"Service":"cloudtrail.amazonaws.com"}`, ""), false},
		{stmt(`"Principal":"*"`, `{"StringEquals":{"aws:SourceAccount":"123456789012"}}`), false},
		{stmt(`"Principal":"*"`, `{"StringLike":{"aws:SourceAccount":"*"}}`), true},
		{stmt(`"Principal":"*"`, `{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}`), false},
		{stmt(`"Principal":"*"`, `{"Bool":{"aws:SecureTransport":"true"}}`), true},
		{stmt(`"Principal":"*"`, `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), true},
		{stmt(`"Principal":"*"`, `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), false},
		{strings.Replace(stmt(`"Principal":"*"`, ""), `"Allow"`, `"Deny"`, 1), false},
	} {
		if got := mustParse(t, tc.text).isPublic(); got != tc.want {
			t.Errorf("isPublic(%s) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
