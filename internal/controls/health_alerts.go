package controls

import (
	"context"
	"fmt"

	"github.com/harden-dev/harden/internal/control"
)

// HealthAlerts sends AWS Health events from every region to the alert
// topic as readable messages. Events of global services arrive in
// us-east-1, which is one of the regions. Outside the home region the rule
// forwards to the home bus through security-alerts' forwarder role, which
// EventBridge needs only when it delivers, not when the target is put; what
// the rule needs is the alert topic, so every region waits for
// security-alerts' home target to have made it (its stage "topic"), not for
// security-alerts' whole apply.
type HealthAlerts struct{}

var healthRule = alertRule{
	Name:        "harden-alerts-health",
	Description: "harden: AWS Health events to the alert topic",
	Pattern:     `{"source":["aws.health"],"detail-type":["AWS Health Event"]}`,
	Paths: map[string]string{"service": "$.detail.service", "code": "$.detail.eventTypeCode", "category": "$.detail.eventTypeCategory",
		"account": "$.account", "region": "$.region", "resource": "$.resources[0]", "description": "$.detail.eventDescription[0].latestDescription"},
	Template: messageTemplate("AWS Health event: <service> <code>", "Category: <category>", "Resource: <resource>",
		"https://health.aws.amazon.com/health/home#/account/dashboard/open-issues") + "\n\"<description>\"",
}

func (HealthAlerts) Info() control.Info {
	return control.Info{
		ID:        "health-alerts",
		Title:     "AWS Health events alert a person",
		Scope:     control.Regional,
		Desired:   "AWS Health events from every region reach the alert topic in the home region as readable messages",
		DependsOn: []string{securityAlertsID},
		// The alert topic (in the home region), not security-alerts' rules.
		Needs:        map[string]string{securityAlertsID: AlertTopicStage},
		ReadActions:  []string{"events:DescribeRule", "events:ListTargetsByRule"},
		WriteActions: []string{"events:PutRule", "events:TagResource", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule", "events:ListTagsForResource", "iam:PassRole"},
		Service:      "events",
		Cost:         control.Cost{Drivers: "free: AWS service events on the default bus cost nothing; cross-region forwarding of a few events is cents"},
	}
}

func (HealthAlerts) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	_, f, err := checkHealth(ctx, env, t)
	return f, err
}

func checkHealth(ctx context.Context, env *control.Env, t control.Target) ([]ruleRead, control.Finding, error) {
	reads, err := readRules(ctx, env, t, []alertRule{healthRule})
	if err != nil {
		return nil, control.Finding{}, fmt.Errorf("health-alerts: %w", err)
	}
	changes := ruleChanges(t, reads)
	f := control.Finding{Compliant: true, Note: globalEventsNote(t)}
	if len(changes) > 0 {
		f.Compliant, f.Action, f.Changes = false, control.ActionCreate, changes
	}
	return reads, f, nil
}

// healthGlobalRegion is where AWS Health delivers the events of global
// services (IAM, CloudFront, Route 53, Organizations, …) to EventBridge.
const healthGlobalRegion = "us-east-1"

// globalEventsNote says, on the home target, that the run leaves
// healthGlobalRegion out, so that global services' events reach no topic:
// the user's choice of regions, said rather than hidden.
func globalEventsNote(t control.Target) string {
	if t.Region != t.HomeRegion || t.Covers(healthGlobalRegion) {
		return ""
	}
	return "AWS Health events of global services (IAM, CloudFront, Route 53, …) arrive only in " + healthGlobalRegion +
		", which this run does not cover: they reach no topic until " + healthGlobalRegion + " is covered"
}

func (c HealthAlerts) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	reads, f, err := checkHealth(ctx, env, t)
	if err != nil || f.Compliant {
		return nil, err
	}
	if err := applyRules(ctx, env, t, j, reads); err != nil {
		return nil, fmt.Errorf("health-alerts: %w", err)
	}
	return f.Changes, nil
}

// Steps lists the writes Apply makes, each with its undo.
func (HealthAlerts) Steps() control.Steps {
	return control.Steps{
		stepPutAlertRule:   control.Keyed(ruleKey, undoPutRule),
		stepPutAlertTarget: control.Keyed(ruleKey, undoPutTarget),
	}
}
