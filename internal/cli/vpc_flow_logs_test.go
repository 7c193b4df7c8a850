package cli_test

import (
	"time"

	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// vpc-flow-logs through the binary's commands, with a VPC that is not a
// default one (a full apply deletes the default VPCs first): plan exits 2,
// apply creates one flow log per VPC and exits 0, audit 0, rollback 0 back
// to the fresh account (the archive key kept), audit 2; a VPC created after
// an apply is a finding at the next audit.
func TestVPCFlowLogsCommands(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	vpc, err := env.Server.Place(fakeaws.Placement{Kind: "vpc", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := env.Server.Snapshot()
	args := []string{"--controls", "log-archive,vpc-flow-logs", "--regions", "eu-west-1"}
	tm := term{}

	o := harden(t, env, dir, tm, append([]string{"plan", "-o", "text"}, args...)...)
	expect(t, o, cli.ExitChanges, "plan")
	if !strings.Contains(o.stdout, "flow log of VPC "+vpc+": none -> ALL traffic to s3://harden-logs-") {
		t.Fatalf("plan:\n%s", o.stdout)
	}
	env.Server.ResetLog()
	expect(t, harden(t, env, dir, tm, append([]string{"apply", "--yes"}, args...)...), cli.ExitOK, "apply")
	creates := 0
	for _, w := range env.Server.Writes() {
		if w.Action == "CreateFlowLogs" {
			creates++
			if w.Region != "eu-west-1" {
				t.Errorf("flow log created in %s", w.Region)
			}
		}
	}
	if creates != 2 { // the default VPC and vpc
		t.Fatalf("%d CreateFlowLogs, want 2: %+v", creates, env.Server.Writes())
	}
	expect(t, harden(t, env, dir, tm, append([]string{"audit"}, args...)...), cli.ExitOK, "audit after apply")

	o = harden(t, env, dir, tm, "rollback", "--yes")
	expect(t, o, cli.ExitOK, "rollback")
	if fakeawstest.WithoutKMS(t, env.Server.Snapshot()) != fakeawstest.WithoutKMS(t, fresh) {
		t.Fatalf("rollback did not restore the account:\n%s", o.stdout)
	}
	expect(t, harden(t, env, dir, tm, append([]string{"audit"}, args...)...), cli.ExitChanges, "audit after rollback")

	expect(t, harden(t, env, dir, tm, append([]string{"apply", "--yes"}, args...)...), cli.ExitOK, "apply again")
	late, err := env.Server.Place(fakeaws.Placement{Kind: "vpc", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	o = harden(t, env, dir, tm, append([]string{"audit", "-o", "text"}, args...)...)
	expect(t, o, cli.ExitChanges, "audit with a VPC made after apply")
	if !strings.Contains(o.stdout, "flow log of VPC "+late+": none") || strings.Contains(o.stdout, "flow log of VPC "+vpc+":") {
		t.Fatalf("audit:\n%s", o.stdout)
	}
}

// An exception naming VPC ids keeps exactly those VPCs without a flow
// log: naming both, apply creates none and the region is accepted; naming
// one of two, apply logs the other only, and audit passes with the named
// VPC accepted.
func TestVPCFlowLogsException(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	vpc, err := env.Server.Place(fakeaws.Placement{Kind: "vpc", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	def, _, _ := env.Server.DefaultVpc("eu-west-1")
	exception := func(ids string) string {
		return writeConfig(t, "version: 1\nexceptions:\n  - control: vpc-flow-logs\n    regions: [eu-west-1]\n    resources: ["+ids+
			"]\n    reason: lab VPCs\n    owner: net\n    expires: 2099-01-01\n")
	}
	args := []string{"--controls", "log-archive,vpc-flow-logs", "--regions", "eu-west-1"}
	creates := func() int {
		n := 0
		for _, w := range env.Server.Writes() {
			if w.Action == "CreateFlowLogs" {
				n++
			}
		}
		return n
	}

	all := exception(def + ", " + vpc)
	o := hardenAt(t, env, dir, time.Now(), append([]string{"--config", all, "apply", "--yes", "-o", "text"}, args...)...)
	expect(t, o, cli.ExitOK, "apply with every VPC excepted")
	if n := creates(); n != 0 || !strings.Contains(o.stdout, "accepted") {
		t.Fatalf("%d CreateFlowLogs with every VPC excepted:\n%s", n, o.stdout)
	}
	env.Server.ResetLog()
	one := exception(vpc)
	o = hardenAt(t, env, dir, time.Now(), append([]string{"--config", one, "apply", "--yes"}, args...)...)
	expect(t, o, cli.ExitOK, "apply with one VPC excepted")
	if n := creates(); n != 1 {
		t.Fatalf("%d CreateFlowLogs with one of two VPCs excepted, want 1:\n%s", n, o.stdout)
	}
	o = hardenAt(t, env, dir, time.Now(), append([]string{"--config", one, "audit", "-o", "json"}, args...)...)
	expect(t, o, cli.ExitOK, "audit with one VPC excepted and the other logged")
	if !strings.Contains(o.stdout, `"resource": "`+vpc+`"`) || !strings.Contains(o.stdout, `"accepted": 1`) {
		t.Fatalf("audit should accept %s:\n%s", vpc, o.stdout)
	}
}
