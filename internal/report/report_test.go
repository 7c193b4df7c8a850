package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/regions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const account = "123456789012"

var (
	iamPolicy = control.Info{
		ID: "iam-password-policy", Title: "IAM password policy", Scope: control.Account,
		Desired:     "length >= 14, 24 remembered passwords",
		SecurityHub: []string{"IAM.7", "IAM.15", "IAM.16"}, CIS: []string{"1.8", "1.9"},
		ReadActions: []string{"iam:GetAccountPasswordPolicy"}, WriteActions: []string{"iam:UpdateAccountPasswordPolicy"},
	}
	s3PAB = control.Info{
		ID: "s3-account-public-access-block", Title: "S3 Block Public Access (account)", Scope: control.Account,
		Desired:     "all four account-level S3 Block Public Access settings are on",
		SecurityHub: []string{"S3.1"}, CIS: []string{"2.1.4"},
		ReadActions: []string{"s3:GetAccountPublicAccessBlock"}, WriteActions: []string{"s3:PutAccountPublicAccessBlock"},
	}
	ebs = control.Info{
		ID: "ebs-default-encryption", Title: "EBS encryption by default", Scope: control.Regional,
		Desired:     "new EBS volumes are encrypted by default",
		SecurityHub: []string{"EC2.7"}, CIS: []string{"2.2.1"},
		ReadActions: []string{"ec2:GetEbsEncryptionByDefault"}, WriteActions: []string{"ec2:EnableEbsEncryptionByDefault"},
	}
	analyzer = control.Info{
		ID: "access-analyzer", Title: "IAM Access Analyzer", Scope: control.Regional,
		Desired:     "an active ACCOUNT analyzer exists in the region",
		SecurityHub: []string{"IAM.28"}, CIS: []string{"1.20"},
		ReadActions: []string{"access-analyzer:ListAnalyzers"}, WriteActions: []string{"access-analyzer:CreateAnalyzer"},
		Cost: control.Cost{UsageBased: true, Drivers: "IAM roles and users analysed a month"},
	}
	recorder = control.Info{
		ID: "config-recorder", Title: "AWS Config recorder", Scope: control.Regional,
		Desired:     "a recorder records all resource types",
		SecurityHub: []string{"Config.1"},
		ReadActions: []string{"config:DescribeConfigurationRecorders"},
	}
	defaultVPC = control.Info{
		ID: "default-vpc", Title: "No default VPC", Scope: control.Regional,
		Desired: "the region has no default VPC", Destructive: true,
		DependsOn:   []string{"access-analyzer"},
		ReadActions: []string{"ec2:DescribeVpcs"}, WriteActions: []string{"ec2:DeleteVpc"},
	}
	infos = []control.Info{iamPolicy, s3PAB, ebs, analyzer, recorder, defaultVPC}

	enabled = []string{"eu-central-1", "eu-west-1", "eu-west-2", "us-east-1"}
	skipped = []regions.Skip{
		{Region: "af-south-1", Reason: "not enabled for this account (opt-in status not-opted-in)"},
		{Region: "ap-east-1", Reason: "not enabled for this account (opt-in status not-opted-in)"},
	}
)

var (
	passwordChanges = []control.Change{
		{Field: "MinimumPasswordLength", Current: "8", Desired: "14"},
		{Field: "PasswordReusePrevention", Current: "none", Desired: "24"},
		{Field: "RequireSymbols", Current: "false", Desired: "true"},
	}
	ebsChange      = []control.Change{{Field: "EBS encryption by default", Current: "false", Desired: "true"}}
	analyzerChange = []control.Change{{Field: "ACCOUNT analyzer", Current: "none", Desired: "harden-access-analyzer"}}
	vpcChange      = []control.Change{{Field: "default VPC", Current: "vpc-0abc123", Desired: "none"}}
	deniedErr      = errors.New("access-analyzer: list analyzers in eu-west-2: operation error AccessAnalyzer: ListAnalyzers, StatusCode: 403, AccessDeniedException: User is not authorized to perform access-analyzer:ListAnalyzers")
	deniedReason   = "access denied: allow access-analyzer:ListAnalyzers for this identity in eu-west-2"
	scpReason      = "denied by a service control policy: ask the organization's administrators"
)

