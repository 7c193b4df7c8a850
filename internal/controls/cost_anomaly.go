package controls

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/harden-dev/harden/internal/control"
)

// CostAnomalyDetection keeps an AWS services anomaly monitor and an
// immediate subscription that tells the alert topic about anomalies above
// a threshold. An existing services monitor (AWS creates one for some new
// accounts) is adopted: an account may have only one.
type CostAnomalyDetection struct{}

const (
	costAnomalyID                                  = "cost-anomaly-detection"
	anomalyMonitorName                             = "harden-services-monitor"
	anomalySubscriptionName                        = "harden-anomaly-alerts"
	defaultAnomalyThreshold                        = 100
	stepCreateAnomalyMonitor      control.StepKind = "CreateAnomalyMonitor"
	stepCreateAnomalySubscription control.StepKind = "CreateAnomalySubscription"
	stepUpdateAnomalySubscription control.StepKind = "UpdateAnomalySubscription"
)

// CostAnomalySettings are the settings (harden.yaml
// controls.cost-anomaly-detection).
type CostAnomalySettings struct {
	Threshold float64 `yaml:"threshold" doc:"an anomaly whose total cost impact reaches this amount (in the billing currency) is sent to the alert topic at once"`
}

// NewSettings returns the defaults: a threshold of 100.
func (CostAnomalyDetection) NewSettings() control.ControlSettings {
	return &CostAnomalySettings{Threshold: defaultAnomalyThreshold}
}

// Validate checks the threshold.
func (s *CostAnomalySettings) Validate() error {
	if s.Threshold <= 0 {
		return control.FieldErrorf("threshold", "must be more than 0, got %v", s.Threshold)
	}
	return nil
}

func anomalyThreshold(env *control.Env) float64 {
	return control.SettingsOf(env, costAnomalyID, CostAnomalyDetection{}.NewSettings().(*CostAnomalySettings)).Threshold
}

func (CostAnomalyDetection) Info() control.Info {
	return control.Info{
		ID:    costAnomalyID,
		Title: "Cost anomaly detection",
		Scope: control.Account,
		Desired: "an AWS services anomaly monitor (an existing one is adopted) and an immediate subscription sending anomalies " +
			"above the threshold to the alert topic",
		DependsOn: []string{alertsControlID},
		// The alert topic (in the home region), not security-alerts' rules.
		Needs:        map[string]string{securityAlertsID: AlertTopicStage},
		ReadActions:  []string{"ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions", "ce:ListTagsForResource"},
		WriteActions: []string{"ce:CreateAnomalyMonitor", "ce:CreateAnomalySubscription", "ce:UpdateAnomalySubscription", "ce:DeleteAnomalyMonitor", "ce:DeleteAnomalySubscription", "ce:TagResource"},
		Cost:         control.Cost{Drivers: "free"},
	}
}

// subscriptionState is the anomaly subscription as harden governs it.
type subscriptionState struct {
	Frequency   string   `json:"frequency"`
	Subscribers []string `json:"subscribers"` // "SNS:arn"
	Threshold   float64  `json:"threshold"`
}

func (s subscriptionState) equal(o subscriptionState) bool {
	return s.Frequency == o.Frequency && s.Threshold == o.Threshold && fmt.Sprint(s.Subscribers) == fmt.Sprint(o.Subscribers)
}

func (s subscriptionState) text() string {
	return fmt.Sprintf("%s to %v above %v", s.Frequency, s.Subscribers, formatAmount(s.Threshold))
}

func wantSubscription(env *control.Env, t control.Target) subscriptionState {
	return subscriptionState{Frequency: string(cetypes.AnomalySubscriptionFrequencyImmediate),
		Subscribers: []string{"SNS:" + AlertTopicARN(t)}, Threshold: anomalyThreshold(env)}
}

