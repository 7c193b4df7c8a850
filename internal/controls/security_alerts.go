package controls

import (
	"context"
	"fmt"
	"strings"

	"github.com/harden-dev/harden/internal/awserror"
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
// Security Hub findings: the home region's EventBridge receives the
// findings of every region Security Hub's finding aggregator links into it
// (the Security Hub user guide, "Types of Security Hub integration with
// EventBridge": "In an aggregation Region, the event feed includes events
// for findings from the aggregation Region and the linked Regions"). So
// each other region has the Security Hub rule only where no aggregator in
// the home region links it: otherwise each of its findings would reach the
// topic twice. Every target reads the aggregator (ListFindingAggregators,
// GetFindingAggregator in the home region); outside the home region
// security-alerts runs after securityhub's home-region target
// (Info.AfterHome), which makes the aggregator, so apply decides on what is
// there. The plan, made before
// securityhub has applied, reads securityhub's plan (control.Foreseeing):
// when it creates the aggregator, the plan says the rule is not needed. A
// harden rule left in a region the aggregator now links is removed
// (rollback puts it back). The home region always has the rule.
type SecurityAlerts struct{}

const securityAlertsID = "security-alerts"

// AlertTopicName is the SNS topic every alert control notifies.
const AlertTopicName = "harden-security-alerts"

// AlertTopicStage is security-alerts' stage (control.Stage) reached once
// the alert topic, its key and their policies are in place in the home
// region: what the other alert controls need.
const AlertTopicStage = "topic"

// AlertTopicARN is the alert topic's ARN for t's account and home region.
func AlertTopicARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", t.HomeRegion, t.AccountID, AlertTopicName)
}

// SecurityAlertsSettings are the security-alerts control's settings.
type SecurityAlertsSettings struct {
	Emails                []string `yaml:"emails" doc:"email addresses subscribed to the alert topic (each must confirm the subscription)"`
	GuardDutyMinSeverity  float64  `yaml:"guardduty_min_severity" doc:"lowest GuardDuty finding severity sent (1-10; 4 = medium, 7 = high)"`
	SecurityHubAggregated bool     `yaml:"securityhub_aggregated" doc:"treat every region as aggregated into the home region even without a finding aggregator harden can read (one it may not read, say): Security Hub findings are sent from the home region only. Without it, the finding aggregator in the home region decides per region"`
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
		ID:    securityAlertsID,
		Title: "Security findings alert a person",
		Scope: control.Regional,
		// securityhub's home-region target makes the finding aggregator
		// that decides which regions need the Security Hub rule.
		// Only its aggregator, made right after enabling Security Hub,
		// not its standards being READY.
		AfterHome: []string{"securityhub"},
		Needs:     map[string]string{"securityhub": shAggregatorStage},
		// The other alert controls need the topic, its key and policy,
		// not the rules or the forwarder role.
		Stages: []control.Stage{{Name: AlertTopicStage, Home: true,
			What: "the alert topic exists in the home region, encrypted with its key, with the policies that let the alert services publish"}},
		Desired: "GuardDuty, Access Analyzer and Security Hub findings from every region reach an encrypted SNS topic in the home region as readable messages, with email subscriptions",
		ReadActions: []string{"events:DescribeRule", "events:ListTargetsByRule", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
			"kms:DescribeKey", "kms:GetKeyPolicy", "iam:GetRole", "iam:GetRolePolicy",
			"events:ListTagsForResource", "securityhub:ListFindingAggregators", "securityhub:GetFindingAggregator"},
		WriteActions: []string{"events:PutRule", "events:TagResource", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
			"sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:DeleteTopic", "sns:TagResource", "sns:ListTagsForResource",
			"kms:CreateKey", "kms:PutKeyPolicy", "kms:CreateAlias", "kms:DeleteAlias", "kms:ScheduleKeyDeletion", "kms:ListKeys", "kms:TagResource", "kms:ListResourceTags",
			"iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole", "iam:PassRole", "iam:ListRoleTags"},
		Service: "events",
		Cost:    control.Cost{UsageBased: true, Drivers: "one KMS key ($1/month), SNS email deliveries and cross-region events (cents)"},
	}
}

