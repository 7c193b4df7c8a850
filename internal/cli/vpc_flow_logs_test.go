package cli_test

import (
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
