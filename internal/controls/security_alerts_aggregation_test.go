package controls_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// aggregate enables Security Hub in the home region and makes an
// aggregator into it with mode and regions.
func aggregate(t *testing.T, env *fakeawstest.Env, mode string, regions ...string) {
	t.Helper()
	sh := env.Clients.SecurityHub("us-east-1")
	if _, err := sh.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.CreateFindingAggregator(ctx, &securityhub.CreateFindingAggregatorInput{RegionLinkingMode: aws.String(mode), Regions: regions}); err != nil {
		t.Fatal(err)
	}
}

func hasSecurityHubRule(t *testing.T, env *fakeawstest.Env, region string) bool {
	t.Helper()
	_, err := env.Clients.EventBridge(region).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("harden-alerts-securityhub")})
	if awserror.Is(err, "ResourceNotFoundException") {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// Each linking mode decides per region; the home region always has the
// rule.
func TestSecurityHubRuleFollowsLinkingMode(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		regions []string
		want    map[string]bool // region: has the rule
	}{
		{"ALL_REGIONS", nil, map[string]bool{"us-east-1": true, "eu-west-1": false, "ap-south-1": false}},
		{"SPECIFIED_REGIONS", []string{"eu-west-1"}, map[string]bool{"us-east-1": true, "eu-west-1": false, "ap-south-1": true}},
		{"ALL_REGIONS_EXCEPT_SPECIFIED", []string{"eu-west-1"}, map[string]bool{"us-east-1": true, "eu-west-1": true, "ap-south-1": false}},
		{"NO_REGIONS", nil, map[string]bool{"us-east-1": true, "eu-west-1": true, "ap-south-1": true}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			env, cenv := alertsEnv(t, "sec@example.com")
			aggregate(t, env, tc.mode, tc.regions...)
			j := &controltest.MemJournal{}
			applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1", "eu-west-1", "ap-south-1")
			for r, want := range tc.want {
				if got := hasSecurityHubRule(t, env, r); got != want {
					t.Errorf("%s: Security Hub rule %v, want %v", r, got, want)
				}
				f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget(r))
				if err != nil || !f.Compliant {
					t.Errorf("%s after apply: %+v %v", r, f, err)
				}
			}
		})
	}
}

// Denied the aggregator's read, a region keeps its rule and says why;
// without Security Hub in the home region there is no aggregator and
// nothing to say; the setting counts every region as aggregated.
func TestAggregatorReadFallbacks(t *testing.T) {
	t.Run("access denied", func(t *testing.T) {
		env, cenv := alertsEnv(t, "sec@example.com")
		aggregate(t, env, "ALL_REGIONS")
		env.Server.AddFault(fakeaws.Fault{Service: "securityhub", Action: "ListFindingAggregators", Error: fakeaws.AccessDenied})
		f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("eu-west-1"))
		if err != nil || !strings.Contains(f.Note, "could not be read (access denied") || !hasChange(f, "rule harden-alerts-securityhub") {
			t.Fatalf("%+v %v", f, err)
		}
	})
	t.Run("hub not enabled at home", func(t *testing.T) {
		_, cenv := alertsEnv(t, "sec@example.com")
		f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("eu-west-1"))
		if err != nil || f.Note != "" || !hasChange(f, "rule harden-alerts-securityhub") {
			t.Fatalf("%+v %v", f, err)
		}
	})
	t.Run("setting", func(t *testing.T) {
		env, cenv := alertsEnv(t, "sec@example.com")
		cenv.ControlSettings["security-alerts"].(*controls.SecurityAlertsSettings).SecurityHubAggregated = true
		f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("eu-west-1"))
		if err != nil || hasChange(f, "rule harden-alerts-securityhub") {
			t.Fatalf("%+v %v", f, err)
		}
		for _, q := range env.Server.Requests() {
			if q.Service == "securityhub" {
				t.Fatalf("the setting should spare the aggregator's read: %+v", q)
			}
		}
	})
}

func hasChange(f control.Finding, field string) bool {
	for _, c := range f.Changes {
		if c.Field == field {
			return true
		}
	}
	return false
}