func subscriptionOf(s cetypes.AnomalySubscription) subscriptionState {
	st := subscriptionState{Frequency: string(s.Frequency), Threshold: aws.ToFloat64(s.Threshold)}
	for _, sub := range s.Subscribers {
		st.Subscribers = append(st.Subscribers, string(sub.Type)+":"+aws.ToString(sub.Address))
	}
	sort.Strings(st.Subscribers)
	if e := s.ThresholdExpression; e != nil && e.Dimensions != nil && e.Dimensions.Key == cetypes.DimensionAnomalyTotalImpactAbsolute && len(e.Dimensions.Values) == 1 {
		st.Threshold, _ = strconv.ParseFloat(e.Dimensions.Values[0], 64)
	}
	return st
}

func subscribersOf(s subscriptionState) []cetypes.Subscriber {
	var out []cetypes.Subscriber
	for _, sub := range s.Subscribers {
		typ, addr, _ := cutString(sub, ":")
		out = append(out, cetypes.Subscriber{Type: cetypes.SubscriberType(typ), Address: aws.String(addr)})
	}
	return out
}

func cutString(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func thresholdExpression(v float64) *cetypes.Expression {
	return &cetypes.Expression{Dimensions: &cetypes.DimensionValues{Key: cetypes.DimensionAnomalyTotalImpactAbsolute,
		Values: []string{formatAmount(v)}, MatchOptions: []cetypes.MatchOption{cetypes.MatchOptionGreaterThanOrEqual}}}
}

// anomalyState is what the control reads: the services monitor (ARN ""
// when none) and harden's subscription on it.
type anomalyState struct {
	MonitorARN, MonitorName string
	SubscriptionARN         string
	Subscription            subscriptionState
}

func ceClient(env *control.Env) *costexplorer.Client { return env.AWS.CostExplorer() }

func (CostAnomalyDetection) read(ctx context.Context, env *control.Env) (anomalyState, error) {
	var st anomalyState
	p := costexplorer.NewGetAnomalyMonitorsPaginator(ceClient(env), &costexplorer.GetAnomalyMonitorsInput{})
	for p.HasMorePages() && st.MonitorARN == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			return st, fmt.Errorf("cost-anomaly-detection: list anomaly monitors: %w", err)
		}
		for _, m := range page.AnomalyMonitors {
			if m.MonitorType == cetypes.MonitorTypeDimensional && m.MonitorDimension == cetypes.MonitorDimensionService {
				st.MonitorARN, st.MonitorName = aws.ToString(m.MonitorArn), aws.ToString(m.MonitorName)
				break
			}
		}
	}
	if st.MonitorARN == "" {
		return st, nil
	}
	sub, err := findSubscription(ctx, env, st.MonitorARN)
	if err != nil || sub == nil {
		return st, err
	}
	st.SubscriptionARN, st.Subscription = aws.ToString(sub.SubscriptionArn), subscriptionOf(*sub)
	return st, nil
}

// findSubscription returns harden's subscription on a monitor, nil when
// there is none.
func findSubscription(ctx context.Context, env *control.Env, monitorARN string) (*cetypes.AnomalySubscription, error) {
	p := costexplorer.NewGetAnomalySubscriptionsPaginator(ceClient(env), &costexplorer.GetAnomalySubscriptionsInput{MonitorArn: aws.String(monitorARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cost-anomaly-detection: list anomaly subscriptions: %w", err)
		}
		for _, s := range page.AnomalySubscriptions {
			if aws.ToString(s.SubscriptionName) == anomalySubscriptionName {
				return &s, nil
			}
		}
	}
	return nil, nil
}

func (c CostAnomalyDetection) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env)
	if err != nil {
		return control.Finding{}, err
	}
	return st.finding(wantSubscription(env, t)), nil
}

