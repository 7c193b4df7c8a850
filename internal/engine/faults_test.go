package engine_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// The fakeaws service each control talks to.
var serviceOf = map[string]string{
	"iam-password-policy":            "iam",
	"s3-account-public-access-block": "s3control",
	"log-archive":                    "kms",
	"cloudtrail":                     "cloudtrail",
	"config-recorder":                "config",
	"ebs-default-encryption":         "ec2",
	"access-analyzer":                "access-analyzer",
	"guardduty":                      "guardduty",
	"securityhub":                    "securityhub",
	"detective":                      "detective",
	"default-vpc":                    "ec2",
	"default-security-group":         "ec2",
	"vpc-flow-logs":                  "ec2",
	"security-alerts":                "events",
	"health-alerts":                  "events",
	"cloudtrail-alarms":              "logs",
	"budget-alarm":                   "budgets",
	"cost-anomaly-detection":         "ce",
	"alternate-contacts":             "account",
}

// readsPrerequisite reports whether control c depends on control dep and
// reads service, dep's service, itself.
func readsPrerequisite(c control.Info, dep, service string) bool {
	for _, d := range c.DependsOn {
		if d != dep {
			continue
		}
		for _, a := range c.ReadActions {
			if strings.HasPrefix(a, service+":") {
				return true
			}
		}
	}
	return false
}

// alsoCalls are the other services a control calls: a fault there fails
// it too.
var alsoCalls = map[string]map[string]bool{
	"security-alerts":   {"iam": true, "kms": true, "sns": true, "events": true},
	"health-alerts":     {"events": true},
	"cloudtrail-alarms": {"cloudtrail": true, "iam": true},
}

// TestFaultsPerControl: for every control, access denied in one region
// fails only that target, with a line naming control, region and the IAM
// actions to allow; throttling is retried to success.
func TestFaultsPerControl(t *testing.T) {
	for _, c := range controls.All() {
		info := c.Info()
		service, ok := serviceOf[info.ID]
		if !ok {
			t.Fatalf("no service known for %s: add it to serviceOf", info.ID)
		}
		t.Run(info.ID+"/access-denied", func(t *testing.T) {
			env := fakeawstest.Start(t)
			region := "eu-west-1"
			if info.Scope == control.Account {
				region = "us-east-1"
			}
			f := fakeaws.Fault{Service: service, Error: fakeaws.AccessDenied}
			if service != "iam" { // IAM is global: its calls are signed for us-east-1
				f.Region = region
			}
			env.Server.AddFault(f)
			results := realRun(env, "eu-west-1", "us-east-1").Check(ctx)
			for _, r := range results {
				if r.Control.ID == info.ID && r.Region == region {
					line := r.Err.Error() + "; " + r.Reason
					if r.Status != engine.Error || !strings.Contains(line, info.ID) || !strings.Contains(line, region) ||
						!strings.Contains(line, info.ReadActions[0]) || strings.Contains(line, "\n") {
						t.Fatalf("denied target: %s: %q", r.Status, line)
					}
					continue
				}
				if r.Region == region && readsPrerequisite(r.Control, info.ID, service) && r.Status == engine.Error {
					continue // Detective reads GuardDuty, its prerequisite
				}
				if r.Region == region && serviceOf[r.Control.ID] == service {
					continue // denied as well: it needs the same service
				}
				if !fresh(r) && r.Status != engine.Unmanaged && !alsoCalls[r.Control.ID][service] {
					t.Fatalf("%s: %s (%v): must not be affected", r.Key(), r.Status, r.Err)
				}
			}
		})
		t.Run(info.ID+"/throttled", func(t *testing.T) {
			env := fakeawstest.Start(t)
			env.Server.AddFault(fakeaws.Fault{Service: service, Error: fakeaws.Throttle, Times: 3})
			run := realRun(env, "eu-west-1")
			run.Controls = []control.Control{c}
			for _, r := range run.Check(ctx) {
				if !fresh(r) && r.Status != engine.Unmanaged {
					t.Fatalf("%s after throttling: %s (%v)", r.Key(), r.Status, r.Err)
				}
			}
		})
	}
}

// An analyzer in an unexpected state (FAILED) cannot be replaced (AWS
// allows one per region): it is reported as unmanaged, and apply leaves it.
func TestAnalyzerInUnexpectedState(t *testing.T) {
	env := fakeawstest.Start(t)
	_, err := env.Clients.AccessAnalyzer("eu-west-1").CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String("legacy"), Type: aatypes.TypeAccount})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.SetAnalyzerStatus("eu-west-1", "legacy", "FAILED"); err != nil {
		t.Fatal(err)
	}
	run := realRun(env, "eu-west-1")
	run.Controls = []control.Control{controls.AccessAnalyzer{}}
	plan := run.Check(ctx)
	if len(plan) != 1 || plan[0].Status != engine.Unmanaged || !strings.Contains(plan[0].Reason, `"legacy" is FAILED`) {
		t.Fatalf("plan: %+v", plan)
	}
	env.Server.ResetLog()
	if res := run.Apply(ctx, plan, nil); res[0].Status != engine.Unmanaged || len(env.Server.Writes()) != 0 {
		t.Fatalf("apply touched an unmanaged target: %+v, writes %v", res, env.Server.Writes())
	}
}