// The removal's undo recreates the rule only while it is absent; a rule
// of that name made since is drift, left alone. A rule that is not
// harden's is never removed.
func TestSecurityHubRuleRemovalUndo(t *testing.T) {
	env, cenv := alertsEnv(t, "sec@example.com")
	j := &controltest.MemJournal{}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "us-east-1", "eu-west-1")
	aggregate(t, env, "ALL_REGIONS")
	f, err := controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("eu-west-1"))
	if err != nil || f.Action != control.ActionUpdate || len(f.Changes) != 1 || f.Changes[0].Desired != "removed: aggregation brings these findings home" || len(f.Destroys) != 0 {
		t.Fatalf("%+v %v", f, err)
	}
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "eu-west-1")
	if hasSecurityHubRule(t, env, "eu-west-1") {
		t.Fatal("rule not removed")
	}
	step := alertStep(t, j, "eu-west-1", "DeleteAlertRule", "harden-alerts-securityhub")
	u := undoOf(t, cenv, "eu-west-1", step)
	if u.Verdict != control.Restore || u.Do == nil {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
	// Someone makes a rule of that name: drift, and even --force leaves it.
	eb := env.Clients.EventBridge("eu-west-1")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("harden-alerts-securityhub"), EventPattern: aws.String(`{"source":["aws.securityhub"]}`)}); err != nil {
		t.Fatal(err)
	}
	if u := undoOf(t, cenv, "eu-west-1", step); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("%s %q", u.Verdict, u.What)
	}
	// That rule is not harden's: apply leaves it and says so.
	f, err = controls.SecurityAlerts{}.Check(ctx, cenv, alertTarget("eu-west-1"))
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "is not harden's") {
		t.Fatalf("%+v %v", f, err)
	}
	n := len(j.Entries)
	applyAlerts(t, cenv, j, controls.SecurityAlerts{}, "eu-west-1")
	if len(j.Entries) != n || !hasSecurityHubRule(t, env, "eu-west-1") {
		t.Fatal("apply touched a rule that is not harden's")
	}
	// Gone again: the undo puts harden's back, with its tags and target.
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("harden-alerts-securityhub")}); err != nil {
		t.Fatal(err)
	}
	if err := undoOf(t, cenv, "eu-west-1", step).Do(ctx); err != nil {
		t.Fatal(err)
	}
	tg, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("harden-alerts-securityhub")})
	if err != nil || len(tg.Targets) != 1 || aws.ToString(tg.Targets[0].Id) != "harden-alert-home-bus" {
		t.Fatalf("targets %+v %v", tg, err)
	}
	if u := undoOf(t, cenv, "eu-west-1", step); u.Verdict != control.Already {
		t.Fatalf("after the restore: %s %q", u.Verdict, u.What)
	}
}

// The plan reads securityhub's plan: when it creates the aggregator, a
// region needs no rule, and says why; not when harden may not read the
// aggregator (apply could not see it either), nor when securityhub leaves
// the home region as it is.
func TestPlanForeseesTheAggregator(t *testing.T) {
	creates := control.Finding{Action: control.ActionCreate, Changes: []control.Change{{Field: "finding aggregator", Current: "none", Desired: "all regions, into this one"}}}
	planned := func(f control.Finding) control.Planned {
		return func(id, region string) (control.Finding, bool) {
			return f, id == "securityhub" && region == "us-east-1"
		}
	}
	env, cenv := alertsEnv(t, "sec@example.com")
	f, err := controls.SecurityAlerts{}.CheckForeseeing(ctx, cenv, alertTarget("eu-west-1"), planned(creates))
	if err != nil || hasChange(f, "rule harden-alerts-securityhub") || !strings.Contains(f.Note, "the finding aggregator securityhub creates in us-east-1 in this run") {
		t.Fatalf("%+v %v", f, err)
	}
	unmanaged := creates
	unmanaged.Unmanaged = "managed elsewhere"
	f, err = controls.SecurityAlerts{}.CheckForeseeing(ctx, cenv, alertTarget("eu-west-1"), planned(unmanaged))
	if err != nil || !hasChange(f, "rule harden-alerts-securityhub") {
		t.Fatalf("unmanaged securityhub: %+v %v", f, err)
	}
	env.Server.AddFault(fakeaws.Fault{Service: "securityhub", Action: "ListFindingAggregators", Error: fakeaws.AccessDenied})
	f, err = controls.SecurityAlerts{}.CheckForeseeing(ctx, cenv, alertTarget("eu-west-1"), planned(creates))
	if err != nil || !hasChange(f, "rule harden-alerts-securityhub") {
		t.Fatalf("denied read: %+v %v", f, err)
	}
}