// finding compares the state read with the subscription wanted.
func (st anomalyState) finding(want subscriptionState) control.Finding {
	switch {
	case st.MonitorARN == "":
		return control.Finding{Action: control.ActionCreate, Changes: []control.Change{
			{Field: "anomaly monitor", Current: "none", Desired: "AWS services (" + anomalyMonitorName + ")"},
			{Field: "anomaly subscription", Current: "none", Desired: want.text()}}}
	case st.SubscriptionARN == "":
		f := control.Finding{Action: control.ActionCreate, Changes: []control.Change{{Field: "anomaly subscription", Current: "none", Desired: want.text()}}}
		if st.MonitorName != anomalyMonitorName {
			f.Action, f.Note = control.ActionAdopt, fmt.Sprintf("the existing services monitor %q is adopted", st.MonitorName)
		}
		return f
	case !st.Subscription.equal(want):
		return control.Finding{Action: control.ActionUpdate, Changes: []control.Change{
			{Field: "anomaly subscription", Current: st.Subscription.text(), Desired: want.text()}}}
	}
	return control.Finding{Compliant: true}
}

func ceTags(runID string) []cetypes.ResourceTag {
	var out []cetypes.ResourceTag
	tags := control.Tags(runID)
	for _, k := range sortedTagKeys(tags) {
		out = append(out, cetypes.ResourceTag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func (c CostAnomalyDetection) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	want := wantSubscription(env, t)
	f := st.finding(want)
	if f.Compliant {
		return nil, nil
	}
	if st.MonitorARN == "" {
		var created createdResult
		err := j.Write(ctx, stepCreateAnomalyMonitor, nil, createdResult{}, func(ctx context.Context) (any, error) {
			out, err := ceClient(env).CreateAnomalyMonitor(ctx, &costexplorer.CreateAnomalyMonitorInput{
				AnomalyMonitor: &cetypes.AnomalyMonitor{MonitorName: aws.String(anomalyMonitorName),
					MonitorType: cetypes.MonitorTypeDimensional, MonitorDimension: cetypes.MonitorDimensionService},
				ResourceTags: ceTags(j.RunID())})
			if err != nil {
				return nil, err
			}
			created.ARN = aws.ToString(out.MonitorArn)
			return created, nil
		})
		if err != nil {
			return nil, fmt.Errorf("cost-anomaly-detection: create anomaly monitor: %w", err)
		}
		st.MonitorARN = created.ARN
	}
	if st.SubscriptionARN == "" {
		err := j.Write(ctx, stepCreateAnomalySubscription, nil, want, func(ctx context.Context) (any, error) {
			out, err := ceClient(env).CreateAnomalySubscription(ctx, &costexplorer.CreateAnomalySubscriptionInput{
				AnomalySubscription: &cetypes.AnomalySubscription{SubscriptionName: aws.String(anomalySubscriptionName),
					MonitorArnList: []string{st.MonitorARN}, Frequency: cetypes.AnomalySubscriptionFrequency(want.Frequency),
					Subscribers: subscribersOf(want), ThresholdExpression: thresholdExpression(want.Threshold)},
				ResourceTags: ceTags(j.RunID())})
			if err != nil {
				return nil, err
			}
			return createdResult{ARN: aws.ToString(out.SubscriptionArn)}, nil
		})
		if err != nil {
			return nil, fmt.Errorf("cost-anomaly-detection: create anomaly subscription: %w", err)
		}
		return f.Changes, nil
	}
	err = j.Write(ctx, stepUpdateAnomalySubscription, subscriptionUpdate{ARN: st.SubscriptionARN, State: st.Subscription},
		subscriptionUpdate{ARN: st.SubscriptionARN, State: want},
		func(ctx context.Context) (any, error) {
			return nil, updateSubscription(ctx, env, st.SubscriptionARN, want)
		})
	if err != nil {
		return nil, err
	}
	return f.Changes, nil
}

// subscriptionUpdate is what UpdateAnomalySubscription journals.
type subscriptionUpdate struct {
	ARN   string            `json:"arn"`
	State subscriptionState `json:"state"`
}

func updateSubscription(ctx context.Context, env *control.Env, arn string, s subscriptionState) error {
	_, err := ceClient(env).UpdateAnomalySubscription(ctx, &costexplorer.UpdateAnomalySubscriptionInput{SubscriptionArn: aws.String(arn),
		Frequency: cetypes.AnomalySubscriptionFrequency(s.Frequency), Subscribers: subscribersOf(s), ThresholdExpression: thresholdExpression(s.Threshold)})
	if err != nil {
		return fmt.Errorf("cost-anomaly-detection: update anomaly subscription %s: %w", arn, err)
	}
	return nil
}

func ceResourceTags(ctx context.Context, env *control.Env, arn string) (map[string]string, error) {
	out, err := ceClient(env).ListTagsForResource(ctx, &costexplorer.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("cost-anomaly-detection: list tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, t := range out.ResourceTags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func (c CostAnomalyDetection) undoCreateMonitor(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var result createdResult
	if _, err := control.DecodeResult(s, &result); err != nil {
		return control.Undo{}, err
	}
	arn := result.ARN
	if arn == "" {
		// Unconfirmed: look for harden's monitor from this run.
		out, err := ceClient(env).GetAnomalyMonitors(ctx, &costexplorer.GetAnomalyMonitorsInput{})
		if err != nil {
			return control.Undo{}, fmt.Errorf("cost-anomaly-detection: list anomaly monitors: %w", err)
		}
		for _, m := range out.AnomalyMonitors {
			if aws.ToString(m.MonitorName) != anomalyMonitorName {
				continue
			}
			tags, err := ceResourceTags(ctx, env, aws.ToString(m.MonitorArn))
			if err != nil {
				return control.Undo{}, err
			}
			if tags[control.TagRun] == s.RunID && ownedByRun(tags, s.RunID) {
				arn = aws.ToString(m.MonitorArn)
			}
		}
		if arn == "" {
			return control.Nothing("the write never happened: no anomaly monitor %s from this run", anomalyMonitorName), nil
		}
	}
	_, err := ceClient(env).GetAnomalyMonitors(ctx, &costexplorer.GetAnomalyMonitorsInput{MonitorArnList: []string{arn}})
	var unknown *cetypes.UnknownMonitorException
	if errors.As(err, &unknown) {
		return control.Nothing("anomaly monitor %s is already gone", arn), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("cost-anomaly-detection: get anomaly monitor %s: %w", arn, err)
	}
	tags, err := ceResourceTags(ctx, env, arn)
	if err != nil {
		return control.Undo{}, err
	}
	if !ownedByRun(tags, s.RunID) {
		return control.Drift(nil, "anomaly monitor %s is not the one harden created (no harden tags)", arn), nil
	}
	return control.Deleted("delete anomaly monitor "+anomalyMonitorName, func(ctx context.Context) error {
		_, err := ceClient(env).DeleteAnomalyMonitor(ctx, &costexplorer.DeleteAnomalyMonitorInput{MonitorArn: aws.String(arn)})
		if err != nil && !errors.As(err, &unknown) {
			return fmt.Errorf("cost-anomaly-detection: delete anomaly monitor %s: %w", arn, err)
		}
		return nil
	}), nil
}

// currentSubscription reads a subscription by ARN: nil when gone.
func currentSubscription(ctx context.Context, env *control.Env, arn string) (*cetypes.AnomalySubscription, error) {
	out, err := ceClient(env).GetAnomalySubscriptions(ctx, &costexplorer.GetAnomalySubscriptionsInput{SubscriptionArnList: []string{arn}})
	var unknown *cetypes.UnknownSubscriptionException
	if errors.As(err, &unknown) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cost-anomaly-detection: get anomaly subscription %s: %w", arn, err)
	}
	for _, s := range out.AnomalySubscriptions {
		if aws.ToString(s.SubscriptionArn) == arn {
			return &s, nil
		}
	}
	return nil, nil
}

func (c CostAnomalyDetection) undoCreateSubscription(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var after subscriptionState
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	var result createdResult
	if _, err := control.DecodeResult(s, &result); err != nil {
		return control.Undo{}, err
	}
	if result.ARN == "" {
		arn, err := subscriptionFromRun(ctx, env, s.RunID)
		if err != nil || arn == "" {
			return control.Nothing("the write never happened: no anomaly subscription %s from this run", anomalySubscriptionName), err
		}
		result.ARN = arn
	}
	sub, err := currentSubscription(ctx, env, result.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	if sub == nil {
		return control.Nothing("anomaly subscription %s is already gone", anomalySubscriptionName), nil
	}
	tags, err := ceResourceTags(ctx, env, result.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	if !ownedByRun(tags, s.RunID) {
		return control.Drift(nil, "anomaly subscription %s is not the one harden created (no harden tags)", result.ARN), nil
	}
	del := func(ctx context.Context) error {
		_, err := ceClient(env).DeleteAnomalySubscription(ctx, &costexplorer.DeleteAnomalySubscriptionInput{SubscriptionArn: aws.String(result.ARN)})
		var unknown *cetypes.UnknownSubscriptionException
		if err != nil && !errors.As(err, &unknown) {
			return fmt.Errorf("cost-anomaly-detection: delete anomaly subscription %s: %w", result.ARN, err)
		}
		return nil
	}
	if cur := subscriptionOf(*sub); !cur.equal(after) {
		return control.Drift(del, "anomaly subscription %s: harden set %s, now %s", anomalySubscriptionName, after.text(), cur.text()), nil
	}
	return control.Deleted("delete anomaly subscription "+anomalySubscriptionName, del), nil
}

// subscriptionFromRun finds harden's subscription tagged with run, for a
// create whose outcome is unknown; "" when there is none.
func subscriptionFromRun(ctx context.Context, env *control.Env, run string) (string, error) {
	out, err := ceClient(env).GetAnomalySubscriptions(ctx, &costexplorer.GetAnomalySubscriptionsInput{})
	if err != nil {
		return "", fmt.Errorf("cost-anomaly-detection: list anomaly subscriptions: %w", err)
	}
	for _, sub := range out.AnomalySubscriptions {
		if aws.ToString(sub.SubscriptionName) != anomalySubscriptionName {
			continue
		}
		tags, err := ceResourceTags(ctx, env, aws.ToString(sub.SubscriptionArn))
		if err != nil {
			return "", err
		}
		if tags[control.TagRun] == run && ownedByRun(tags, run) {
			return aws.ToString(sub.SubscriptionArn), nil
		}
	}
	return "", nil
}

func (c CostAnomalyDetection) undoUpdateSubscription(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after subscriptionUpdate
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	sub, err := currentSubscription(ctx, env, prior.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	if sub == nil {
		return control.Nothing("anomaly subscription %s is gone", prior.ARN), nil
	}
	cur := subscriptionOf(*sub)
	putBack := func(ctx context.Context) error { return updateSubscription(ctx, env, prior.ARN, prior.State) }
	switch {
	case cur.equal(after.State):
		return control.Restored(fmt.Sprintf("restore anomaly subscription %s (%s)", anomalySubscriptionName, prior.State.text()), putBack), nil
	case cur.equal(prior.State):
		return control.Nothing("anomaly subscription %s is already as it was before harden's change", anomalySubscriptionName), nil
	}
	return control.Drift(putBack, "anomaly subscription %s: harden set %s, now %s", anomalySubscriptionName, after.State.text(), cur.text()), nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c CostAnomalyDetection) Steps() control.Steps {
	return control.Steps{
		stepCreateAnomalyMonitor:      c.undoCreateMonitor,
		stepCreateAnomalySubscription: c.undoCreateSubscription,
		stepUpdateAnomalySubscription: c.undoUpdateSubscription,
	}
}
