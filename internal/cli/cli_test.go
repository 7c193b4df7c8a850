package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
	"github.com/harden-dev/harden/internal/journal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type term struct {
	stdin string
	tty   bool
	env   map[string]string
	// width is the terminal's width; 0 means 120.
	width int
	// stderrTTY shows progress on stderr.
	stderrTTY bool
}

type outcome struct {
	code           int
	stdout, stderr string
}

// harden runs the CLI in-process against env's fakeaws with a private state dir.
func harden(t testing.TB, env *fakeawstest.Env, stateDir string, tm term, args ...string) outcome {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return tm.env[k] }
	full := append([]string{"--endpoint-url", env.URL, "--state-dir", stateDir}, args...)
	width := tm.width
	if width == 0 {
		width = 120
	}
	code := cli.Main(context.Background(), full, cli.IO{
		In: strings.NewReader(tm.stdin), Out: &out, Err: &errb,
		StdinTTY: tm.tty, StdoutTTY: tm.tty, StderrTTY: tm.stderrTTY, Width: width, Getenv: getenv,
	})
	return outcome{code, out.String(), errb.String()}
}

func expect(t *testing.T, o outcome, code int, what string) {
	t.Helper()
	if o.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, o.code, code, o.stdout, o.stderr)
	}
}

// fullTargets is the number of control-region targets of a run over the
// fake account's 18 enabled regions.
func fullTargets() int {
	n := 0
	for _, c := range controls.All() {
		if c.Info().Scope == control.Account {
			n++
		} else {
			n += 18
		}
	}
	return n
}

// goneWithDefaultVpc counts the steps whose undo has nothing to do once
// default-vpc's undo recreated the default VPC: its gateway and subnet
// steps, and the revokes of the old default security group's rules (the
// group went with the VPC).
func goneWithDefaultVpc(log *journal.Log) int {
	n := 0
	for _, s := range log.Steps {
		if !s.Failed && ((s.Control == "default-vpc" && s.Step.Kind != "DeleteVpc") || s.Control == "default-security-group") {
			n++
		}
	}
	return n
}

// settingsConfig configures the controls that need a person's settings
// (an alert email, a budget amount, the contacts), so that a full apply
// leaves nothing unmanaged.
const settingsConfig = `version: 1
controls:
  security-alerts: {emails: [security@example.com]}
  budget-alarm: {amount: 100, emails: [finance@example.com]}
  alternate-contacts: {security_name: Sec Team, security_title: Security, security_email: security@example.com, security_phone: "+1 555 0100"}
`

