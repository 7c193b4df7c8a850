package controls

import (
	"context"
	"fmt"
	"strings"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// SecurityAlerts sends GuardDuty, Access Analyzer and Security Hub findings
// from every region to one SNS topic in the home region, as readable
// messages, and subscribes the configured email addresses.
//
// It is a regional control. The home region's target owns everything
// account-wide: the topic, its customer managed KMS key, the subscriptions
// and the IAM role (harden-alert-forwarder) through which the other
// regions' rules forward events to the home region's default bus; its own
// rules deliver to the topic through an input transformer. The other
// regions' targets only put their rules, naming the role by ARN (EventBridge
// does not need the role to exist when a target is put, only when it
// delivers), so regions apply in parallel without racing for the role. On
// rollback the role goes after every region's rules.
//
// Security Hub findings: where a finding aggregator brings linked regions'
// findings home (setting securityhub_aggregated), only the home region has
// the Security Hub rule; otherwise every region has it.
type SecurityAlerts struct{}

const securityAlertsID = "security-alerts"

// AlertTopicName is the SNS topic every alert control notifies.
const AlertTopicName = "harden-security-alerts"

// AlertTopicARN is the alert topic's ARN for t's account and home region.
func AlertTopicARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", t.HomeRegion, t.AccountID, AlertTopicName)
}

// SecurityAlertsSettings are the security-alerts control's settings.
type SecurityAlertsSettings struct {
	Emails                []string `yaml:"emails" doc:"email addresses subscribed to the alert topic (each must confirm the subscription)"`
	GuardDutyMinSeverity  float64  `yaml:"guardduty_min_severity" doc:"lowest GuardDuty finding severity sent (1-10; 4 = medium, 7 = high)"`
	SecurityHubAggregated bool     `yaml:"securityhub_aggregated" doc:"Security Hub aggregates findings into the home region: send Security Hub findings from the home region only"`
}

// Validate checks the settings.
func (s *SecurityAlertsSettings) Validate() error {
	for _, e := range s.Emails {
		if at := strings.Index(e, "@"); at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " ,;") {
			return control.FieldErrorf("emails", "%q is not an email address", e)
		}
	}
	if s.GuardDutyMinSeverity < 1 || s.GuardDutyMinSeverity > 10 {
		return control.FieldErrorf("guardduty_min_severity", "%v is outside 1-10", s.GuardDutyMinSeverity)
	}
	return nil
}

// NewSettings returns the defaults: no email, medium severity and above.
func (SecurityAlerts) NewSettings() control.ControlSettings {
	return &SecurityAlertsSettings{GuardDutyMinSeverity: 4}
}

func securityAlertsSettings(env *control.Env) *SecurityAlertsSettings {
	return control.SettingsOf(env, securityAlertsID, SecurityAlerts{}.NewSettings().(*SecurityAlertsSettings))
}

func (SecurityAlerts) Info() control.Info {
	return control.Info{
		ID:      securityAlertsID,
		Title:   "Security findings alert a person",
		Scope:   control.Regional,
		Desired: "GuardDuty, Access Analyzer and Security Hub findings from every region reach an encrypted SNS topic in the home region as readable messages, with email subscriptions",
		ReadActions: []string{"events:DescribeRule", "events:ListTargetsByRule", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
			"kms:DescribeKey", "kms:GetKeyPolicy", "iam:GetRole", "iam:GetRolePolicy"},
		WriteActions: []string{"events:PutRule", "events:TagResource", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule", "events:ListTagsForResource",
			"sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:DeleteTopic", "sns:TagResource", "sns:ListTagsForResource",
			"kms:CreateKey", "kms:PutKeyPolicy", "kms:CreateAlias", "kms:DeleteAlias", "kms:ScheduleKeyDeletion", "kms:ListKeys", "kms:TagResource", "kms:ListResourceTags",
			"iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole", "iam:PassRole"},
		Service: "events",
		Cost:    control.Cost{UsageBased: true, Drivers: "one KMS key ($1/month), SNS email deliveries and cross-region events (cents)"},
	}
}

// securityRules are the rules of t's region under the settings.
func securityRules(t control.Target, s *SecurityAlertsSettings) []alertRule {
	rules := []alertRule{guardDutyRule(s.GuardDutyMinSeverity), accessAnalyzerRule}
	if t.Region == t.HomeRegion || !s.SecurityHubAggregated {
		rules = append(rules, securityHubRule)
	}
	return rules
}

