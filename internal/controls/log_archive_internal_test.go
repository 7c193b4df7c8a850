package controls

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/control"
)

func TestSettingUndo(t *testing.T) {
	restore := func(context.Context) error { return nil }
	on, off, none := settingValue{"on", "on"}, settingValue{"off", "off"}, settingValue{"none", "not set"}
	for _, tc := range []struct {
		cur, after, prior settingValue
		verdict           control.Verdict
		says              string
	}{
		{on, on, none, control.Restore, "restore x (on → not set)"},
		{none, on, none, control.Already, "x is already not set"},
		{off, on, none, control.Drifted, "x: harden set on, now off"},
	} {
		u := settingUndo("x", tc.cur, tc.after, tc.prior, restore)
		if u.Verdict != tc.verdict || u.What != tc.says || u.Do == nil != (tc.verdict == control.Already) {
			t.Errorf("settingUndo(%v, %v, %v) = %+v", tc.cur, tc.after, tc.prior, u)
		}
	}
}

func TestNotHardensBucket(t *testing.T) {
	hardens := map[string]string{"managed-by": "harden", "harden-run": "r1"}
	for _, tc := range []struct {
		name string
		tags map[string]string
		step control.Step
		ok   bool
	}{
		{"this run", hardens, control.Step{RunID: "r1", Done: true}, true},
		{"this run, unconfirmed", hardens, control.Step{RunID: "r1"}, true},
		{"another run", hardens, control.Step{RunID: "r2", Done: true}, false},
		{"no tags", map[string]string{}, control.Step{RunID: "r1", Done: true}, false},
		{"someone else's managed-by", map[string]string{"managed-by": "terraform"}, control.Step{Done: true}, false},
		{"format 1: managed-by only", map[string]string{"managed-by": "harden"}, control.Step{Done: true}, true},
		{"managed-by only, unconfirmed", map[string]string{"managed-by": "harden"}, control.Step{RunID: "r1"}, false},
	} {
		if got := notHardensBucket(tc.tags, tc.step); (got == "") != tc.ok {
			t.Errorf("%s: %q, want ok=%v", tc.name, got, tc.ok)
		}
	}
}

