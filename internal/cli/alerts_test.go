package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// alerts test fails without a topic or a confirmed subscription and
// succeeds once a recipient confirmed; the test message is marked.
func TestAlertsTest(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cfg := writeConfig(t, "version: 1\ncontrols:\n  security-alerts:\n    emails: [sec@example.com]\n")
	o := hardenAt(t, env, dir, time.Now(), "--config", cfg, "alerts", "test")
	expect(t, o, cli.ExitError, "alerts test without a topic")
	if !strings.Contains(o.stderr, "harden apply --controls security-alerts") {
		t.Errorf("no topic:\n%s", o.stderr)
	}
	expect(t, hardenAt(t, env, dir, time.Now(), "--config", cfg, "apply", "--yes", "--controls", "security-alerts", "--regions", "us-east-1"), cli.ExitOK, "apply")
	o = hardenAt(t, env, dir, time.Now(), "--config", cfg, "alerts", "test")
	expect(t, o, cli.ExitError, "alerts test with a pending subscription")
	if !strings.Contains(o.stdout, "sec@example.com  pending confirmation") || !strings.Contains(o.stderr, "no subscription is confirmed") {
		t.Errorf("pending:\nstdout %s\nstderr %s", o.stdout, o.stderr)
	}
	topic := controls.AlertTopicARN(control.Target{AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1"})
	env.Server.ConfirmSubscription(topic, "sec@example.com")
	o = hardenAt(t, env, dir, time.Now(), "--config", cfg, "alerts", "test")
	expect(t, o, cli.ExitOK, "alerts test with a confirmed subscription")
	if !strings.Contains(o.stdout, "sec@example.com  confirmed") {
		t.Errorf("confirmed:\n%s", o.stdout)
	}
	msgs := env.Server.Published(topic)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[1].Subject, "[harden test]") {
		t.Errorf("published %+v", msgs)
	}
}

// Without an alert email, apply makes the topic and rules and ends
// unmanaged (exit 0: apply did what it can), audit exits 2 naming the
// setting, a second apply writes nothing; with the email set, apply
// subscribes it and audit exits 0 (pending confirmation is a note).
func TestMissingAlertEmailIsAFinding(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	scope := []string{"--controls", "security-alerts", "--regions", "us-east-1"}
	none := writeConfig(t, "version: 1\n")
	o := hardenAt(t, env, dir, time.Now(), append([]string{"--config", none, "apply", "--yes"}, scope...)...)
	expect(t, o, cli.ExitOK, "apply without an email")
	if !strings.Contains(o.stdout, "unmanaged") || !strings.Contains(o.stdout, "no email address configured: set controls.security-alerts.emails") {
		t.Fatalf("apply without an email:\n%s", o.stdout)
	}
	written := len(env.Server.Writes())
	if written == 0 {
		t.Fatal("apply without an email made no topic or rules")
	}
	t.Logf("apply without an email: %d writes", written)
	o = hardenAt(t, env, dir, time.Now(), append([]string{"--config", none, "audit", "-o", "json"}, scope...)...)
	expect(t, o, cli.ExitChanges, "audit without an email")
	if !strings.Contains(o.stdout, `"status": "unmanaged"`) || !strings.Contains(o.stdout, "set controls.security-alerts.emails") {
		t.Fatalf("audit without an email:\n%s", o.stdout)
	}
	env.Server.ResetLog()
	expect(t, hardenAt(t, env, dir, time.Now(), append([]string{"--config", none, "apply", "--yes"}, scope...)...), cli.ExitOK, "second apply")
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second apply without an email wrote %+v", w)
	}
	cfg := writeConfig(t, "version: 1\ncontrols:\n  security-alerts: {emails: [sec@example.com]}\n")
	expect(t, hardenAt(t, env, dir, time.Now(), append([]string{"--config", cfg, "apply", "--yes"}, scope...)...), cli.ExitOK, "apply with an email")
	o = hardenAt(t, env, dir, time.Now(), append([]string{"--config", cfg, "audit", "-o", "json"}, scope...)...)
	expect(t, o, cli.ExitOK, "audit with an email")
	if !strings.Contains(o.stdout, "sec@example.com: pending confirmation") {
		t.Fatalf("audit with an email:\n%s", o.stdout)
	}
}