func TestLifecycle(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	fresh := env.Server.Snapshot()
	targets := fullTargets()
	tm := term{env: map[string]string{"HARDEN_CONFIG": writeConfig(t, settingsConfig)}}

	o := harden(t, env, dir, tm, "plan", "-o", "json")
	expect(t, o, cli.ExitChanges, "plan on a fresh account")
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %+v", w)
	}
	var plan struct {
		Summary struct {
			NonCompliant int `json:"noncompliant"`
			Deferred     int `json:"deferred"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	// Detective waits for GuardDuty's first 48 hours: deferred everywhere.
	regions := len(regionsOf(t, o.stdout))
	if plan.Summary.NonCompliant+plan.Summary.Deferred != targets || plan.Summary.Deferred != regions {
		t.Fatalf("plan summary %+v for %d targets", plan.Summary, targets)
	}
	o = harden(t, env, dir, tm, "apply", "--yes", "--allow-destructive")
	expect(t, o, cli.ExitOK, "apply")
	// Every planned change is made, except the default security groups
	// and the flow logs of the default VPCs that went earlier in the same
	// apply (a fresh account has no other VPC): those are compliant with
	// nothing to change, at most two per region.
	var changed, already int
	if _, err := fmt.Sscanf(o.stdout[strings.LastIndex(o.stdout, "Apply: "):], "Apply: %d changed, %d compliant", &changed, &already); err != nil ||
		changed+already != plan.Summary.NonCompliant || already > 2*regions || !strings.Contains(o.stderr, "harden rollback --run ") {
		t.Fatalf("apply output (%v):\n%s\n%s", err, o.stdout, o.stderr)
	}
	// Every write AWS accepted is in the journal, confirmed.
	store, err := journal.Open(dir, fakeaws.DefaultAccountID)
	if err != nil {
		t.Fatal(err)
	}
	log, err := store.Load("")
	if err != nil {
		t.Fatal(err)
	}
	writes := len(env.Server.Writes())
	if len(log.Pending()) != writes {
		t.Fatalf("%d writes accepted by AWS, %d journaled as done", writes, len(log.Pending()))
	}
	// The only refused writes: regions racing to create the Config
	// service-linked role, which one of them created, and revokes of
	// default security group rules whose VPC default-vpc had just deleted.
	for _, s := range log.Steps {
		vanished := s.Control == "default-security-group" && strings.Contains(s.Error, "InvalidGroup.NotFound")
		if s.Failed && s.Step.Kind != "CreateServiceLinkedRole" && !vanished {
			t.Fatalf("unexpected refused write: %+v", s)
		}
	}
	expect(t, harden(t, env, dir, tm, "audit"), cli.ExitOK, "audit after apply")

	env.Server.ResetLog()
	expect(t, harden(t, env, dir, tm, "apply", "--yes"), cli.ExitOK, "second apply")
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second apply wrote %d times: %+v", len(w), w)
	}

	o = harden(t, env, dir, tm, "rollback", "--yes", "-o", "json")
	expect(t, o, cli.ExitOK, "rollback")
	var rb struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &rb); err != nil {
		t.Fatalf("rollback json: %v\n%s", err, o.stdout)
	}
	// The log-archive key, its alias and its rotation are kept on purpose;
	// every other write is restored or, if harden created it, deleted; the
	// settings of a bucket harden created go with the bucket, and the steps
	// on what the recreated default VPCs bring back need nothing: "already".
	comeBack := goneWithDefaultVpc(log)
	if c := rb.Counts; c["restored"]+c["deleted"]+c["already"] != writes-3 || c["kept"] != 3 || c["already"] < comeBack || len(c) > 4 {
		t.Fatalf("rollback counts %v, want %d restored, deleted or already (at least %d already) and 3 kept", c, writes-3, comeBack)
	}
	// Recreated default VPCs have new ids: the account comes back in shape.
	shape := func(snap []byte) string {
		return fakeawstest.WithoutEC2IDs(t, []byte(fakeawstest.WithoutKMS(t, snap)))
	}
	if shape(env.Server.Snapshot()) != shape(fresh) {
		t.Fatal("rollback did not restore the fresh account (apart from the kept key and the default VPCs' ids)")
	}
	expect(t, harden(t, env, dir, tm, "audit"), cli.ExitChanges, "audit after rollback")

	env.Server.ResetLog()
	o = harden(t, env, dir, tm, "rollback", "--yes")
	expect(t, o, cli.ExitOK, "second rollback")
	if !strings.Contains(o.stdout, "Nothing to roll back") || len(env.Server.Writes()) != 0 {
		t.Fatalf("second rollback: %s, writes %v", o.stdout, env.Server.Writes())
	}
}

func TestConfirmation(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	o := harden(t, env, dir, term{}, "apply")
	expect(t, o, cli.ExitUsage, "apply without a terminal or --yes")
	if !strings.Contains(o.stderr, "--yes") || len(env.Server.Requests()) != 0 {
		t.Fatalf("stderr %q, %d requests", o.stderr, len(env.Server.Requests()))
	}
	o = harden(t, env, dir, term{tty: true, stdin: "no\n", env: map[string]string{"NO_COLOR": "1"}}, "apply", "--controls", "ebs-default-encryption", "--regions", "eu-west-1")
	expect(t, o, cli.ExitError, "apply answered no")
	if !strings.Contains(o.stderr, "cancelled") || len(env.Server.Writes()) != 0 {
		t.Fatalf("answered no: %q, writes %v", o.stderr, env.Server.Writes())
	}
	o = harden(t, env, dir, term{tty: true, stdin: "yes\n", env: map[string]string{"NO_COLOR": "1"}}, "apply", "--controls", "ebs-default-encryption", "--regions", "eu-west-1")
	expect(t, o, cli.ExitOK, "apply answered yes")
	if w := env.Server.Writes(); len(w) != 1 || w[0].Action != "EnableEbsEncryptionByDefault" || w[0].Region != "eu-west-1" {
		t.Fatalf("writes: %+v", w)
	}
	if strings.Contains(o.stdout, "\x1b[") {
		t.Fatal("NO_COLOR output has escape codes")
	}
}

func TestBadInput(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown control", []string{"plan", "--controls", "no-such-control"}, cli.ExitUsage, `unknown control "no-such-control"`},
		{"unknown skip", []string{"audit", "--skip", "nope"}, cli.ExitUsage, `unknown control "nope"`},
		{"unknown region", []string{"plan", "--regions", "us-east-9"}, cli.ExitUsage, `unknown region "us-east-9"`},
		{"regions and all-regions", []string{"plan", "--regions", "us-east-1", "--all-regions"}, cli.ExitUsage, "cannot be used together"},
		{"bad output", []string{"audit", "--output", "xml"}, cli.ExitUsage, "xml"},
		{"unknown flag", []string{"plan", "--frobnicate"}, cli.ExitUsage, "frobnicate"},
		{"stray argument", []string{"plan", "extra"}, cli.ExitUsage, "extra"},
		{"unknown run", []string{"rollback", "--yes", "--run", "20990101T000000Z-dead"}, cli.ExitError, "20990101T000000Z-dead"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env.Server.ResetLog()
			o := harden(t, env, dir, term{}, c.args...)
			expect(t, o, c.code, c.name)
			lines := strings.Split(strings.TrimSpace(o.stderr), "\n")
			if !strings.Contains(lines[0], c.msg) || !strings.HasPrefix(lines[0], "harden: ") {
				t.Fatalf("stderr %q should start with one clear line containing %q", o.stderr, c.msg)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("wrote: %+v", w)
			}
		})
	}
}

func TestNoCredentials(t *testing.T) {
	env := fakeawstest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	o := harden(t, env, t.TempDir(), term{}, "audit")
	expect(t, o, cli.ExitError, "no credentials")
	if !strings.Contains(o.stderr, "no AWS credentials found") || !strings.Contains(o.stderr, "credential chain") ||
		strings.Count(strings.TrimSpace(o.stderr), "\n") != 0 {
		t.Fatalf("stderr: %q", o.stderr)
	}
	if n := len(env.Server.Requests()); n != 0 {
		t.Fatalf("%d requests without credentials", n)
	}
}

func TestBadJournals(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--controls", "iam-password-policy"), cli.ExitOK, "apply")
	acctDir := filepath.Join(dir, fakeaws.DefaultAccountID)
	files, _ := filepath.Glob(filepath.Join(acctDir, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("journal files: %v", files)
	}
	good, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	applied := env.Server.Snapshot()

	// Corrupt: a damaged line in the middle.
	lines := strings.SplitAfter(string(good), "\n")
	corrupt := lines[0] + "{not json\n" + strings.Join(lines[1:], "")
	os.WriteFile(files[0], []byte(corrupt), 0o600)
	env.Server.ResetLog()
	o := harden(t, env, dir, term{}, "rollback", "--yes")
	expect(t, o, cli.ExitError, "corrupt journal")
	if !strings.Contains(o.stderr, "corrupt") || !strings.Contains(o.stderr, "line 2") || len(env.Server.Writes()) != 0 {
		t.Fatalf("corrupt journal: %q, writes %v", o.stderr, env.Server.Writes())
	}

	// Foreign: the journal of another account in this account's directory.
	foreign := strings.Replace(string(good), `"account":"`+fakeaws.DefaultAccountID+`"`, `"account":"999999999999"`, 1)
	if foreign == string(good) {
		t.Fatal("test could not rewrite the header's account")
	}
	os.WriteFile(files[0], []byte(foreign), 0o600)
	o = harden(t, env, dir, term{}, "rollback", "--yes")
	expect(t, o, cli.ExitError, "foreign journal")
	if !strings.Contains(o.stderr, "999999999999") || len(env.Server.Writes()) != 0 {
		t.Fatalf("foreign journal: %q", o.stderr)
	}
	if string(env.Server.Snapshot()) != string(applied) {
		t.Fatal("a refused rollback changed the account")
	}
	os.WriteFile(files[0], good, 0o600)
	expect(t, harden(t, env, dir, term{}, "rollback", "--yes"), cli.ExitOK, "rollback with the journal restored")
}

func TestAuditReportsErrorsWithExit1(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "access-analyzer", Region: "eu-west-1", Error: fakeaws.AccessDenied})
	o := harden(t, env, t.TempDir(), term{}, "audit", "--regions", "eu-west-1,eu-west-2", "-o", "text")
	expect(t, o, cli.ExitError, "audit with one denied region")
	if !strings.Contains(o.stdout, "access-analyzer:ListAnalyzers") || !strings.Contains(o.stdout, "eu-west-2") {
		t.Fatalf("stdout:\n%s", o.stdout)
	}
}

// Golden files for the three output forms of plan and audit.
func TestGolden(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	regions := "us-east-1,eu-west-1,af-south-1"
	// A realistic account: one control already compliant, one denied region.
	env.Server.AddFault(fakeaws.Fault{Service: "access-analyzer", Region: "eu-west-1", Error: fakeaws.AccessDenied})
	expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--controls", "s3-account-public-access-block"), cli.ExitOK, "setup")

	forms := []struct {
		name string
		tm   term
		args []string
	}{
		{"tty", term{tty: true}, nil},
		{"tty80", term{tty: true, width: 80}, nil},
		{"detail", term{tty: true}, []string{"--detail"}},
		{"piped", term{}, nil},
		{"json", term{}, []string{"-o", "json"}},
		{"sarif", term{}, []string{"-o", "sarif"}},
		{"junit", term{}, []string{"-o", "junit"}},
		{"markdown", term{}, []string{"-o", "markdown"}},
	}
	for _, cmd := range []string{"plan", "audit"} {
		for _, f := range forms {
			args := append([]string{cmd, "--regions", regions}, f.args...)
			o := harden(t, env, dir, f.tm, args...)
			expect(t, o, cli.ExitError, cmd+" "+f.name)
			golden(t, cmd+"_"+f.name+".golden", o.stdout)
		}
	}
	// Colour: CI alone decides nothing; NO_COLOR and TERM=dumb turn it
	// off; FORCE_COLOR and CLICOLOR_FORCE turn it on when piped.
	for _, c := range []struct {
		tm     term
		styled bool
	}{
		{term{tty: true, env: map[string]string{"CI": "true"}}, true},
		{term{tty: true, env: map[string]string{"NO_COLOR": "1"}}, false},
		{term{tty: true, env: map[string]string{"NO_COLOR": "", "TERM": "dumb"}}, false},
		{term{env: map[string]string{"FORCE_COLOR": "1"}}, true},
		{term{env: map[string]string{"CLICOLOR_FORCE": "1", "CI": "true"}}, true},
		{term{env: map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "yes"}}, false},
		{term{env: map[string]string{"CI": "true"}}, false},
	} {
		o := harden(t, env, dir, c.tm, "plan", "--regions", regions)
		if got := strings.Contains(o.stdout, "\x1b["); got != c.styled {
			t.Errorf("tty %v, env %v: styled %v, want %v", c.tm.tty, c.tm.env, got, c.styled)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs (run go test ./internal/cli -update and review the diff):\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func TestRollbackList(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	o := harden(t, env, dir, term{}, "rollback", "--list")
	expect(t, o, cli.ExitOK, "list with no runs")
	if !strings.Contains(o.stdout, "No apply runs are journaled") {
		t.Fatalf("stdout: %q", o.stdout)
	}
	expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--controls", "ebs-default-encryption", "--regions", "eu-west-1,eu-west-2"), cli.ExitOK, "apply 1")
	expect(t, harden(t, env, dir, term{}, "rollback", "--yes"), cli.ExitOK, "rollback 1")
	expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--controls", "iam-password-policy"), cli.ExitOK, "apply 2")
	o = harden(t, env, dir, term{}, "rollback", "--list")
	expect(t, o, cli.ExitOK, "list")
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RUN") ||
		!strings.Contains(lines[1], "applied") || !strings.Contains(lines[2], "rolled back") {
		t.Fatalf("list:\n%s", o.stdout)
	}
	if f := strings.Fields(lines[1]); f[3] != "1" || f[4] != "1" {
		t.Fatalf("newest run should have 1 write, 1 to undo: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[3] != "2" || f[4] != "0" {
		t.Fatalf("older run should have 2 writes, 0 to undo: %q", lines[2])
	}
	expect(t, harden(t, env, dir, term{}, "rollback", "--list", "--yes"), cli.ExitUsage, "--list with --yes")
}

// regionsOf returns the regions a JSON report covers.
func regionsOf(t *testing.T, doc string) []string {
	t.Helper()
	var r struct {
		Regions []string `json:"regions"`
	}
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	return r.Regions
}

// --report writes more formats in the same run while stdout shows the
// table; --fail-on sets the severity that fails an audit.
func TestReportsAndFailOn(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	out := t.TempDir()
	o := harden(t, env, dir, term{}, "audit", "--regions", "eu-west-1,us-east-1",
		"--report", "sarif="+filepath.Join(out, "h.sarif"), "--report", "junit="+filepath.Join(out, "h.xml"),
		"--report", "markdown="+filepath.Join(out, "h.md"), "--report", "json="+filepath.Join(out, "h.json"))
	expect(t, o, cli.ExitChanges, "audit with reports")
	if !strings.Contains(o.stdout, "Audit: ") || strings.HasPrefix(o.stdout, "{") {
		t.Fatalf("stdout should be the table:\n%s", o.stdout)
	}
	for name, want := range map[string]string{"h.sarif": `"version": "2.1.0"`, "h.xml": "<testsuites", "h.md": "| Control |", "h.json": `"schema": "harden.report/v3"`} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q:\n%.300s", name, err, want, b)
		}
	}
	// EBS encryption by default is EC2.7, medium.
	args := []string{"audit", "--regions", "eu-west-1", "--controls", "ebs-default-encryption"}
	expect(t, harden(t, env, dir, term{}, append(args, "--fail-on", "high")...), cli.ExitOK, "medium finding, --fail-on high")
	expect(t, harden(t, env, dir, term{}, append(args, "--fail-on", "medium")...), cli.ExitChanges, "medium finding, --fail-on medium")
	expect(t, harden(t, env, dir, term{}, append(args, "--fail-on", "urgent")...), cli.ExitUsage, "unknown severity")
	expect(t, harden(t, env, dir, term{}, "audit", "--report", "sarif"), cli.ExitUsage, "--report without a path")
	expect(t, harden(t, env, dir, term{}, "rollback", "-o", "sarif", "--yes"), cli.ExitUsage, "rollback -o sarif")
}

// A run that fails before it can report still prints a valid document.
func TestNoCredentialsDocument(t *testing.T) {
	env := fakeawstest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	sarifPath := filepath.Join(t.TempDir(), "h.sarif")
	o := harden(t, env, t.TempDir(), term{}, "audit", "-o", "json", "--report", "sarif="+sarifPath)
	expect(t, o, cli.ExitError, "no credentials, -o json")
	var doc struct {
		Schema  string `json:"schema"`
		Error   string `json:"error"`
		Results []any  `json:"results"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil || doc.Schema != "harden.report/v3" ||
		!strings.Contains(doc.Error, "no AWS credentials found") || doc.Results == nil {
		t.Fatalf("stdout is not a failed report (%v):\n%s", err, o.stdout)
	}
	if !strings.Contains(o.stderr, "no AWS credentials found") {
		t.Fatalf("stderr: %q", o.stderr)
	}
	if b, err := os.ReadFile(sarifPath); err != nil || !strings.Contains(string(b), `"executionSuccessful": false`) {
		t.Fatalf("sarif report of a failed run: %v\n%s", err, b)
	}
}

// On a terminal, plan shows checked/total on stderr, and clears it.
func TestProgress(t *testing.T) {
	env := fakeawstest.Start(t)
	o := harden(t, env, t.TempDir(), term{stderrTTY: true}, "plan", "--regions", "eu-west-1", "--controls", "ebs-default-encryption,access-analyzer")
	expect(t, o, cli.ExitChanges, "plan")
	if !strings.Contains(o.stderr, "checked 2/2 targets") || !strings.HasSuffix(o.stderr, "\r\x1b[K") {
		t.Fatalf("stderr: %q", o.stderr)
	}
	o = harden(t, env, t.TempDir(), term{}, "plan", "--regions", "eu-west-1", "--controls", "ebs-default-encryption")
	if o.stderr != "" {
		t.Fatalf("progress without a terminal: %q", o.stderr)
	}
}

func TestVersion(t *testing.T) {
	env := fakeawstest.Start(t)
	o := harden(t, env, t.TempDir(), term{}, "--version")
	expect(t, o, cli.ExitOK, "--version")
	if !strings.HasPrefix(o.stdout, "harden ") {
		t.Fatalf("--version: %q", o.stdout)
	}
	o = harden(t, env, t.TempDir(), term{}, "version", "-o", "json")
	expect(t, o, cli.ExitOK, "version -o json")
	var v struct{ Schema, Version, Go string }
	if err := json.Unmarshal([]byte(o.stdout), &v); err != nil || v.Schema != "harden.version/v1" || v.Version == "" || v.Go == "" {
		t.Fatalf("version -o json: %v %q", err, o.stdout)
	}
}

// plan -out saves the plan; apply FILE applies exactly it, and refuses a
// stale plan with 0 writes, naming the targets that changed.
func TestPlanFile(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	planPath := filepath.Join(t.TempDir(), "plan.json")
	sel := []string{"--regions", "eu-west-1,eu-west-2", "--controls", "ebs-default-encryption,iam-password-policy"}
	o := harden(t, env, dir, term{}, append([]string{"plan", "-out", planPath}, sel...)...)
	expect(t, o, cli.ExitChanges, "plan -out")
	b, err := os.ReadFile(planPath)
	if err != nil || !strings.Contains(string(b), `"schema": "harden.plan/v1"`) || !strings.Contains(o.stderr, "harden apply "+planPath) {
		t.Fatalf("plan file: %v\n%s\nstderr: %s", err, b, o.stderr)
	}

	// Someone changes one target after the plan: the plan is stale.
	expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--regions", "eu-west-2", "--controls", "ebs-default-encryption"), cli.ExitOK, "change behind the plan's back")
	env.Server.ResetLog()
	o = harden(t, env, dir, term{}, "apply", planPath)
	expect(t, o, cli.ExitError, "stale plan")
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("a stale plan wrote: %+v", w)
	}
	if !strings.Contains(o.stderr, "stale plan") || !strings.Contains(o.stderr, "ebs-default-encryption in eu-west-2: was noncompliant, now compliant") ||
		strings.Contains(o.stderr, "eu-west-1:") {
		t.Fatalf("stale plan stderr: %q", o.stderr)
	}

	// A fresh plan applies, without asking, exactly what it lists.
	expect(t, harden(t, env, dir, term{}, append([]string{"plan", "-out", planPath}, sel...)...), cli.ExitChanges, "plan again")
	expect(t, harden(t, env, dir, term{}, "apply", planPath, "--controls", "access-analyzer"), cli.ExitUsage, "flags that fight the plan")
	env.Server.ResetLog()
	o = harden(t, env, dir, term{}, "apply", planPath)
	expect(t, o, cli.ExitOK, "apply the plan")
	got := map[string]bool{}
	for _, w := range env.Server.Writes() {
		got[w.Action+"@"+w.Region] = true
	}
	if !got["EnableEbsEncryptionByDefault@eu-west-1"] || got["EnableEbsEncryptionByDefault@eu-west-2"] || !got["UpdateAccountPasswordPolicy@us-east-1"] {
		t.Fatalf("writes: %v", got)
	}
	// An errored plan is not saved.
	env.Server.AddFault(fakeaws.Fault{Service: "ec2", Region: "eu-west-1", Error: fakeaws.AccessDenied})
	bad := filepath.Join(t.TempDir(), "bad.json")
	o = harden(t, env, dir, term{}, "plan", "--out", bad, "--regions", "eu-west-1", "--controls", "ebs-default-encryption")
	expect(t, o, cli.ExitError, "plan with an error")
	if _, err := os.Stat(bad); err == nil || !strings.Contains(o.stderr, "not saved") {
		t.Fatalf("errored plan saved (%v): %s", err, o.stderr)
	}
}

