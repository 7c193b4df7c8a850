package controls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// alertRule is one EventBridge rule an alert control keeps in every region:
// in the home region it delivers to the alert topic through an input
// transformer that writes a readable message; elsewhere it forwards the
// event to the home region's default bus.
type alertRule struct {
	Name        string
	Description string
	Pattern     string
	// Paths and Template make the home region's message.
	Paths    map[string]string
	Template string
}

// Rule step kinds, shared by the alert controls.
const (
	stepPutAlertRule   control.StepKind = "PutAlertRule"
	stepPutAlertTarget control.StepKind = "PutAlertTarget"
)

// Target ids harden gives its rule targets.
const (
	topicTargetID   = "harden-alert-topic"
	forwardTargetID = "harden-alert-home-bus"
)

// ruleState is a rule as harden governs it; Exists false means no rule.
type ruleState struct {
	Exists      bool              `json:"exists"`
	Name        string            `json:"name"`
	Pattern     string            `json:"pattern,omitempty"`
	State       string            `json:"state,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// targetState is one rule target as harden governs it.
type targetState struct {
	Exists   bool              `json:"exists"`
	Rule     string            `json:"rule"`
	ID       string            `json:"id"`
	ARN      string            `json:"arn,omitempty"`
	RoleARN  string            `json:"role_arn,omitempty"`
	Paths    map[string]string `json:"paths,omitempty"`
	Template string            `json:"template,omitempty"`
}

type ruleCreated struct {
	ARN string `json:"arn"`
}

// homeBusARN is the home region's default event bus.
func homeBusARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", t.HomeRegion, t.AccountID)
}

// desiredTarget is where rule r delivers in t's region.
func (r alertRule) desiredTarget(t control.Target) targetState {
	if t.Region == t.HomeRegion {
		return targetState{Exists: true, Rule: r.Name, ID: topicTargetID, ARN: AlertTopicARN(t), Paths: r.Paths, Template: r.Template}
	}
	return targetState{Exists: true, Rule: r.Name, ID: forwardTargetID, ARN: homeBusARN(t), RoleARN: forwarderRoleARN(t)}
}

func (r alertRule) desiredRule(runID string) ruleState {
	return ruleState{Exists: true, Name: r.Name, Pattern: r.Pattern, State: string(ebtypes.RuleStateEnabled), Description: r.Description, Tags: control.Tags(runID)}
}

// samePattern compares event patterns as JSON values.
func samePattern(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}

// readRule reads a rule; Exists is false when there is none. Tags are read
// only when withTags (rollback's ownership check).
func readRule(ctx context.Context, env *control.Env, region, name string, withTags bool) (ruleState, string, error) {
	out, err := env.AWS.EventBridge(region).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
	if awserror.Is(err, "ResourceNotFoundException") {
		return ruleState{Name: name}, "", nil
	}
	if err != nil {
		return ruleState{}, "", fmt.Errorf("events: describe rule %s in %s: %w", name, region, err)
	}
	st := ruleState{Exists: true, Name: name, Pattern: aws.ToString(out.EventPattern), State: string(out.State), Description: aws.ToString(out.Description)}
	if withTags {
		if st.Tags, err = readRuleTags(ctx, env, region, name, aws.ToString(out.Arn)); err != nil {
			return ruleState{}, "", err
		}
	}
	return st, aws.ToString(out.Arn), nil
}

// readRuleTags reads the tags of rule name by its ARN; a rule that does
// not exist has none (nil).
func readRuleTags(ctx context.Context, env *control.Env, region, name, arn string) (map[string]string, error) {
	out, err := env.AWS.EventBridge(region).ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if awserror.Is(err, "ResourceNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("events: list tags of rule %s in %s: %w", name, region, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags, nil
}

// readTarget reads target id of rule; Exists is false when the rule has
// no such target (or no longer exists).
func readTarget(ctx context.Context, env *control.Env, region, rule, id string) (targetState, []string, error) {
	out, err := env.AWS.EventBridge(region).ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
	if awserror.Is(err, "ResourceNotFoundException") {
		return targetState{Rule: rule, ID: id}, nil, nil
	}
	if err != nil {
		return targetState{}, nil, fmt.Errorf("events: list targets of rule %s in %s: %w", rule, region, err)
	}
	st := targetState{Rule: rule, ID: id}
	var ids []string
	for _, tg := range out.Targets {
		ids = append(ids, aws.ToString(tg.Id))
		if aws.ToString(tg.Id) != id {
			continue
		}
		st = targetState{Exists: true, Rule: rule, ID: id, ARN: aws.ToString(tg.Arn), RoleARN: aws.ToString(tg.RoleArn)}
		if tr := tg.InputTransformer; tr != nil {
			st.Paths, st.Template = tr.InputPathsMap, aws.ToString(tr.InputTemplate)
		}
	}
	return st, ids, nil
}

// sameTarget compares the fields harden sets on a target.
func (a targetState) same(b targetState) bool {
	return a.Exists == b.Exists && a.ARN == b.ARN && a.RoleARN == b.RoleARN && a.Template == b.Template &&
		(len(a.Paths) == 0 && len(b.Paths) == 0 || reflect.DeepEqual(a.Paths, b.Paths))
}

func (a ruleState) same(b ruleState) bool {
	return a.Exists == b.Exists && samePattern(a.Pattern, b.Pattern) && a.State == b.State && a.Description == b.Description
}

// ruleRead is one rule of a region and its target as read.
type ruleRead struct {
	rule   alertRule
	cur    ruleState
	target targetState
}

// readRules reads every rule of t's region and harden's target on it.
// The rules, and each rule and its targets, are read together.
func readRules(ctx context.Context, env *control.Env, t control.Target, rules []alertRule) ([]ruleRead, error) {
	out := make([]ruleRead, len(rules))
	var reads []func(context.Context) error
	for i, r := range rules {
		out[i].rule = r
		reads = append(reads, func(ctx context.Context) (err error) {
			out[i].cur, _, err = readRule(ctx, env, t.Region, r.Name, false)
			return err
		}, func(ctx context.Context) (err error) {
			out[i].target, _, err = readTarget(ctx, env, t.Region, r.Name, r.desiredTarget(t).ID)
			return err
		})
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return nil, err
	}
	return out, nil
}

// ruleChanges compares every rule and its target with what they should be.
func ruleChanges(t control.Target, reads []ruleRead) []control.Change {
	var changes []control.Change
	for _, rr := range reads {
		r, cur := rr.rule, rr.cur
		if !cur.Exists {
			changes = append(changes, control.Change{Field: "rule " + r.Name, Current: "none", Desired: r.Description})
		} else if !cur.same(r.desiredRule("")) {
			changes = append(changes, control.Change{Field: "rule " + r.Name, Current: cur.State + " " + compactJSON(cur.Pattern), Desired: "ENABLED " + compactJSON(r.Pattern)})
		}
		if want := r.desiredTarget(t); !rr.target.same(want) {
			changes = append(changes, control.Change{Field: "rule " + r.Name + " target", Current: targetText(rr.target), Desired: targetText(want)})
		}
	}
	return changes
}

func compactJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func targetText(t targetState) string {
	switch {
	case !t.Exists:
		return "none"
	case t.Template != "":
		return t.ARN + " (readable message)"
	case t.RoleARN != "":
		return t.ARN + " via " + t.RoleARN
	}
	return t.ARN
}

// applyRules puts every rule and target read that differs: the rules
// together, each rule before its target.
func applyRules(ctx context.Context, env *control.Env, t control.Target, j control.Journal, reads []ruleRead) error {
	var writes []func(context.Context) error
	for _, rr := range reads {
		writes = append(writes, func(ctx context.Context) error { return applyRule(ctx, env, t, j, rr) })
	}
	return parallel.All(ctx, writes...)
}

// applyRule puts one rule and its target, if they differ.
func applyRule(ctx context.Context, env *control.Env, t control.Target, j control.Journal, rr ruleRead) error {
	r, cur := rr.rule, rr.cur
	after := r.desiredRule(j.RunID())
	if !cur.same(after) {
		if cur.Exists {
			after.Tags = nil // PutRule takes tags only at creation.
		}
		if err := j.Write(ctx, stepPutAlertRule, cur, after, func(ctx context.Context) (any, error) {
			return putRule(ctx, env, t.Region, after)
		}); err != nil {
			return fmt.Errorf("events: put rule %s in %s: %w", r.Name, t.Region, err)
		}
	}
	if want := r.desiredTarget(t); !rr.target.same(want) {
		if err := j.Write(ctx, stepPutAlertTarget, rr.target, want, func(ctx context.Context) (any, error) {
			return nil, putTarget(ctx, env, t.Region, want)
		}); err != nil {
			return fmt.Errorf("events: put target of rule %s in %s: %w", r.Name, t.Region, err)
		}
	}
	return nil
}

func ruleText(r ruleState) string {
	if !r.Exists {
		return "none"
	}
	return r.State + " " + compactJSON(r.Pattern)
}

func putRule(ctx context.Context, env *control.Env, region string, r ruleState) (ruleCreated, error) {
	in := &eventbridge.PutRuleInput{Name: aws.String(r.Name), EventPattern: aws.String(r.Pattern),
		State: ebtypes.RuleState(r.State), Description: aws.String(r.Description)}
	for _, k := range sortedTagKeys(r.Tags) {
		in.Tags = append(in.Tags, ebtypes.Tag{Key: aws.String(k), Value: aws.String(r.Tags[k])})
	}
	out, err := env.AWS.EventBridge(region).PutRule(ctx, in)
	if err != nil {
		return ruleCreated{}, err
	}
	return ruleCreated{ARN: aws.ToString(out.RuleArn)}, nil
}

func sortedTagKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func putTarget(ctx context.Context, env *control.Env, region string, t targetState) error {
	tg := ebtypes.Target{Id: aws.String(t.ID), Arn: aws.String(t.ARN)}
	if t.RoleARN != "" {
		tg.RoleArn = aws.String(t.RoleARN)
	}
	if t.Template != "" {
		tg.InputTransformer = &ebtypes.InputTransformer{InputPathsMap: t.Paths, InputTemplate: aws.String(t.Template)}
	}
	out, err := env.AWS.EventBridge(region).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(t.Rule), Targets: []ebtypes.Target{tg}})
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
		return fmt.Errorf("target %s refused: %s", t.ID, aws.ToString(out.FailedEntries[0].ErrorMessage))
	}
	return nil
}

func removeTarget(ctx context.Context, env *control.Env, region, rule, id string) error {
	_, err := env.AWS.EventBridge(region).RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), Ids: []string{id}})
	if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
		return fmt.Errorf("events: remove target %s of rule %s in %s: %w", id, rule, region, err)
	}
	return nil
}

func deleteRule(ctx context.Context, env *control.Env, region, rule string) error {
	_, err := env.AWS.EventBridge(region).DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule)})
	if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
		return fmt.Errorf("events: delete rule %s in %s: %w", rule, region, err)
	}
	return nil
}

// undoPutRule deletes a rule harden created (its tags name harden and the
// step's run; no target is left on it) or puts back the settings of a rule
// it changed, when the rule is still as harden left it.
// ruleKey names the rule a rule or target step changed: steps of
// distinct rules are undone together (control.Keyed).
func ruleKey(s control.Step) string {
	var prior struct {
		Name string `json:"name"`
		Rule string `json:"rule"`
	}
	if err := control.DecodePrior(s, &prior); err != nil {
		return ""
	}
	if prior.Rule != "" {
		return "rule " + prior.Rule
	}
	if prior.Name != "" {
		return "rule " + prior.Name
	}
	return ""
}

func undoPutRule(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior ruleState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var after ruleState
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	var created ruleCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	// The rule and, for a rule harden created, its tags (the ownership
	// proof, by the ARN harden created when known) and its targets are
	// read together: one round trip before the undo.
	var cur ruleState
	var arn string
	var tags map[string]string
	var ids []string
	reads := []func(context.Context) error{func(ctx context.Context) (err error) {
		cur, arn, err = readRule(ctx, env, t.Region, prior.Name, !prior.Exists && created.ARN == "")
		return err
	}}
	if !prior.Exists && created.ARN != "" {
		reads = append(reads, func(ctx context.Context) (err error) {
			tags, err = readRuleTags(ctx, env, t.Region, prior.Name, created.ARN)
			return err
		})
	}
	if !prior.Exists {
		reads = append(reads, func(ctx context.Context) (err error) {
			_, ids, err = readTarget(ctx, env, t.Region, prior.Name, "")
			return err
		})
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return control.Undo{}, err
	}
	if !prior.Exists && created.ARN != "" && cur.Exists {
		cur.Tags = tags // nil when the rule went between the reads: not provably harden's
	}
	if !cur.Exists {
		if prior.Exists {
			return control.Drift(nil, "rule %s in %s: harden changed it, someone deleted it since", prior.Name, t.Region), nil
		}
		return control.Nothing("rule %s in %s is already gone", prior.Name, t.Region), nil
	}
	if prior.Exists {
		return undoRuleChange(env, t, prior, after, cur), nil
	}
	if why := ruleNotCreatedBy(cur, arn, created, s); why != "" {
		if !s.Done {
			return control.Nothing("the creation of rule %s in %s never happened: %s", prior.Name, t.Region, why), nil
		}
		return control.Drift(nil, "rule %s in %s is not the one harden created: %s", prior.Name, t.Region, why), nil
	}
	del := func(ctx context.Context) error {
		for _, id := range ids {
			if err := removeTarget(ctx, env, t.Region, prior.Name, id); err != nil {
				return err
			}
		}
		return deleteRule(ctx, env, t.Region, prior.Name)
	}
	if len(ids) > 0 {
		return control.Drift(del, "rule %s in %s has targets harden did not leave (%s)", prior.Name, t.Region, strings.Join(ids, ", ")), nil
	}
	if after.Exists && !cur.same(after) {
		return control.Drift(del, "rule %s in %s: harden set %s, now %s", prior.Name, t.Region, ruleText(after), ruleText(cur)), nil
	}
	return control.Deleted(fmt.Sprintf("delete rule %s in %s", prior.Name, t.Region), del), nil
}

// ruleNotCreatedBy says why the rule seen is not the one step s created,
// or "" when it is.
func ruleNotCreatedBy(cur ruleState, arn string, created ruleCreated, s control.Step) string {
	if created.ARN != "" && created.ARN != arn {
		return fmt.Sprintf("its ARN is %s, harden created %s", arn, created.ARN)
	}
	if cur.Tags[control.TagManagedBy] != control.TagManagedByID {
		return fmt.Sprintf("it lacks harden's tag %s=%s", control.TagManagedBy, control.TagManagedByID)
	}
	if run, ok := cur.Tags[control.TagRun]; ok && run != s.RunID {
		return fmt.Sprintf("it was created by harden run %s, not %s", run, s.RunID)
	}
	return ""
}

func undoRuleChange(env *control.Env, t control.Target, prior, after, cur ruleState) control.Undo {
	restore := func(ctx context.Context) error {
		_, err := putRule(ctx, env, t.Region, ruleState{Name: prior.Name, Pattern: prior.Pattern, State: prior.State, Description: prior.Description})
		if err != nil {
			return fmt.Errorf("events: restore rule %s in %s: %w", prior.Name, t.Region, err)
		}
		return nil
	}
	switch {
	case cur.same(prior):
		return control.Nothing("rule %s in %s is already as before", prior.Name, t.Region)
	case after.Exists && !cur.same(after):
		return control.Drift(restore, "rule %s in %s: harden set %s, now %s", prior.Name, t.Region, ruleText(after), ruleText(cur))
	}
	return control.Restored(fmt.Sprintf("restore rule %s in %s (%s)", prior.Name, t.Region, ruleText(prior)), restore)
}

// undoPutTarget removes a target harden added or puts back the one it
// replaced, when the target is still as harden left it.
func undoPutTarget(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior targetState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var after targetState
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	cur, _, err := readTarget(ctx, env, t.Region, prior.Rule, prior.ID)
	if err != nil {
		return control.Undo{}, err
	}
	what := fmt.Sprintf("target %s of rule %s in %s", prior.ID, prior.Rule, t.Region)
	undo := func(ctx context.Context) error {
		if prior.Exists {
			return putTarget(ctx, env, t.Region, prior)
		}
		return removeTarget(ctx, env, t.Region, prior.Rule, prior.ID)
	}
	switch {
	case cur.same(prior):
		return control.Nothing("%s is already as before", what), nil
	case !cur.Exists:
		return control.Drift(undo, "%s: harden set %s, someone removed it", what, targetText(after)), nil
	case hasAfter && !cur.same(after):
		return control.Drift(undo, "%s: harden set %s, now %s", what, targetText(after), targetText(cur)), nil
	case prior.Exists:
		return control.Restored(fmt.Sprintf("restore %s (%s)", what, targetText(prior)), undo), nil
	}
	return control.Deleted("remove "+what, undo), nil
}