func res(info control.Info, region string, st engine.Status) engine.Result {
	return engine.Result{Control: info, Region: region, Status: st}
}

// planResults covers every check status, an account-wide and regional
// controls, several changes, a note, an error with a reason and skipped
// targets.
func planResults() []engine.Result {
	r := []engine.Result{
		res(iamPolicy, "us-east-1", engine.NonCompliant),
		res(s3PAB, "us-east-1", engine.Compliant),
		res(ebs, "eu-central-1", engine.NotChecked),
		res(ebs, "eu-west-1", engine.NonCompliant),
		res(ebs, "eu-west-2", engine.Compliant),
		res(ebs, "us-east-1", engine.Compliant),
		res(analyzer, "eu-central-1", engine.NotChecked),
		res(analyzer, "eu-west-1", engine.NonCompliant),
		res(analyzer, "eu-west-2", engine.Error),
		res(analyzer, "us-east-1", engine.Compliant),
		res(recorder, "eu-central-1", engine.Compliant),
		res(recorder, "eu-west-1", engine.Compliant),
		res(recorder, "eu-west-2", engine.Compliant),
		res(recorder, "us-east-1", engine.Unmanaged),
		res(defaultVPC, "eu-central-1", engine.NotChecked),
		res(defaultVPC, "eu-west-1", engine.Compliant),
		res(defaultVPC, "eu-west-2", engine.NonCompliant),
		res(defaultVPC, "us-east-1", engine.Compliant),
	}
	r[0].Action, r[0].Changes = control.ActionUpdate, passwordChanges
	r[2].Reason, r[2].NotChecked = scpReason, engine.DeniedBySCP
	r[3].Action, r[3].Changes, r[3].Note = control.ActionUpdate, ebsChange, "applies to volumes created from now on"
	r[6].Reason, r[6].NotChecked = scpReason, engine.DeniedBySCP
	r[7].Action, r[7].Changes = control.ActionCreate, analyzerChange
	r[8].Err, r[8].Reason = deniedErr, deniedReason
	r[9].Note = `existing analyzer "org-analyzer" counts`
	r[13].Reason = "the recorder is owned by AWS Control Tower"
	r[13].Changes = []control.Change{{Field: "recording group", Current: "some types", Desired: "all types"}}
	r[14].Reason, r[14].NotChecked = scpReason, engine.DeniedBySCP
	r[16].Action, r[16].Changes = control.ActionDelete, vpcChange
	r[16].Destroys = []control.Loss{{Verb: "delete", Kind: "default VPC", Resource: "vpc-0abc123",
		What: "deletes vpc-0abc123 (172.31.0.0/16) with its 3 subnets and internet gateway igw-0abc123; rollback recreates a default VPC with NEW ids: what referenced the old ids is not restored"}}
	return r
}

// applyResults is what apply makes of planResults: changed targets,
// an error after a partial apply, a blocked target; the rest as planned.
func applyResults() []engine.Result {
	r := planResults()
	r[0].Status, r[0].Applied = engine.Compliant, passwordChanges
	r[3].Status, r[3].Applied = engine.Compliant, ebsChange
	r[7].Status, r[7].Applied = engine.Error, analyzerChange
	r[7].Err = errors.New("access-analyzer in eu-west-1: still not compliant after apply")
	r[7].Reason = "run 'harden plan' to see what differs; something may be changing it back"
	r[16].Status = engine.Blocked
	r[16].Reason = "prerequisite access-analyzer in eu-west-2 is error"
	return r
}