// Every command's help fits 80 columns and shows examples.
func TestHelpFits80Columns(t *testing.T) {
	env := fakeawstest.Start(t)
	var walk func(path []string)
	seen := 0
	walk = func(path []string) {
		o := harden(t, env, t.TempDir(), term{}, append(path, "--help")...)
		expect(t, o, cli.ExitOK, strings.Join(path, " ")+" --help")
		seen++
		for _, l := range strings.Split(o.stdout, "\n") {
			if len([]rune(l)) > 80 {
				t.Errorf("harden %s --help: line of %d columns: %q", strings.Join(path, " "), len([]rune(l)), l)
			}
		}
		if !strings.Contains(o.stdout, "Examples:") && (len(path) == 0 || path[0] != "completion" && path[0] != "help") {
			t.Errorf("harden %s --help has no examples", strings.Join(path, " "))
		}
		// Subcommands: the lines under "Available Commands:".
		_, after, ok := strings.Cut(o.stdout, "Available Commands:\n")
		if !ok {
			return
		}
		for _, l := range strings.Split(after, "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || !strings.HasPrefix(l, "  ") {
				break
			}
			if f[0] != "help" {
				walk(append(append([]string(nil), path...), f[0]))
			}
		}
	}
	walk(nil)
	if seen < 9 {
		t.Fatalf("walked %d commands", seen)
	}
}