func guardDutyRule(minSeverity float64) alertRule {
	return alertRule{
		Name:        "harden-alerts-guardduty",
		Description: fmt.Sprintf("harden: GuardDuty findings of severity %g and above to the alert topic", minSeverity),
		Pattern:     fmt.Sprintf(`{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"severity":[{"numeric":[">=",%g]}]}}`, minSeverity),
		Paths: map[string]string{"title": "$.detail.title", "severity": "$.detail.severity", "type": "$.detail.type",
			"account": "$.account", "region": "$.region", "resource": "$.detail.resource.resourceType", "id": "$.detail.id"},
		Template: messageTemplate("GuardDuty finding: <title>", "Severity: <severity> (<type>)", "Resource: <resource>",
			"https://console.aws.amazon.com/guardduty/home?region=<region>#/findings?search=id%3D<id>"),
	}
}

var accessAnalyzerRule = alertRule{
	Name:        "harden-alerts-access-analyzer",
	Description: "harden: active IAM Access Analyzer findings to the alert topic",
	Pattern:     `{"source":["aws.access-analyzer"],"detail-type":["Access Analyzer Finding"],"detail":{"status":["ACTIVE"]}}`,
	Paths: map[string]string{"resourceType": "$.detail.resourceType", "resource": "$.detail.resource", "account": "$.account",
		"region": "$.region", "public": "$.detail.isPublic"},
	Template: messageTemplate("Access Analyzer finding: <resourceType> shared outside the account (public: <public>)", "Severity: review",
		"Resource: <resource>", "https://console.aws.amazon.com/access-analyzer/home?region=<region>#/findings"),
}

var securityHubRule = alertRule{
	Name:        "harden-alerts-securityhub",
	Description: "harden: new failed Security Hub findings of high or critical severity to the alert topic",
	Pattern: `{"source":["aws.securityhub"],"detail-type":["Security Hub Findings - Imported"],"detail":{"findings":{` +
		`"Compliance":{"Status":["FAILED"]},"Severity":{"Label":["HIGH","CRITICAL"]},"Workflow":{"Status":["NEW"]},"RecordState":["ACTIVE"]}}}`,
	Paths: map[string]string{"title": "$.detail.findings[0].Title", "severity": "$.detail.findings[0].Severity.Label",
		"account": "$.detail.findings[0].AwsAccountId", "region": "$.detail.findings[0].Region", "resource": "$.detail.findings[0].Resources[0].Id"},
	Template: messageTemplate("Security Hub finding: <title>", "Severity: <severity>", "Resource: <resource>",
		"https://console.aws.amazon.com/securityhub/home?region=<region>#/findings"),
}

// messageTemplate makes an input template of text lines, each a quoted
// string as EventBridge's input transformer takes plain text, with the
// account and region lines every alert carries.
func messageTemplate(what, severity, resource, link string) string {
	lines := []string{what, severity, "Account: <account>", "Region: <region>", resource, "Console: " + link}
	return `"` + strings.Join(lines, "\"\n\"") + `"`
}

// securityState is everything security-alerts reads in one region.
type securityState struct {
	home  alertHome     // home region only
	role  forwarderRole // home region: the role and its policy; elsewhere whether it exists
	rules []ruleRead
}

func readSecurityState(ctx context.Context, env *control.Env, t control.Target, s *SecurityAlertsSettings) (securityState, error) {
	var st securityState
	reads := []func(context.Context) error{func(ctx context.Context) (err error) {
		if st.rules, err = readRules(ctx, env, t, securityRules(t, s)); err != nil {
			return fmt.Errorf("%s: %w", securityAlertsID, err)
		}
		return nil
	}}
	if t.Region == t.HomeRegion {
		reads = append(reads, func(ctx context.Context) (err error) {
			st.home, err = readAlertHome(ctx, env, t)
			return err
		}, func(ctx context.Context) (err error) {
			st.role, err = readForwarderRole(ctx, env, t)
			return err
		})
	} else {
		reads = append(reads, func(ctx context.Context) (err error) {
			st.role.Exists, err = readForwarderRoleOnly(ctx, env)
			return err
		})
	}
	err := parallel.Do(ctx, reads...)
	return st, err
}

func (c SecurityAlerts) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	_, f, err := c.check(ctx, env, t, securityAlertsSettings(env))
	return f, err
}