// freshResults is a fresh account: the same change in every region, an
// error that is the same in two regions, and one region already compliant.
func freshResults() []engine.Result {
	var r []engine.Result
	r = append(r, res(iamPolicy, "us-east-1", engine.NonCompliant))
	r[0].Action, r[0].Changes = control.ActionUpdate, passwordChanges
	for _, reg := range enabled {
		e := res(ebs, reg, engine.NonCompliant)
		e.Action, e.Changes = control.ActionUpdate, ebsChange
		r = append(r, e)
	}
	for _, reg := range enabled {
		a := res(analyzer, reg, engine.NonCompliant)
		a.Action, a.Changes = control.ActionCreate, analyzerChange
		switch reg {
		case "us-east-1":
			a = res(analyzer, reg, engine.Compliant)
		case "eu-west-1", "eu-west-2":
			a = res(analyzer, reg, engine.Error)
			a.Err = errors.New("access-analyzer: list analyzers in " + reg + ": AccessDeniedException")
			a.Reason = "access denied: allow access-analyzer:ListAnalyzers for this identity in " + reg
		}
		r = append(r, a)
	}
	return r
}

// acceptedReport has an accepted finding, an expired exception and a
// stale one.
func acceptedReport() Report {
	r := planResults()
	exc := &engine.Acceptance{Reason: "legacy app needs 8-character passwords", Owner: "alice@example.com", Expires: "2027-01-31", Source: "harden.yaml:12"}
	r[0].Status, r[0].Accepted = engine.Accepted, exc
	r[7].Expired = &engine.Acceptance{Reason: "pilot", Owner: "bob", Expires: "2026-01-01", Source: "harden.yaml:20"}
	rep := report(Audit, r)
	rep.StaleExceptions = []engine.Acceptance{{Reason: "old", Owner: "carol", Expires: "2027-06-30", Source: "harden.yaml:28"}}
	return rep
}

func report(cmd Command, results []engine.Result) Report {
	return New(cmd, account, "us-east-1", enabled, skipped, results)
}

func render(t *testing.T, r Report, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, o); err != nil {
		t.Fatalf("Render(%+v): %v", o, err)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

var formats = []struct {
	name string
	o    Options
}{
	{"text", Options{Format: Text}},
	{"table", Options{Format: Table, Styled: true, Width: 100}},
	{"table80", Options{Format: Table, Styled: true, Width: 80}},
	{"table120", Options{Format: Table, Styled: true, Width: 120}},
	{"detail", Options{Format: Table, Styled: true, Width: 120, Detail: true}},
	{"json", Options{Format: JSON}},
	{"sarif", Options{Format: SARIF, Version: "v1.2.3"}},
	{"junit", Options{Format: JUnit}},
	{"markdown", Options{Format: Markdown}},
}

func reports() map[string]Report {
	allCompliant := planResults()
	for i := range allCompliant {
		allCompliant[i] = res(allCompliant[i].Control, allCompliant[i].Region, engine.Compliant)
	}
	return map[string]Report{
		"plan":           report(Plan, planResults()),
		"audit":          report(Audit, planResults()),
		"apply":          report(Apply, applyResults()),
		"plan_nochanges": New(Plan, account, "us-east-1", enabled, nil, allCompliant),
		"plan_fresh":     report(Plan, freshResults()),
		"audit_accepted": acceptedReport(),
		"audit_failed":   Failed(Audit, errors.New("no AWS credentials found: set AWS_PROFILE or run 'aws sso login'")),
	}
}

func TestGolden(t *testing.T) {
	for name, r := range reports() {
		for _, f := range formats {
			t.Run(name+"_"+f.name, func(t *testing.T) {
				golden(t, name+"_"+f.name, render(t, r, f.o))
			})
		}
	}
}

func TestControlsGolden(t *testing.T) {
	for _, f := range formats {
		if f.o.Format == SARIF || f.o.Format == JUnit {
			continue // not a listing of results: refused
		}
		t.Run(f.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := RenderControls(&b, infos, f.o); err != nil {
				t.Fatal(err)
			}
			golden(t, "controls_"+f.name, b.Bytes())
		})
	}
}

