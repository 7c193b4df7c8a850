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

// archiveWriters are the registered controls that deliver to the log
// archive, in registry order. The archive grants what every one of them
// needs whichever controls a run selects: applying log-archive alone never
// takes away a grant a writer applied earlier relies on, and a run of one
// writer finds the archive ready for it.
func archiveWriters() []control.ArchiveWriter {
	var out []control.ArchiveWriter
	for _, c := range All() {
		if w, ok := c.(control.ArchiveWriter); ok {
			out = append(out, w)
		}
	}
	return out
}

// archiveWriterNames names the archive writers for plans: "cloudtrail,
// config-recorder and vpc-flow-logs".
func archiveWriterNames() string {
	var ids []string
	for _, w := range archiveWriters() {
		if c, ok := w.(control.Control); ok {
			ids = append(ids, c.Info().ID)
		}
	}
	if len(ids) < 2 {
		return strings.Join(ids, "")
	}
	return strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1]
}

// formatOneWriters are the writers the archive granted when journals of
// format 1 were written (they record no after state): CloudTrail and
// Config. Rollback of such a journal compares with what those grants made.
func formatOneWriters() []control.ArchiveWriter {
	return []control.ArchiveWriter{CloudTrail{}, ConfigRecorder{}}
}

// grantStatements renders writers' grants of one policy as statements, in
// writer order. A single action or object is written as a string, several
// as a list; a bucket grant without objects covers the bucket itself, a key
// grant the key ("*").
func grantStatements(writers []control.ArchiveWriter, policy control.ArchivePolicy, bucket string, t control.Target) []statement {
	arn := "arn:aws:s3:::" + bucket
	var out []statement
	for _, w := range writers {
		for _, g := range w.ArchiveGrants(t) {
			if g.Policy != policy {
				continue
			}
			s := statement{Sid: g.Sid, Effect: "Allow", Principal: map[string]string{"Service": g.Service},
				Action: oneOrList(g.Actions), Condition: g.Condition}
			switch {
			case len(g.Objects) > 0:
				var objects []string
				for _, o := range g.Objects {
					objects = append(objects, arn+"/"+o)
				}
				s.Resource = oneOrList(objects)
			case policy == control.BucketPolicy:
				s.Resource = arn
			default:
				s.Resource = "*"
			}
			out = append(out, s)
		}
	}
	return out
}

func oneOrList(items []string) any {
	if len(items) == 1 {
		return items[0]
	}
	return items
}

// keyPolicy is the log-archive key's policy: the account administers the
// key, every archive writer's service encrypts with it as it declares, and
// the account's principals read CloudTrail's log files.
func keyPolicy(t control.Target) string {
	return keyPolicyOf(archiveWriters(), t)
}

func keyPolicyOf(writers []control.ArchiveWriter, t control.Target) string {
	acct := t.AccountID
	trails := fmt.Sprintf("arn:aws:cloudtrail:*:%s:trail/*", acct)
	stmts := []statement{{Sid: "AccountAdministration", Effect: "Allow", Principal: map[string]string{"AWS": "arn:aws:iam::" + acct + ":root"},
		Action: "kms:*", Resource: "*"}}
	stmts = append(stmts, grantStatements(writers, control.KeyPolicy, "", t)...)
	stmts = append(stmts, statement{Sid: "AccountReadsLogs", Effect: "Allow", Principal: map[string]string{"AWS": "*"},
		Action: []string{"kms:Decrypt", "kms:ReEncryptFrom"}, Resource: "*", Condition: map[string]map[string]string{
			"StringEquals": {"kms:CallerAccount": acct},
			"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}})
	return mustJSON(policyDoc{Version: "2012-10-17", ID: "harden-log-archive", Statement: stmts})
}

// bucketStatements are the statements harden owns in the log bucket's
// policy, each known by its Sid: TLS only, then each archive writer's.
func bucketStatements(bucket string, t control.Target) []statement {
	return bucketStatementsOf(archiveWriters(), bucket, t)
}

func bucketStatementsOf(writers []control.ArchiveWriter, bucket string, t control.Target) []statement {
	arn := "arn:aws:s3:::" + bucket
	return append([]statement{
		{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
			Resource: []string{arn, arn + "/*"}, Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}}},
	}, grantStatements(writers, control.BucketPolicy, bucket, t)...)
}

// bucketPolicy is the policy harden writes to a bucket that has none.
func bucketPolicy(bucket string, t control.Target) string {
	return bucketPolicyOf(archiveWriters(), bucket, t)
}

func bucketPolicyOf(writers []control.ArchiveWriter, bucket string, t control.Target) string {
	return mustJSON(policyDoc{Version: "2012-10-17", Statement: bucketStatementsOf(writers, bucket, t)})
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
