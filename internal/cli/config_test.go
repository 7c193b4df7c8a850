package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// hardenAt runs the CLI like harden, at a given time (for exceptions).
func hardenAt(t testing.TB, env *fakeawstest.Env, stateDir string, now time.Time, args ...string) outcome {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--endpoint-url", env.URL, "--state-dir", stateDir}, args...)
	code := cli.Main(context.Background(), full, cli.IO{
		In: strings.NewReader(""), Out: &out, Err: &errb, Width: 120,
		Getenv: func(string) string { return "" }, Now: func() time.Time { return now },
	})
	return outcome{code, out.String(), errb.String()}
}

func writeConfig(t testing.TB, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "harden.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// An exception turns one region's finding into accepted: it is reported,
// never hidden, apply leaves it, and the day after it expires it is a
// finding again.
func TestExceptionAcceptsOneRegion(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, `version: 1
exceptions:
  - control: ebs-default-encryption
    regions: [sa-east-1]
    reason: legacy AMIs need unencrypted volumes
    owner: platform team
    expires: 2027-03-31
`)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	scope := []string{"--config", cfg, "--controls", "ebs-default-encryption", "--regions", "sa-east-1,eu-west-1"}

	o := hardenAt(t, env, dir, now, append([]string{"audit", "-o", "json"}, scope...)...)
	expect(t, o, cli.ExitChanges, "audit with one region accepted")
	var rep struct {
		Results []struct {
			Region   string `json:"region"`
			Status   string `json:"status"`
			Accepted *struct {
				Reason, Owner, Expires, Source string
			} `json:"accepted"`
		} `json:"results"`
		Summary struct {
			Accepted     int `json:"accepted"`
			NonCompliant int `json:"noncompliant"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch r.Region {
		case "sa-east-1":
			if r.Status != "accepted" || r.Accepted == nil || r.Accepted.Owner != "platform team" ||
				r.Accepted.Expires != "2027-03-31" || !strings.HasSuffix(r.Accepted.Source, "harden.yaml:3") {
				t.Errorf("sa-east-1: %+v", r)
			}
		case "eu-west-1":
			if r.Status != "noncompliant" {
				t.Errorf("eu-west-1: %+v, want still a finding", r)
			}
		}
	}
	if rep.Summary.Accepted != 1 || rep.Summary.NonCompliant != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}

	env.Server.ResetLog()
	expect(t, hardenAt(t, env, dir, now, append([]string{"apply", "--yes"}, scope...)...), cli.ExitOK, "apply")
	for _, w := range env.Server.Writes() {
		if w.Region == "sa-east-1" {
			t.Errorf("apply changed the accepted region: %+v", w)
		}
	}
	o = hardenAt(t, env, dir, now, append([]string{"audit"}, scope...)...)
	expect(t, o, cli.ExitOK, "audit after apply")
	if !strings.Contains(o.stdout, "accepted until 2027-03-31 by platform team") ||
		!strings.Contains(o.stdout, "No open findings: 1 finding is accepted by exceptions.") ||
		strings.Contains(o.stdout, "matches the baseline") {
		t.Errorf("audit output:\n%s", o.stdout)
	}

	after := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	o = hardenAt(t, env, dir, after, append([]string{"audit"}, scope...)...)
	expect(t, o, cli.ExitChanges, "audit after the exception expired")
	if !strings.Contains(o.stdout, "expired on 2027-03-31") {
		t.Errorf("an expired exception must say so:\n%s", o.stdout)
	}
}

func TestStaleExceptionWarns(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, `version: 1
exceptions:
  - control: iam-password-policy
    reason: r
    owner: o
    expires: 2027-01-01
`)
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	expect(t, hardenAt(t, env, dir, now, "apply", "--yes", "--controls", "ebs-default-encryption", "--regions", "us-east-1"), cli.ExitOK, "apply")
	o := hardenAt(t, env, dir, now, "--config", cfg, "apply", "--yes", "--controls", "iam-password-policy")
	expect(t, o, cli.ExitOK, "apply leaves the accepted policy")
	if len(env.Server.Writes()) != 1 {
		t.Errorf("writes %v: only the ebs apply should have written", env.Server.Writes())
	}
	// Remove the finding by applying without the exception; the exception
	// then accepts nothing.
	expect(t, hardenAt(t, env, dir, now, "apply", "--yes", "--controls", "iam-password-policy"), cli.ExitOK, "apply without the file")
	o = hardenAt(t, env, dir, now, "--config", cfg, "audit", "--controls", "iam-password-policy")
	expect(t, o, cli.ExitOK, "audit with a stale exception")
	if !strings.Contains(o.stdout, "matches no finding") {
		t.Errorf("stale exception not reported:\n%s", o.stdout)
	}
}

func TestConfigErrorsExit64WithoutCalls(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, "version: 1\ncontrols:\n  ebs-default-encrytion:\n    enabled: false\nexceptions:\n  - control: access-analyzer\n    owner: me\n    expires: soon\n")
	env.Server.ResetLog()
	o := hardenAt(t, env, dir, time.Now(), "--config", cfg, "audit")
	expect(t, o, cli.ExitUsage, "bad configuration")
	lines := strings.Split(strings.TrimSpace(o.stderr), "\n")
	want := []string{":3:3: unknown control \"ebs-default-encrytion\"", ":6:5: exceptions[0]: needs a 'reason'", ":8:5: exceptions[0]: expires \"soon\""}
	if len(lines) != len(want)+1 {
		t.Fatalf("stderr:\n%s", o.stderr)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], cfg+w) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], cfg+w)
		}
	}
	if n := len(env.Server.Requests()); n != 0 {
		t.Errorf("%d AWS calls before the configuration was valid", n)
	}
	o = hardenAt(t, env, dir, time.Now(), "--config", filepath.Join(t.TempDir(), "absent.yaml"), "audit")
	expect(t, o, cli.ExitUsage, "a named file that does not exist")
}

func TestConfigFileSelectsRegionsAndControls(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, `version: 1
regions:
  include: [us-east-1, eu-west-1, sa-east-1]
  exclude: [sa-east-1]
controls:
  iam-password-policy: {enabled: false}
  s3-account-public-access-block: {enabled: false}
  log-archive: {enabled: false}
  cloudtrail: {enabled: false}
  config-recorder: {enabled: false}
  access-analyzer: {enabled: false}
  guardduty: {enabled: false}
  securityhub: {enabled: false}
  detective: {enabled: false}
  default-vpc: {enabled: false}
  default-security-group: {enabled: false}
  vpc-flow-logs: {enabled: false}
  security-alerts: {enabled: false}
  health-alerts: {enabled: false}
  cloudtrail-alarms: {enabled: false}
  budget-alarm: {enabled: false}
  cost-anomaly-detection: {enabled: false}
  alternate-contacts: {enabled: false}
`)
	o := hardenAt(t, env, dir, time.Now(), "--config", cfg, "plan", "-o", "text")
	expect(t, o, cli.ExitChanges, "plan")
	if !strings.Contains(o.stdout, "2 regions") || !strings.Contains(o.stdout, "skipped region sa-east-1: excluded by the configuration") ||
		strings.Contains(o.stdout, "access-analyzer") || !strings.Contains(o.stdout, "Plan: 2 to change") {
		t.Errorf("plan:\n%s", o.stdout)
	}
	// A flag wins over the file.
	o = hardenAt(t, env, dir, time.Now(), "--config", cfg, "plan", "-o", "text", "--controls", "access-analyzer", "--regions", "us-east-1")
	if !strings.Contains(o.stdout, "access-analyzer") || !strings.Contains(o.stdout, "Plan: 1 to change") {
		t.Errorf("flags over the file:\n%s", o.stdout)
	}
}

func TestConfigInitShowSchema(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "harden.yaml")
	expect(t, hardenAt(t, env, dir, time.Now(), "config", "init", path), cli.ExitOK, "config init")
	expect(t, hardenAt(t, env, dir, time.Now(), "config", "init", path), cli.ExitUsage, "config init over an existing file")
	o := hardenAt(t, env, dir, time.Now(), "--config", path, "config", "show", "--region", "eu-west-1")
	expect(t, o, cli.ExitOK, "config show")
	if !strings.Contains(o.stdout, "home_region: eu-west-1") || !strings.Contains(o.stdout, "ebs-default-encryption:") {
		t.Errorf("config show:\n%s", o.stdout)
	}
	o = hardenAt(t, env, dir, time.Now(), "config", "schema")
	expect(t, o, cli.ExitOK, "config schema")
	var schema map[string]any
	if err := json.Unmarshal([]byte(o.stdout), &schema); err != nil || schema["$schema"] == nil {
		t.Errorf("schema is not JSON Schema: %v", err)
	}
}

// The log-archive flags override the file's settings; the file's settings
// reach the control.
func TestSettingFlagsOverrideFile(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, "version: 1\ncontrols:\n  log-archive:\n    bucket: team-logs\n    retention_days: 90\n")
	o := hardenAt(t, env, dir, time.Now(), "--config", cfg, "config", "show", "--log-retention-days", "30")
	expect(t, o, cli.ExitOK, "config show")
	if !strings.Contains(o.stdout, `bucket: "team-logs"`) || !strings.Contains(o.stdout, "retention_days: 30") {
		t.Errorf("config show:\n%s", o.stdout)
	}
	o = hardenAt(t, env, dir, time.Now(), "--config", cfg, "plan", "--controls", "log-archive", "-o", "text")
	if !strings.Contains(o.stdout, "team-logs") || !strings.Contains(o.stdout, "90-day") {
		t.Errorf("plan does not use the file's settings:\n%s", o.stdout)
	}
	env.Server.ResetLog()
	o = hardenAt(t, env, dir, time.Now(), "--config", cfg, "plan", "--log-retention-days", "0")
	expect(t, o, cli.ExitUsage, "bad flag value over a good file")
	if !strings.Contains(o.stderr, "--log-retention-days: retention_days: must be at least 1") || len(env.Server.Requests()) != 0 {
		t.Errorf("stderr %q, %d calls", o.stderr, len(env.Server.Requests()))
	}
}
