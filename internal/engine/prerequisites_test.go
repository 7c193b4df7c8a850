package engine_test

import (
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// The Config service-linked role is created once, in the home region,
// before any region applies: no region races for it and the journal holds
// no refused create.
func TestSharedPrerequisiteOnce(t *testing.T) {
	env := fakeawstest.Start(t)
	regions := []string{"us-east-1", "eu-west-1", "eu-west-2", "ap-south-1", "sa-east-1", "us-west-2"}
	run := realRun(env, regions...)
	run.Concurrency = 64
	j := &controltest.MemJournal{}
	for _, r := range run.Apply(ctx, run.Check(ctx), j.For) {
		if r.Status != engine.Compliant && !deferred(r) {
			t.Fatalf("%s: %s %v", r.Key(), r.Status, r.Err)
		}
	}
	roles := 0
	for _, e := range j.Entries {
		if e.Failed {
			t.Fatalf("refused step in the journal: %+v", e)
		}
		if e.Step.Kind == "CreateServiceLinkedRole" {
			roles++
			if e.Control != "config-recorder" || e.Region != "us-east-1" {
				t.Fatalf("role journaled under %s@%s, want config-recorder@us-east-1", e.Control, e.Region)
			}
		}
	}
	calls := 0
	for _, q := range env.Server.Requests() {
		if q.Action == "CreateServiceLinkedRole" {
			calls++
		}
	}
	if roles != 1 || calls != 1 {
		t.Fatalf("%d role steps journaled, %d CreateServiceLinkedRole calls: want 1 and 1", roles, calls)
	}
}

// A failed shared prerequisite fails the control's targets with its error
// and leaves every other control alone.
func TestSharedPrerequisiteFails(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "iam", Action: "CreateServiceLinkedRole", Error: fakeaws.AccessDenied})
	run := realRun(env, "us-east-1", "eu-west-1")
	j := &controltest.MemJournal{}
	for _, r := range run.Apply(ctx, run.Check(ctx), j.For) {
		switch {
		case r.Control.ID == "config-recorder":
			if r.Status != engine.Error || !strings.Contains(r.Err.Error(), "shared prerequisite in us-east-1") {
				t.Fatalf("%s: %s %v", r.Key(), r.Status, r.Err)
			}
		case r.Control.ID == "securityhub":
			// Security Hub needs the recorder in the same region.
			if r.Status != engine.Blocked {
				t.Fatalf("%s: %s %v, want blocked behind config-recorder", r.Key(), r.Status, r.Err)
			}
		case r.Status != engine.Compliant && !deferred(r):
			t.Fatalf("%s: %s %v", r.Key(), r.Status, r.Err)
		}
	}
	for _, w := range env.Server.Writes() {
		if w.Service == "config" {
			t.Fatalf("config written without its role: %+v", w)
		}
	}
}
