package controls

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/harden-dev/harden/internal/control"
)

// policyDoc is an IAM policy document harden writes.
type policyDoc struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id,omitempty"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    any                          `json:"Action"`
	Resource  any                          `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// samePolicy compares two policy documents as JSON values.
func samePolicy(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func keyPolicy(t control.Target) string {
	acct := t.AccountID
	trails := fmt.Sprintf("arn:aws:cloudtrail:*:%s:trail/*", acct)
	return mustJSON(policyDoc{Version: "2012-10-17", ID: "harden-log-archive", Statement: []statement{
		{Sid: "AccountAdministration", Effect: "Allow", Principal: map[string]string{"AWS": "arn:aws:iam::" + acct + ":root"},
			Action: "kms:*", Resource: "*"},
		{Sid: "CloudTrailEncryptLogs", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "kms:GenerateDataKey*", Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceArn": TrailARN(t)},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
		{Sid: "CloudTrailDescribeKey", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "kms:DescribeKey", Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceArn": TrailARN(t)}}},
		{Sid: "ConfigEncryptDeliveries", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceAccount": acct}}},
		{Sid: "AccountReadsLogs", Effect: "Allow", Principal: map[string]string{"AWS": "*"},
			Action: []string{"kms:Decrypt", "kms:ReEncryptFrom"}, Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"kms:CallerAccount": acct},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
	}})
}

// bucketStatements are the statements harden owns in the log bucket's
// policy, each known by its Sid.
func bucketStatements(bucket string, t control.Target) []statement {
	acct := t.AccountID
	arn := "arn:aws:s3:::" + bucket
	return []statement{
		{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
			Resource: []string{arn, arn + "/*"}, Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}}},
		{Sid: "CloudTrailAclCheck", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "s3:GetBucketAcl", Resource: arn, Condition: map[string]map[string]string{"StringEquals": {"aws:SourceArn": TrailARN(t)}}},
		{Sid: "CloudTrailWrite", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action:   "s3:PutObject",
			Resource: []string{arn + "/AWSLogs/" + acct + "/CloudTrail/*", arn + "/AWSLogs/" + acct + "/CloudTrail-Digest/*"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceArn": TrailARN(t), "s3:x-amz-acl": "bucket-owner-full-control"}}},
		{Sid: "ConfigAclCheck", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: []string{"s3:GetBucketAcl", "s3:ListBucket"}, Resource: arn,
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}}},
		{Sid: "ConfigWrite", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: "s3:PutObject", Resource: arn + "/AWSLogs/" + acct + "/Config/*",
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceAccount": acct, "s3:x-amz-acl": "bucket-owner-full-control"}}},
	}
}

// bucketPolicy is the policy harden writes to a bucket that has none.
func bucketPolicy(bucket string, t control.Target) string {
	return mustJSON(policyDoc{Version: "2012-10-17", Statement: bucketStatements(bucket, t)})
}

// mergedBucketPolicy returns current with harden's statements merged in by
// Sid: a statement with one of harden's Sids is replaced in place by
// harden's, every other statement is kept as it is, and harden's missing
// statements are appended. An empty current gives bucketPolicy.
func mergedBucketPolicy(current, bucket string, t control.Target) (string, error) {
	if current == "" {
		return bucketPolicy(bucket, t), nil
	}
	doc, stmts, err := parseStatements(current)
	if err != nil {
		return "", fmt.Errorf("bucket %s: %w", bucket, err)
	}
	ours := map[string]json.RawMessage{}
	var order []string
	for _, s := range bucketStatements(bucket, t) {
		ours[s.Sid] = json.RawMessage(mustJSON(s))
		order = append(order, s.Sid)
	}
	placed := map[string]bool{}
	var out []json.RawMessage
	for _, s := range stmts {
		sid := statementSid(s)
		mine, isOurs := ours[sid]
		switch {
		case !isOurs:
			out = append(out, s)
		case !placed[sid]:
			out = append(out, mine)
			placed[sid] = true
		}
	}
	for _, sid := range order {
		if !placed[sid] {
			out = append(out, ours[sid])
		}
	}
	doc["Statement"] = json.RawMessage(mustJSON(out))
	if _, ok := doc["Version"]; !ok {
		doc["Version"] = json.RawMessage(`"2012-10-17"`)
	}
	return mustJSON(doc), nil
}

// parseStatements splits a policy document into its other members and its
// statements (a single statement object counts as a list of one).
func parseStatements(policy string) (map[string]json.RawMessage, []json.RawMessage, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return nil, nil, fmt.Errorf("parse bucket policy: %w", err)
	}
	raw := doc["Statement"]
	var stmts []json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		stmts = []json.RawMessage{raw}
	} else if len(raw) > 0 {
		if err := json.Unmarshal(raw, &stmts); err != nil {
			return nil, nil, fmt.Errorf("parse bucket policy statements: %w", err)
		}
	}
	return doc, stmts, nil
}

func statementSid(s json.RawMessage) string {
	var v struct{ Sid string }
	_ = json.Unmarshal(s, &v)
	return v.Sid
}

// policySids names a policy's statements for messages: "none" when there
// is no policy, Sids in order otherwise ("(no Sid)" for unnamed ones).
func policySids(policy string) string {
	if policy == "" {
		return "no policy"
	}
	_, stmts, err := parseStatements(policy)
	if err != nil {
		return "an unreadable policy"
	}
	var sids []string
	for _, s := range stmts {
		sid := statementSid(s)
		if sid == "" {
			sid = "(no Sid)"
		}
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	return "statements " + strings.Join(sids, ", ")
}