// securityRules are the rules every region has; the Security Hub rule is
// decided per region (see SecurityAlerts).
func securityRules(s *SecurityAlertsSettings) []alertRule {
	return []alertRule{guardDutyRule(s.GuardDutyMinSeverity), accessAnalyzerRule}
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
	// Elsewhere than the home region: the Security Hub rule as read (with
	// its tags and harden's target; targetIDs are all its targets), and
	// whether the aggregator brings the region's findings home.
	shRule     ruleState
	shTarget   targetState
	shTargets  []string
	aggregated bool
	aggNote    string
}

func readSecurityState(ctx context.Context, env *control.Env, t control.Target, s *SecurityAlertsSettings) (securityState, error) {
	var st securityState
	rules := securityRules(s)
	if t.Region == t.HomeRegion {
		rules = append(rules, securityHubRule)
	}
	reads := []func(context.Context) error{func(ctx context.Context) (err error) {
		if st.rules, err = readRules(ctx, env, t, rules); err != nil {
			return fmt.Errorf("%s: %w", securityAlertsID, err)
		}
		return nil
	}}
	if t.Region != t.HomeRegion {
		// The Security Hub rule and the aggregator, with the other reads:
		// which of the two cases holds is decided once all are in.
		reads = append(reads, func(ctx context.Context) (err error) {
			if st.shRule, _, err = readRule(ctx, env, t.Region, securityHubRule.Name, true); err != nil {
				return fmt.Errorf("%s: %w", securityAlertsID, err)
			}
			return nil
		}, func(ctx context.Context) (err error) {
			if st.shTarget, st.shTargets, err = readTarget(ctx, env, t.Region, securityHubRule.Name, forwardTargetID); err != nil {
				return fmt.Errorf("%s: %w", securityAlertsID, err)
			}
			return nil
		}, func(ctx context.Context) (err error) {
			st.aggregated, st.aggNote, err = readAggregation(ctx, env, t, s)
			return err
		})
	}
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

// readAggregation reads whether the finding aggregator in the home region
// brings t's region's Security Hub findings home. Security Hub not enabled
// in the home region means no aggregator. An aggregator harden may not
// read counts as none, with a note: a finding sent twice is better than
// one never sent.
func readAggregation(ctx context.Context, env *control.Env, t control.Target, s *SecurityAlertsSettings) (bool, string, error) {
	if s.SecurityHubAggregated {
		return true, "", nil
	}
	agg, err := findAggregator(ctx, env.AWS.SecurityHub(t.HomeRegion), t.HomeRegion)
	switch {
	case awserror.Is(err, shNotEnabledCode):
		return false, "", nil
	case awserror.IsAccessDenied(err):
		return false, fmt.Sprintf("Security Hub's finding aggregator in %s could not be read (access denied: allow securityhub:ListFindingAggregators "+
			"and securityhub:GetFindingAggregator, or set controls.%s.securityhub_aggregated): this region keeps its Security Hub rule", t.HomeRegion, securityAlertsID), nil
	case err != nil:
		return false, "", fmt.Errorf("%s: %w", securityAlertsID, err)
	}
	return agg.bringsHome(t.HomeRegion, t.Region), "", nil
}

func (c SecurityAlerts) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	_, f, err := c.check(ctx, env, t, securityAlertsSettings(env), nil)
	return f, err
}

// CheckForeseeing is Check in a run that also checks securityhub: where no
// aggregator brings t's region's findings home yet but securityhub's plan
// creates one (linking every region) before this target applies, the
// region needs no Security Hub rule, and the plan says so.
func (c SecurityAlerts) CheckForeseeing(ctx context.Context, env *control.Env, t control.Target, planned control.Planned) (control.Finding, error) {
	_, f, err := c.check(ctx, env, t, securityAlertsSettings(env), planned)
	return f, err
}