func TestIAMPolicy(t *testing.T) {
	env := fakeawstest.Start(t)
	o := harden(t, env, t.TempDir(), term{}, "iam-policy", "--for", "apply", "--controls", "ebs-default-encryption")
	expect(t, o, cli.ExitOK, "iam-policy")
	var doc struct {
		Version   string
		Statement []struct {
			Sid    string
			Action []string
		}
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil || doc.Version != "2012-10-17" || len(doc.Statement) != 2 {
		t.Fatalf("policy: %v\n%s", err, o.stdout)
	}
	if got := strings.Join(doc.Statement[1].Action, ","); !strings.Contains(got, "ec2:EnableEbsEncryptionByDefault") || !strings.Contains(got, "ec2:GetEbsEncryptionByDefault") {
		t.Fatalf("ebs statement: %s", got)
	}
	if len(env.Server.Requests()) != 0 {
		t.Fatal("iam-policy called AWS")
	}
	expect(t, harden(t, env, t.TempDir(), term{}, "iam-policy", "--for", "everything"), cli.ExitUsage, "bad --for")
}

// On a terminal, apply shows done/total and what is in flight: each write
// by its target and step kind, and Security Hub's wait for its standards
// with the time so far; the line is cleared before the report. Piped,
// stderr says only where the journal is.
func TestApplyProgress(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.SetStandardsReadyAfter(5) // 3 s of polling
	sel := []string{"--regions", "eu-west-1", "--controls", "log-archive,config-recorder,securityhub"}
	o := harden(t, env, t.TempDir(), term{stderrTTY: true, width: 200}, append([]string{"apply", "--yes"}, sel...)...)
	expect(t, o, cli.ExitOK, "apply on a terminal")
	for _, want := range []string{
		"\r\x1b[Kapplied 0/3 targets",
		"\r\x1b[Kapplied 0/3 targets  log-archive us-east-1: CreateBucket",
		"\r\x1b[Kapplied 2/3 targets  securityhub eu-west-1: waiting for AWS Foundational Security Best Practices v1.0.0 and CIS AWS Foundations Benchmark v5.0.0 to be READY (0 s)",
		"\r\x1b[Kapplied 2/3 targets  securityhub eu-west-1: waiting for AWS Foundational Security Best Practices v1.0.0 and CIS AWS Foundations Benchmark v5.0.0 to be READY (2 s)",
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("no %q in stderr:\n%q", want, o.stderr)
		}
	}
	if i := strings.Index(o.stderr, "Journal: "); i < 0 || !strings.HasSuffix(o.stderr[:i], "applied 3/3 targets\r\x1b[K") {
		t.Errorf("the line is not cleared before the report: %q", o.stderr)
	}

	env = fakeawstest.Start(t)
	env.Server.SetStandardsReadyAfter(5)
	o = harden(t, env, t.TempDir(), term{}, append([]string{"apply", "--yes"}, sel...)...)
	expect(t, o, cli.ExitOK, "apply piped")
	if !regexp.MustCompile(`^Journal: \S+\nUndo with: harden rollback --run \S+\n$`).MatchString(o.stderr) {
		t.Fatalf("piped apply's stderr: %q", o.stderr)
	}
	o = harden(t, env, t.TempDir(), term{stderrTTY: true}, append([]string{"plan", "-o", "json"}, sel...)...)
	if o.stderr != "" {
		t.Fatalf("plan -o json on a terminal drew progress: %q", o.stderr)
	}
}