func TestTextHasNoEscapes(t *testing.T) {
	results := planResults()
	// An error message from AWS could carry anything.
	results[8].Err = errors.New("bad \x1b[31mthing\x1b[0m\nsecond line\tand\x07 more")
	r := report(Plan, results)
	for _, o := range []Options{{Format: Text}, {Format: Text, Styled: true}, {Format: Table}} {
		out := string(render(t, r, o))
		if strings.Contains(out, "\x1b") || strings.Contains(out, "\a") || strings.Contains(out, "\t") {
			t.Errorf("%+v: output has control characters:\n%q", o, out)
		}
		if !strings.Contains(out, "bad [31mthing[0m second line and more") {
			t.Errorf("%+v: error not kept on one line:\n%s", o, out)
		}
	}
	var b bytes.Buffer
	if err := RenderControls(&b, infos, Options{Format: Text}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("controls text has escapes:\n%q", b.String())
	}
}

func TestUnstyledTableIsText(t *testing.T) {
	for name, r := range reports() {
		text := render(t, r, Options{Format: Text})
		for _, o := range []Options{{Format: Table}, {Format: Table, Width: 40}, {}} {
			if got := render(t, r, o); !bytes.Equal(got, text) {
				t.Errorf("%s: %+v differs from text:\n%s\n---\n%s", name, o, got, text)
			}
		}
	}
	var text, table bytes.Buffer
	if err := RenderControls(&text, infos, Options{Format: Text}); err != nil {
		t.Fatal(err)
	}
	if err := RenderControls(&table, infos, Options{Format: Table}); err != nil {
		t.Fatal(err)
	}
	if text.String() != table.String() {
		t.Errorf("controls: unstyled table differs from text:\n%s\n---\n%s", table.String(), text.String())
	}
}

