package controls

import (
	"context"
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
		{"no policy", "", "statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport"},
		{"already merged", ours, "statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport"},
		{"foreign statement kept", `{"Version":"2012-10-17","Id":"team","Statement":[` + partner + `]}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, Partner"},
		{"single statement object", `{"Version":"2012-10-17","Statement":` + partner + `}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, Partner"},
		{"harden's Sid replaced, not doubled", `{"Version":"2012-10-17","Statement":[` + staleTLS + `,` + partner + `]}`,
			"statements CloudTrailAclCheck, CloudTrailWrite, ConfigAclCheck, ConfigWrite, DenyInsecureTransport, Partner"},
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