func TestMergedBucketPolicy(t *testing.T) {
	tg := control.Target{AccountID: "123456789012", Region: "us-east-1", HomeRegion: "us-east-1"}
	ours := bucketPolicy("b", tg)
	partner := `{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/x/*"}`
	staleTLS := `{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
	for _, tc := range []struct {
		name, current string
		wantSids      string
	}{
		{"no policy", "", "statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite"},
		{"already merged", ours, "statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite"},
		{"foreign statement kept", `{"Version":"2012-10-17","Id":"team","Statement":[` + partner + `]}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite, Partner"},
		{"single statement object", `{"Version":"2012-10-17","Statement":` + partner + `}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite, Partner"},
		{"harden's Sid replaced, not doubled", `{"Version":"2012-10-17","Statement":[` + staleTLS + `,` + partner + `]}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite, Partner"},
	} {
		got, err := mergedBucketPolicy(tc.current, "b", tg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if sids := policySids(got); sids != tc.wantSids {
			t.Errorf("%s: %s, want %s", tc.name, sids, tc.wantSids)
		}
		if strings.Contains(tc.current, "Partner") && !strings.Contains(got, `"Sid":"Partner"`) {
			t.Errorf("%s: partner statement lost: %s", tc.name, got)
		}
		if strings.Contains(got, `"Resource":"arn:aws:s3:::b/*","Condition"`) {
			t.Errorf("%s: stale harden statement kept: %s", tc.name, got)
		}
		again, _ := mergedBucketPolicy(got, "b", tg)
		if !samePolicy(again, got) {
			t.Errorf("%s: merging twice changes the policy", tc.name)
		}
	}
	if _, err := mergedBucketPolicy("{not json", "b", tg); err == nil {
		t.Error("an unreadable policy was merged")
	}
}

func TestWithRetention(t *testing.T) {
	str := func(s string) *string { return &s }
	days := func(d int32) *int32 { return &d }
	user := lifecycleRule{ID: str("user-tmp"), Status: "Enabled", Filter: &lifecycleFilter{Prefix: str("tmp/")}, Expiration: &lifecycleExpiration{Days: days(30)}}
	legacy := lifecycleRule{ID: str("legacy"), Status: "Enabled", Prefix: str("old/"), Expiration: &lifecycleExpiration{Days: days(30)}}
	wholeBucket := lifecycleRule{ID: str(retentionRuleID), Status: "Enabled", Filter: &lifecycleFilter{Prefix: str("")},
		Expiration: &lifecycleExpiration{Days: days(365)}, NoncurrentVersionExpiration: &noncurrentExpiration{NoncurrentDays: days(365)}}
	for _, tc := range []struct {
		name       string
		rules      []lifecycleRule
		want       int
		basePrefix bool
	}{
		{"no rules", nil, 1, false},
		{"user rule kept", []lifecycleRule{user}, 2, false},
		{"former whole-bucket rule narrowed", []lifecycleRule{user, wholeBucket}, 2, false},
		{"legacy rules get a legacy-form rule", []lifecycleRule{legacy}, 2, true},
	} {
		got := withRetention(tc.rules, 90)
		if len(got) != tc.want || !hasRetention(got, 90) || hasRetention(got, 91) {
			t.Errorf("%s: %s", tc.name, mustJSON(got))
			continue
		}
		mine := got[len(got)-1]
		prefix := mine.Prefix
		if mine.Filter != nil {
			prefix = mine.Filter.Prefix
		}
		if (mine.Prefix != nil) != tc.basePrefix || prefix == nil || *prefix != logPrefix {
			t.Errorf("%s: harden's rule %s", tc.name, mustJSON(mine))
		}
		for _, r := range got[:len(got)-1] {
			if *r.ID == retentionRuleID {
				t.Errorf("%s: harden's former rule kept", tc.name)
			}
		}
	}
	if hasRetention([]lifecycleRule{user, wholeBucket}, 365) {
		t.Error("a whole-bucket rule counts as harden's AWSLogs/ retention")
	}
}

// The policies derived from CloudTrail's and Config's grants are, byte for
// byte, those harden wrote before the grants were derived (and before
// vpc-flow-logs): journals and adopted policies of earlier versions still
// compare equal, Sid by Sid.
func TestArchivePoliciesBeforeFlowLogs(t *testing.T) {
	tg := control.Target{AccountID: "123456789012", Region: "eu-west-1", HomeRegion: "us-east-1"}
	for name, got := range map[string]string{
		"key":    keyPolicyOf(formatOneWriters(), tg),
		"bucket": bucketPolicyOf(formatOneWriters(), "b", tg),
	} {
		want, err := os.ReadFile("testdata/archive_policy_before_flowlogs." + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, want); err != nil {
			t.Fatal(err)
		}
		if got != compact.String() {
			t.Errorf("%s policy changed:\n got %s\nwant %s", name, got, compact.String())
		}
	}
	// Today's policies add the flow logs' statements: at the end of the
	// bucket policy (merged by Sid into an existing one), before
	// AccountReadsLogs in the key policy.
	if got := policySids(bucketPolicy("b", tg)); got != "statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, FlowLogsAclCheck, FlowLogsWrite" {
		t.Errorf("bucket policy: %s", got)
	}
	_, stmts, err := parseStatements(keyPolicy(tg))
	if err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, s := range stmts {
		sids = append(sids, statementSid(s))
	}
	if got := strings.Join(sids, ","); got != "AccountAdministration,CloudTrailEncryptLogs,CloudTrailDescribeKey,ConfigEncryptDeliveries,FlowLogsEncrypt,AccountReadsLogs" {
		t.Errorf("key policy statements: %s", got)
	}
}