func TestStyledTable(t *testing.T) {
	r := report(Plan, planResults())
	out := string(render(t, r, Options{Format: Table, Styled: true}))
	if !strings.Contains(out, "\x1b[") {
		t.Fatalf("styled table has no escape sequences:\n%s", out)
	}
	plain := stripANSI(out)
	for _, want := range []string{"CONTROL", "REGION", "STATUS", "DETAIL", "─", "iam-password-policy", "3 regions", "Plan: 4 to change"} {
		if !strings.Contains(plain, want) {
			t.Errorf("styled table lacks %q:\n%s", want, plain)
		}
	}
	var b bytes.Buffer
	if err := RenderControls(&b, infos, Options{Format: Table, Styled: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[") {
		t.Errorf("styled controls table has no escape sequences:\n%s", b.String())
	}
}

func TestStyledTableFitsWidth(t *testing.T) {
	results := planResults()
	results[8].Err = errors.New(strings.Repeat("a long error message that goes on ", 20))
	r := report(Plan, results)
	for _, width := range []int{80, 100, 120} {
		out := stripANSI(string(render(t, r, Options{Format: Table, Styled: true, Width: width})))
		// Sections: header, table, destructive changes, usage-based
		// cost, skipped regions, summary.
		sections := strings.Split(out, "\n\n")
		if len(sections) != 6 || !strings.HasPrefix(sections[2], "Destructive changes (1)") || !strings.HasPrefix(sections[3], "Usage-based cost") {
			t.Fatalf("width %d: got %d sections, want 6:\n%s", width, len(sections), out)
		}
		for _, l := range strings.Split(out, "\n") {
			if lipgloss.Width(l) > width {
				t.Errorf("width %d: line is %d wide: %q", width, lipgloss.Width(l), l)
			}
		}
		if strings.Contains(out, "…") || !strings.Contains(strings.Join(strings.Fields(out), " "), strings.TrimSpace(strings.Repeat("a long error message that goes on ", 20))) {
			t.Errorf("width %d: long detail cut:\n%s", width, out)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestJSONNeverNull(t *testing.T) {
	r := New(Plan, account, "us-east-1", nil, nil, nil)
	out := string(render(t, r, Options{Format: JSON}))
	if strings.Contains(out, "null") {
		t.Errorf("json has null:\n%s", out)
	}
	for _, want := range []string{`"regions": []`, `"skipped_regions": []`, `"results": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("json lacks %s:\n%s", want, out)
		}
	}
	bare := New(Audit, account, "us-east-1", enabled, nil, []engine.Result{res(control.Info{ID: "x", Scope: control.Account}, "us-east-1", engine.Compliant)})
	out = string(render(t, bare, Options{Format: JSON}))
	if strings.Contains(out, "null") || !strings.Contains(out, `"security_hub": []`) || !strings.Contains(out, `"cis": []`) {
		t.Errorf("json result arrays not []:\n%s", out)
	}
	if strings.Contains(out, `"changes"`) || strings.Contains(out, `"error"`) {
		t.Errorf("json result has empty optional fields:\n%s", out)
	}

	var b bytes.Buffer
	if err := RenderControls(&b, []control.Info{{ID: "x", Scope: control.Account}}, Options{Format: JSON}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("controls json has null:\n%s", b.String())
	}
	b.Reset()
	if err := RenderControls(&b, nil, Options{Format: JSON}); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"schema\": \"harden.controls/v1\",\n  \"controls\": []\n}\n"; b.String() != want {
		t.Errorf("empty controls json = %q, want %q", b.String(), want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := report(Apply, applyResults())
	out := render(t, r, Options{Format: JSON})
	var back Report
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	back.controls = r.controls // not in the JSON: the SARIF and JUnit writers' rules
	if !reflect.DeepEqual(back, r) {
		t.Errorf("json round trip changed the report:\n%+v\n%+v", back, r)
	}
	if back.Results[8].Error != deniedErr.Error() || back.Results[8].Reason != deniedReason {
		t.Errorf("error result = %+v", back.Results[8])
	}
	if !bytes.Equal(out, render(t, report(Apply, applyResults()), Options{Format: JSON})) {
		t.Error("json is not byte-stable")
	}
}

func TestNewDoesNotAlias(t *testing.T) {
	results := planResults()
	r := report(Plan, results)
	results[0].Changes[0].Desired = "changed"
	results[0].Control.SecurityHub[0] = "changed"
	if r.Results[0].Changes[0].Desired == "changed" || r.Results[0].SecurityHub[0] == "changed" {
		t.Error("report shares slices with the engine results")
	}
	passwordChanges[0].Desired, iamPolicy.SecurityHub[0] = "14", "IAM.7"
}

func TestSummary(t *testing.T) {
	cases := []struct {
		cmd     Command
		results []engine.Result
		want    Summary
		line    string
	}{
		{Plan, planResults(),
			Summary{Compliant: 9, NonCompliant: 4, Unmanaged: 1, Errors: 1, NotChecked: 3, NotCheckedUnexpected: 3, Destructive: 1, SkippedRegions: 2},
			"Plan: 4 to change, 1 destructive, 9 compliant, 1 unmanaged, 1 error, 3 not checked, 2 regions skipped."},
		{Audit, planResults(),
			Summary{Compliant: 9, NonCompliant: 4, Unmanaged: 1, Errors: 1, NotChecked: 3, NotCheckedUnexpected: 3, Destructive: 1, SkippedRegions: 2},
			"Audit: 5 findings, 9 compliant, 1 unmanaged, 1 error, 3 not checked, 2 regions skipped."},
		{Apply, applyResults(),
			Summary{Compliant: 11, Unmanaged: 1, Errors: 2, NotChecked: 3, NotCheckedUnexpected: 3, Blocked: 1, SkippedRegions: 2, Changed: 2},
			"Apply: 2 changed, 9 compliant, 1 unmanaged, 2 errors, 1 blocked, 3 not checked, 2 regions skipped."},
	}
	for _, c := range cases {
		r := report(c.cmd, c.results)
		if r.Summary != c.want {
			t.Errorf("%s: summary = %+v, want %+v", c.cmd, r.Summary, c.want)
		}
		s := r.Summary
		if n := s.Compliant + s.NonCompliant + s.Unmanaged + s.Errors + s.NotChecked + s.Blocked; n != len(r.Results) {
			t.Errorf("%s: summary adds up to %d, want %d", c.cmd, n, len(r.Results))
		}
		if got := summaryLine(r); got != c.line {
			t.Errorf("%s: summary line = %q, want %q", c.cmd, got, c.line)
		}
		if out := string(render(t, r, Options{Format: Text})); !strings.HasSuffix(out, "\n"+c.line+"\n") {
			t.Errorf("%s: text does not end with the summary line:\n%s", c.cmd, out)
		}
	}
}

func TestSummaryLinePlurals(t *testing.T) {
	cases := []struct {
		cmd  Command
		s    Summary
		want string
	}{
		{Plan, Summary{Compliant: 36}, "Plan: 0 to change, 36 compliant."},
		{Plan, Summary{NonCompliant: 1, Compliant: 1, Errors: 1, NotChecked: 1, SkippedRegions: 1},
			"Plan: 1 to change, 1 compliant, 1 error, 1 not checked, 1 region skipped."},
		{Plan, Summary{NonCompliant: 2, Errors: 2, NotChecked: 2, SkippedRegions: 3, Unmanaged: 2},
			"Plan: 2 to change, 0 compliant, 2 unmanaged, 2 errors, 2 not checked, 3 regions skipped."},
		{Audit, Summary{NonCompliant: 1}, "Audit: 1 finding, 0 compliant."},
		{Audit, Summary{Unmanaged: 1, Compliant: 3}, "Audit: 1 finding, 3 compliant, 1 unmanaged."},
		{Audit, Summary{NonCompliant: 1, Unmanaged: 1}, "Audit: 2 findings, 0 compliant, 1 unmanaged."},
		{Audit, Summary{}, "Audit: 0 findings, 0 compliant."},
		{Apply, Summary{Compliant: 5, Changed: 2, Blocked: 1}, "Apply: 2 changed, 3 compliant, 1 blocked."},
		{Apply, Summary{Compliant: 1, Changed: 1, Errors: 1}, "Apply: 1 changed, 0 compliant, 1 error."},
		{Apply, Summary{Compliant: 4}, "Apply: 0 changed, 4 compliant."},
	}
	for _, c := range cases {
		if got := summaryLine(Report{Command: c.cmd, Summary: c.s}); got != c.want {
			t.Errorf("%s %+v: %q, want %q", c.cmd, c.s, got, c.want)
		}
	}
}

func TestNothingToDo(t *testing.T) {
	r := reports()["plan_nochanges"]
	out := string(render(t, r, Options{Format: Text}))
	want := "No changes: the account matches the baseline.\nPlan: 0 to change, 18 compliant.\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("no-change plan does not end with %q:\n%s", want, out)
	}
	// One target not checked, even for an expected reason, and the account
	// is no longer said to match: it was not all verified.
	for _, why := range []engine.NotCheckedReason{engine.DeniedBySCP, engine.RegionNotEnabled} {
		results := planResults()
		for i := range results {
			results[i] = res(results[i].Control, results[i].Region, engine.Compliant)
		}
		results[2].Status, results[2].NotChecked = engine.NotChecked, why
		for _, cmd := range []Command{Plan, Audit} {
			out := string(render(t, report(cmd, results), Options{Format: Text}))
			if strings.Contains(out, "matches the baseline") || !strings.Contains(out, "1 not checked") {
				t.Errorf("%s with a target not checked (%s):\n%s", cmd, why, out)
			}
		}
	}
	if out := string(render(t, report(Audit, nil), Options{Format: Text})); strings.Contains(out, "baseline") {
		t.Errorf("an audit of nothing claims a match:\n%s", out)
	}
	for _, cmd := range []Command{Plan, Audit} {
		if out := string(render(t, report(cmd, planResults()), Options{Format: Text})); strings.Contains(out, "baseline") {
			t.Errorf("%s with findings claims to match the baseline:\n%s", cmd, out)
		}
	}
}

func TestTextLines(t *testing.T) {
	out := string(render(t, report(Plan, planResults()), Options{Format: Text}))
	lines := strings.Split(out, "\n")
	if lines[0] != "harden plan: account 123456789012, home region us-east-1, 4 regions, 2 skipped" {
		t.Errorf("header = %q", lines[0])
	}
	var listing []string
	for _, l := range lines {
		if len(l) > 1 && strings.ContainsAny(l[:1], "+~-=!?*#") && l[1] == ' ' {
			listing = append(listing, l)
		}
	}
	// 9 targets with something to say, one "=" line for each of the 6
	// controls but iam-password-policy.
	if len(listing) != 9+5 {
		t.Fatalf("got %d listing lines, want 14:\n%s", len(listing), out)
	}
	for _, want := range []string{
		"~ iam-password-policy ",
		"MinimumPasswordLength: 8 -> 14; PasswordReusePrevention: none -> 24; RequireSymbols: false -> true",
		"EBS encryption by default: false -> true (applies to volumes created from now on)",
		"= ebs-default-encryption          compliant in 2 regions",
		"= s3-account-public-access-block  compliant (us-east-1)",
		"= access-analyzer                 compliant (us-east-1)",
		"! access-analyzer                 eu-west-2     error        " + deniedErr.Error() + "; " + deniedReason,
		"? config-recorder                 us-east-1     unmanaged    the recorder is owned by AWS Control Tower; recording group: some types -> all types",
		"* default-vpc                     eu-central-1  not-checked  " + scpReason,
		"- default-vpc                     eu-west-2     delete       deletes vpc-0abc123 (172.31.0.0/16) with its 3 subnets and internet gateway igw-0abc123; " +
			"rollback recreates a default VPC with NEW ids: what referenced the old ids is not restored; default VPC: vpc-0abc123 -> none",
		"skipped region af-south-1: not enabled for this account (opt-in status not-opted-in)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// A control's "=" line follows its other lines.
	if i, j := strings.Index(out, "+ access-analyzer"), strings.Index(out, "= access-analyzer"); i < 0 || j < i {
		t.Errorf("compliant line of access-analyzer is not after its other lines:\n%s", out)
	}
	// Columns are aligned over the whole listing.
	col := -1
	for _, l := range listing {
		if l[0] == '=' {
			continue
		}
		i := strings.Index(l, "  ") + 2
		for l[i] == ' ' {
			i++
		}
		if col >= 0 && i != col {
			t.Errorf("region column at %d, want %d: %q", i, col, l)
		}
		col = i
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space: %q", l)
		}
	}
}

func TestApplyText(t *testing.T) {
	out := string(render(t, report(Apply, applyResults()), Options{Format: Text}))
	for _, want := range []string{
		"~ iam-password-policy             us-east-1     changed      MinimumPasswordLength: 8 -> 14",
		"~ ebs-default-encryption          eu-west-1     changed      EBS encryption by default: false -> true (applies",
		"! access-analyzer                 eu-west-1     error        access-analyzer in eu-west-1: still not compliant after apply; run 'harden plan'",
		"; applied before the error: ACCOUNT analyzer: none -> harden-access-analyzer",
		"# default-vpc                     eu-west-2     blocked      prerequisite access-analyzer in eu-west-2 is error",
		"= ebs-default-encryption          compliant in 2 regions",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "= iam-password-policy") {
		t.Errorf("changed account control also collapsed as compliant:\n%s", out)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"table": Table, "text": Text, "json": JSON, " JSON ": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseFormat("yaml")
	if err == nil || !strings.Contains(err.Error(), "table, text, json") {
		t.Errorf("ParseFormat(yaml) error = %v", err)
	}
	if err := Render(&bytes.Buffer{}, Report{}, Options{Format: "yaml"}); err == nil {
		t.Error("Render accepted format yaml")
	}
	if err := RenderControls(&bytes.Buffer{}, nil, Options{Format: "yaml"}); err == nil {
		t.Error("RenderControls accepted format yaml")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	r := report(Plan, planResults())
	for _, f := range formats {
		if err := Render(failWriter{}, r, f.o); err == nil {
			t.Errorf("%s: write error not returned", f.name)
		}
		if err := RenderControls(failWriter{}, infos, f.o); err == nil {
			t.Errorf("controls %s: write error not returned", f.name)
		}
	}
}

// The real registry's controls and a grouped fresh-account plan fit the
// usual terminal widths, and no text of a cell is lost.
func TestFitsTerminalWidths(t *testing.T) {
	var all []control.Info
	for _, c := range controls.All() {
		all = append(all, c.Info())
	}
	for _, width := range []int{60, 80, 100, 120, 160} {
		var b bytes.Buffer
		if err := RenderControls(&b, all, Options{Format: Table, Styled: true, Width: width}); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(stripANSI(b.String()), "\n") {
			if lipgloss.Width(l) > width {
				t.Errorf("controls at %d: line is %d wide: %q", width, lipgloss.Width(l), l)
			}
		}
		for _, in := range all {
			if words := strings.Join(strings.Fields(stripANSI(b.String())), " "); !strings.Contains(strings.ReplaceAll(words, "- ", "-"), strings.ReplaceAll(in.Title, "- ", "-")) && !strings.Contains(words, strings.Fields(in.Title)[0]) {
				t.Errorf("controls at %d lost %s's title", width, in.ID)
			}
		}
		out := stripANSI(string(render(t, report(Plan, freshResults()), Options{Format: Table, Styled: true, Width: width})))
		for _, l := range strings.Split(out, "\n") {
			// Results fit from 80 columns; the header lines are never wrapped.
			if width >= 80 && lipgloss.Width(l) > width {
				t.Errorf("plan at %d: line is %d wide: %q", width, lipgloss.Width(l), l)
			}
		}
		// Every change the user approves is there, whole, however wrapped.
		flat := strings.Join(strings.Fields(out), "")
		for _, c := range passwordChanges {
			if want := strings.Join(strings.Fields(c.Field+": "+c.Current+" → "+c.Desired), ""); !strings.Contains(flat, want) {
				t.Errorf("plan at %d lost %q", width, want)
			}
		}
	}
}

// A fresh account's plan is one row per distinct change: the same change
// in every region is one row.
func TestGrouping(t *testing.T) {
	rs := rows(report(Plan, freshResults()), false)
	var got []string
	for _, rw := range rs {
		got = append(got, rw.control+"|"+rw.region+"|"+rw.word)
	}
	want := []string{
		"iam-password-policy|us-east-1|update",
		"ebs-default-encryption|4 regions|update",
		"access-analyzer|eu-central-1|create",
		"access-analyzer|2 regions (eu-west-1, eu-west-2)|error",
		"access-analyzer|us-east-1|compliant",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grouped rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Blocked in every region by the home region's prerequisite: the same
	// text everywhere, us-east-1 included, is one row that keeps the name.
	var blocked []engine.Result
	for _, reg := range enabled {
		b := res(recorder, reg, engine.Blocked)
		b.Reason = "prerequisite log-archive in us-east-1 is error"
		blocked = append(blocked, b)
	}
	if b := rows(report(Apply, blocked), false); len(b) != 1 || b[0].region != "4 regions" || !strings.Contains(b[0].detail, "in us-east-1") {
		t.Errorf("blocked rows: %+v", b)
	}
	if d := rows(report(Plan, freshResults()), true); len(d) != 9 {
		t.Errorf("--detail: %d rows, want one per target that is not compliant plus one compliant row (9)", len(d))
	}
	for _, c := range []struct {
		regs []string
		want string
	}{
		{enabled, "4 regions"},
		{enabled[:3], "3 regions (all but us-east-1)"},
		{enabled[1:3], "2 regions (eu-west-1, eu-west-2)"},
	} {
		if got := regionSummary(c.regs, enabled); got != c.want {
			t.Errorf("regionSummary(%v) = %q, want %q", c.regs, got, c.want)
		}
	}
}