func (c SecurityAlerts) check(ctx context.Context, env *control.Env, t control.Target, s *SecurityAlertsSettings) (securityState, control.Finding, error) {
	st, err := readSecurityState(ctx, env, t, s)
	if err != nil {
		return st, control.Finding{}, err
	}
	var changes []control.Change
	var notes []string
	if t.Region == t.HomeRegion {
		if why := st.home.foreignTopic(); why != "" {
			return st, control.Finding{Unmanaged: why, Changes: []control.Change{{Field: "topic " + AlertTopicName, Current: "not harden's", Desired: "harden's"}}}, nil
		}
		changes = append(changes, st.home.changes(t, s)...)
		changes = append(changes, st.role.changes(t)...)
		notes = st.home.pendingNotes()
	}
	changes = append(changes, ruleChanges(t, st.rules)...)
	if t.Region != t.HomeRegion && len(changes) == 0 {
		// The home region's target makes the role; without it this
		// region's rules forward nothing. Apply here cannot fix that, so
		// it is said (once the rules are in place), not planned.
		if !st.role.Exists {
			notes = append(notes, fmt.Sprintf("role %s is missing, nothing is forwarded until security-alerts is applied in the home region %s", ForwarderRoleName, t.HomeRegion))
		}
	}
	noEmail := t.Region == t.HomeRegion && len(s.Emails) == 0
	f := control.Finding{Note: strings.Join(notes, "; ")}
	switch {
	case len(changes) > 0:
		f.Action, f.Changes = control.ActionCreate, changes
		if noEmail {
			f.Note = strings.TrimPrefix(f.Note+"; "+missingEmail, "; ")
		}
	case noEmail:
		f.Unmanaged = missingEmail
	default:
		f.Compliant = true
	}
	return st, f, nil
}

// missingEmail is the home target's finding without an address, in the
// shape budget-alarm's amount and alternate-contacts' security contact
// have: "no <setting> configured: set <key>", with no invented change
// (apply cannot supply an address). The topic, key and rules are made all
// the same, because the other alert controls notify the topic and a chat
// or other subscription can be added to it later; but nobody is told
// until an address is set, so the target stays a finding (unmanaged, exit
// 2 in audit) and a fresh plan says it next to the changes. A
// subscription waiting for its recipient's confirmation is compliant with
// a note ("pending confirmation"): harden has done what it can, and only
// the recipient can confirm.
const missingEmail = "no email address configured: set controls." + securityAlertsID + ".emails"

// Apply writes what the region lacks, from one read of its state.
func (c SecurityAlerts) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	s := securityAlertsSettings(env)
	st, f, err := c.check(ctx, env, t, s)
	if err != nil || f.Compliant || f.Unmanaged != "" {
		return nil, err
	}
	if t.Region == t.HomeRegion {
		// The key and topic, and the role, need nothing of each other.
		err := parallel.All(ctx, func(ctx context.Context) error {
			return applyAlertHome(ctx, env, t, j, s, st.home)
		}, func(ctx context.Context) error {
			return applyForwarderRole(ctx, env, t, j, st.role)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", securityAlertsID, err)
		}
	}
	if err := applyRules(ctx, env, t, j, st.rules); err != nil {
		return nil, fmt.Errorf("%s: %w", securityAlertsID, err)
	}
	return f.Changes, nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c SecurityAlerts) Steps() control.Steps {
	return control.Steps{
		stepCreateAlertKey:      undoCreateAlertKey,
		stepCreateAlertKeyAlias: undoCreateAlertKeyAlias,
		// The topic and the forwarder role are independent of each other
		// (the rules that use them are undone first); the key, which the
		// topic uses, after both.
		stepCreateAlertTopic:       control.Keyed(named("topic"), undoCreateAlertTopic),
		stepSetAlertTopicAttribute: control.Keyed(named("topic"), undoSetAlertTopicAttribute),
		stepSubscribeAlertEmail:    control.Keyed(named("topic"), undoSubscribeAlertEmail),
		stepPutAlertKeyPolicy:      undoPutAlertKeyPolicy,
		stepCreateForwarderRole:    control.Keyed(named("forwarder role"), undoCreateForwarderRole),
		stepPutForwarderRolePolicy: control.Keyed(named("forwarder role"), undoPutForwarderRolePolicy),
		stepPutAlertRule:           control.Keyed(ruleKey, undoPutRule),
		stepPutAlertTarget:         control.Keyed(ruleKey, undoPutTarget),
	}
}
