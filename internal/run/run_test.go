package run_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeawstest"
	"github.com/harden-dev/harden/internal/run"
)

var ctx = context.Background()

func opts(env *fakeawstest.Env) run.Options {
	return run.Options{EndpointURL: env.URL, HomeRegion: "us-east-1", Timeouts: awsclient.Timeouts{Call: 10 * time.Second}}
}

func TestConnect(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.SetAccountAlias("acme-prod")
	o := opts(env)
	o.Regions = []string{"eu-west-1", "af-south-1"}
	s, err := run.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccountID != "123456789012" || s.CallerARN != "arn:aws:iam::123456789012:user/fakeaws" || s.AccountAlias != "acme-prod" ||
		s.HomeRegion != "us-east-1" || len(s.Regions.Enabled) != 1 || len(s.Regions.Skipped) != 1 || s.Env == nil {
		t.Fatalf("session: %+v", s)
	}
	// Account-wide controls run in the home region, regional ones in eu-west-1.
	if plan := s.Plan(ctx); len(plan) != s.Targets() {
		t.Fatalf("%d results for %d targets", len(plan), s.Targets())
	}
}

func TestConnectInputErrors(t *testing.T) {
	env := fakeawstest.Start(t)
	cases := []struct {
		edit func(*run.Options)
		want string
	}{
		{func(o *run.Options) { o.HomeRegion = "af-south-1" }, "aws account enable-region --region-name af-south-1"},
		{func(o *run.Options) { o.HomeRegion = "us-east-9" }, `unknown region "us-east-9"`},
		{func(o *run.Options) { o.Regions = []string{"eu-west-9"} }, `unknown region "eu-west-9"`},
		{func(o *run.Options) {
			o.Regions = []string{"af-south-1"}
			o.Controls = []string{"ebs-default-encryption"}
		}, "nothing to check"},
		{func(o *run.Options) { o.Controls = []string{"cloudtrial"} }, "did you mean cloudtrail?"},
		{func(o *run.Options) { o.Controls = []string{"cloudtrail"}; o.Skip = []string{"cloudtrail"} }, "no control to run"},
	}
	for _, c := range cases {
		o := opts(env)
		c.edit(&o)
		env.Server.ResetLog()
		_, err := run.Connect(ctx, o)
		var ie *run.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want an InputError with %q", o, err, c.want)
		}
		if w := env.Server.Writes(); len(w) != 0 {
			t.Errorf("wrote %+v", w)
		}
	}
}

// Destructive changes are those whose finding names a loss, whatever the
// control: a destructive control's create is not one (GuardDuty enabling a
// detector), and Withhold leaves out exactly the destructive ones.
func TestCount(t *testing.T) {
	vpc := control.Loss{Verb: "delete", Kind: "default VPC", Resource: "vpc-1", What: "deletes vpc-1"}
	feature := control.Loss{Verb: "turn off", Kind: "GuardDuty feature", Resource: "RUNTIME_MONITORING", What: "turns off"}
	r := func(id string, destructive bool, st engine.Status, a control.Action, loss ...control.Loss) engine.Result {
		return engine.Result{Control: control.Info{ID: id, Destructive: destructive}, Status: st, Action: a, Destroys: loss}
	}
	plan := []engine.Result{
		r("a", false, engine.NonCompliant, control.ActionCreate),
		r("b", false, engine.NonCompliant, control.ActionUpdate),
		r("guardduty", true, engine.NonCompliant, control.ActionCreate),
		r("guardduty", true, engine.NonCompliant, control.ActionAdopt, feature),
		r("default-vpc", true, engine.NonCompliant, control.ActionDelete, vpc),
		r("default-vpc", true, engine.NonCompliant, control.ActionDelete, vpc),
		r("d", false, engine.NonCompliant, control.ActionDelete),
		r("e", true, engine.Compliant, ""),
		r("f", false, engine.NotChecked, ""),
	}
	c := run.Count(plan)
	if c.Create != 2 || c.Update != 1 || c.Delete != 1 || c.Adopt != 0 || c.Destructive != 3 || c.NotDestructive() != 4 || c.Total() != 7 ||
		strings.Join(c.DestructiveControls, ",") != "guardduty,default-vpc" || len(c.Losses) != 3 {
		t.Fatalf("counts: %+v", c)
	}
	held := run.Withhold(plan, "not allowed")
	for i, h := range held {
		want := i == 3 || i == 4 || i == 5
		if h.Withheld != want || (want && h.Reason != "not allowed") {
			t.Errorf("target %d (%s): withheld %v %q", i, h.Control.ID, h.Withheld, h.Reason)
		}
		if plan[i].Withheld {
			t.Fatal("Withhold changed its input")
		}
	}
	if c := run.Count(held); c.Total() != 4 || c.Destructive != 0 {
		t.Fatalf("counts after Withhold: %+v", c)
	}
}