func (c SecurityAlerts) check(ctx context.Context, env *control.Env, t control.Target, s *SecurityAlertsSettings, planned control.Planned) (securityState, control.Finding, error) {
	st, err := readSecurityState(ctx, env, t, s)
	if err != nil {
		return st, control.Finding{}, err
	}
	var changes []control.Change
	var notes []string
	if st.aggNote != "" {
		notes = append(notes, st.aggNote)
	}
	if t.Region != t.HomeRegion {
		foreseen := st.foreseesAggregator(t, planned)
		if foreseen {
			notes = append(notes, fmt.Sprintf("no Security Hub rule: the finding aggregator securityhub creates in %s in this run brings this region's findings home", t.HomeRegion))
		}
		if st.aggregated || foreseen {
			if why := st.shRuleNotRemovable(); st.shRule.Exists && why != "" {
				notes = append(notes, why)
			}
		} else {
			st.rules = append(st.rules, ruleRead{rule: securityHubRule, cur: st.shRule, target: st.shTarget})
		}
	}
	if t.Region == t.HomeRegion {
		if why := st.home.foreignTopic(); why != "" {
			return st, control.Finding{Unmanaged: why, Changes: []control.Change{{Field: "topic " + AlertTopicName, Current: "not harden's", Desired: "harden's"}}}, nil
		}
		changes = append(changes, st.home.changes(t, s)...)
		changes = append(changes, st.role.changes(t)...)
		notes = st.home.pendingNotes()
	}
	changes = append(changes, ruleChanges(t, st.rules)...)
	removal := st.removesSecurityHubRule(t, planned)
	if removal {
		changes = append(changes, control.Change{Field: "rule " + securityHubRule.Name, Current: targetText(st.shTarget),
			Desired: "removed: aggregation brings these findings home"})
	}
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
		if removal && len(changes) == 1 {
			f.Action = control.ActionUpdate
		}
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
	st, f, err := c.check(ctx, env, t, s, nil)
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
	err = parallel.All(ctx, func(ctx context.Context) error {
		return applyRules(ctx, env, t, j, st.rules)
	}, func(ctx context.Context) error {
		if !st.removesSecurityHubRule(t, nil) {
			return nil
		}
		return removeSecurityHubRule(ctx, env, t, j, st)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", securityAlertsID, err)
	}
	return f.Changes, nil
}

// removesSecurityHubRule reports whether harden's Security Hub rule in
// t's region, a region whose findings the aggregator brings home (or,
// with planned, will), is to go.
func (st securityState) removesSecurityHubRule(t control.Target, planned control.Planned) bool {
	if t.Region == t.HomeRegion || !st.shRule.Exists || st.shRuleNotRemovable() != "" {
		return false
	}
	return st.aggregated || st.foreseesAggregator(t, planned)
}

// foreseesAggregator reports whether no aggregator brings t's region's
// findings home yet but securityhub's plan in this run (planned) creates
// one that will, before this target applies. Not when harden may not read
// the aggregator: apply could not see it either.
func (st securityState) foreseesAggregator(t control.Target, planned control.Planned) bool {
	if st.aggregated || st.aggNote != "" || planned == nil {
		return false
	}
	f, ok := planned("securityhub", t.HomeRegion)
	return ok && plansAggregator(f)
}

// shRuleNotRemovable says why the Security Hub rule read is not one
// harden removes (not harden's, or with targets harden did not put), or
// "" when it is.
func (st securityState) shRuleNotRemovable() string {
	name := securityHubRule.Name
	if st.shRule.Tags[control.TagManagedBy] != control.TagManagedByID {
		return fmt.Sprintf("rule %s is not harden's (no tag %s=%s): left as it is", name, control.TagManagedBy, control.TagManagedByID)
	}
	for _, id := range st.shTargets {
		if id != forwardTargetID {
			return fmt.Sprintf("rule %s has a target harden did not put (%s): left as it is", name, id)
		}
	}
	return ""
}

// stepDeleteAlertRule removes harden's Security Hub rule from a region
// whose findings the aggregator brings home.
const stepDeleteAlertRule control.StepKind = "DeleteAlertRule"

// removedRule is a rule harden deletes, as it was: enough to put it back.
type removedRule struct {
	ruleState
	Target targetState `json:"target"`
}

func removeSecurityHubRule(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st securityState) error {
	prior := removedRule{ruleState: st.shRule, Target: st.shTarget}
	after := ruleState{Name: st.shRule.Name}
	err := j.Write(ctx, stepDeleteAlertRule, prior, after, func(ctx context.Context) (any, error) {
		if st.shTarget.Exists {
			if err := removeTarget(ctx, env, t.Region, st.shRule.Name, st.shTarget.ID); err != nil {
				return nil, err
			}
		}
		return nil, deleteRule(ctx, env, t.Region, st.shRule.Name)
	})
	if err != nil {
		return fmt.Errorf("events: delete rule %s in %s: %w", st.shRule.Name, t.Region, err)
	}
	return nil
}

// undoDeleteAlertRule puts back the rule harden deleted, with its tags
// and target, when it is still absent; a rule of that name made since is
// left as it is.
func undoDeleteAlertRule(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior removedRule
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	cur, _, err := readRule(ctx, env, t.Region, prior.Name, false)
	if err != nil {
		return control.Undo{}, err
	}
	if cur.Exists {
		if cur.same(prior.ruleState) {
			return control.Nothing("rule %s in %s is already as before", prior.Name, t.Region), nil
		}
		return control.Drift(nil, "rule %s in %s: harden deleted it, someone has made one since (%s)", prior.Name, t.Region, ruleText(cur)), nil
	}
	return control.Restored(fmt.Sprintf("recreate rule %s in %s (%s)", prior.Name, t.Region, targetText(prior.Target)), func(ctx context.Context) error {
		if _, err := putRule(ctx, env, t.Region, prior.ruleState); err != nil {
			return fmt.Errorf("events: recreate rule %s in %s: %w", prior.Name, t.Region, err)
		}
		if prior.Target.Exists {
			if err := putTarget(ctx, env, t.Region, prior.Target); err != nil {
				return fmt.Errorf("events: put back target of rule %s in %s: %w", prior.Name, t.Region, err)
			}
		}
		return nil
	}), nil
}

// Steps lists the writes Apply makes, each with its undo.
// alertTopicChain names, for rollback, the topic and the key that
// encrypts it (Undo.Resource): their steps are undone one after another.
const alertTopicChain = "topic and its key"

func (c SecurityAlerts) Steps() control.Steps {
	return control.Steps{
		// The topic with its key, the forwarder role and each rule are
		// independent of one another (the controls that publish to the
		// topic are undone first). The key, which only the topic uses,
		// is one chain with it: its alias, policy and deletion are undone
		// after the topic (journaled before it), and held when the topic
		// is left in place, without waiting for the rules.
		stepCreateAlertKey:         control.Keyed(named(alertTopicChain), undoCreateAlertKey),
		stepCreateAlertKeyAlias:    control.Keyed(named(alertTopicChain), undoCreateAlertKeyAlias),
		stepPutAlertKeyPolicy:      control.Keyed(named(alertTopicChain), undoPutAlertKeyPolicy),
		stepCreateAlertTopic:       control.Keyed(named(alertTopicChain), undoCreateAlertTopic),
		stepSetAlertTopicAttribute: control.Keyed(named(alertTopicChain), undoSetAlertTopicAttribute),
		stepSubscribeAlertEmail:    control.Keyed(named(alertTopicChain), undoSubscribeAlertEmail),
		stepCreateForwarderRole:    control.Keyed(named("forwarder role"), undoCreateForwarderRole),
		stepPutForwarderRolePolicy: control.Keyed(named("forwarder role"), undoPutForwarderRolePolicy),
		stepPutAlertRule:           control.Keyed(ruleKey, undoPutRule),
		stepPutAlertTarget:         control.Keyed(ruleKey, undoPutTarget),
		stepDeleteAlertRule:        control.Keyed(ruleKey, undoDeleteAlertRule),
	}
}
