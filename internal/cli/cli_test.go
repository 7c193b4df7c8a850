package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
	code := cli.Main(context.Background(), full, cli.IO{
		In: strings.NewReader(tm.stdin), Out: &out, Err: &errb,
		StdinTTY: tm.tty, StdoutTTY: tm.tty, Width: 120, Getenv: getenv,
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

// settingsConfig configures the controls that need a person's settings
// (a budget amount, the contacts), so that a full apply leaves nothing
// unmanaged.
const settingsConfig = `version: 1
controls:
  budget-alarm: {amount: 100, emails: [finance@example.com]}
  alternate-contacts: {security_name: Sec Team, security_title: Security, security_email: security@example.com, security_phone: "+1 555 0100"}
`

func TestLifecycle(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	fresh := env.Server.Snapshot()
	targets := fullTargets()
	tm := term{env: map[string]string{"HARDEN_CONFIG": writeConfig(t, settingsConfig)}}

	expect(t, harden(t, env, dir, tm, "plan"), cli.ExitChanges, "plan on a fresh account")
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %+v", w)
	}
	o := harden(t, env, dir, tm, "apply", "--yes")
	expect(t, o, cli.ExitOK, "apply")
	if !strings.Contains(o.stdout, fmt.Sprintf("Apply: %d changed", targets)) || !strings.Contains(o.stderr, "harden rollback --run ") {
		t.Fatalf("apply output:\n%s\n%s", o.stdout, o.stderr)
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
	// service-linked role, which one of them created.
	for _, s := range log.Steps {
		if s.Failed && s.Step.Kind != "CreateServiceLinkedRole" {
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
	// every other write is restored or, if harden created it, deleted (the
	// settings of a bucket harden created go with the bucket: "already").
	if c := rb.Counts; c["restored"]+c["deleted"]+c["already"] != writes-3 || c["kept"] != 3 || len(c) > 4 {
		t.Fatalf("rollback counts %v, want %d restored, deleted or already and 3 kept", c, writes-3)
	}
	if got := env.Server.Snapshot(); fakeawstest.WithoutKMS(t, got) != fakeawstest.WithoutKMS(t, fresh) {
		t.Fatal("rollback did not restore the fresh account (apart from the kept key)")
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
		{"piped", term{}, nil},
		{"json", term{}, []string{"-o", "json"}},
	}
	for _, cmd := range []string{"plan", "audit"} {
		for _, f := range forms {
			args := append([]string{cmd, "--regions", regions}, f.args...)
			o := harden(t, env, dir, f.tm, args...)
			expect(t, o, cli.ExitError, cmd+" "+f.name)
			golden(t, cmd+"_"+f.name+".golden", o.stdout)
		}
	}
	o := harden(t, env, dir, term{tty: true, env: map[string]string{"CI": "true"}}, "plan", "--regions", regions)
	if strings.Contains(o.stdout, "\x1b[") {
		t.Fatal("CI=true output has escape codes")
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
