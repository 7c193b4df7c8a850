package controls

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/budgets"
	btypes "github.com/aws/aws-sdk-go-v2/service/budgets/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// alertsControlID is the control that creates the alert topic.
const alertsControlID = "security-alerts"

// BudgetAlarm keeps a monthly cost budget that tells the alert topic and
// the configured people at 80% of actual and 100% of forecast spend.
type BudgetAlarm struct{}

const (
	budgetAlarmID                        = "budget-alarm"
	budgetName                           = "harden-monthly-cost"
	stepCreateBudget    control.StepKind = "CreateBudget"
	stepUpdateBudget    control.StepKind = "UpdateBudget"
	defaultBudgetUnit                    = "USD"
	actualThreshold                      = 80
	forecastedThreshold                  = 100
)

// BudgetAlarmSettings are the budget's settings (harden.yaml
// controls.budget-alarm).
type BudgetAlarmSettings struct {
	Amount   float64  `yaml:"amount" doc:"monthly cost budget; 0 means not configured (the target is reported, nothing is created)"`
	Currency string   `yaml:"currency" doc:"currency of the amount (USD unless the account is billed in another)"`
	Emails   []string `yaml:"emails" doc:"email addresses told at 80% of actual and 100% of forecast spend, besides the alert topic"`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// NewSettings returns the defaults: no amount, USD, no email.
func (BudgetAlarm) NewSettings() control.ControlSettings {
	return &BudgetAlarmSettings{Currency: defaultBudgetUnit}
}

// Validate checks the amount, currency and emails.
func (s *BudgetAlarmSettings) Validate() error {
	if s.Amount < 0 {
		return control.FieldErrorf("amount", "must not be negative, got %v", s.Amount)
	}
	if !currencyPattern.MatchString(s.Currency) {
		return control.FieldErrorf("currency", "%q is not a three-letter currency code", s.Currency)
	}
	if len(s.Emails) > 10 {
		return control.FieldErrorf("emails", "at most 10 addresses (a budget notification has 11 subscribers, one is the topic)")
	}
	for _, e := range s.Emails {
		if !strings.Contains(e, "@") {
			return control.FieldErrorf("emails", "%q is not an email address", e)
		}
	}
	return nil
}

func budgetAlarmSettings(env *control.Env) *BudgetAlarmSettings {
	return control.SettingsOf(env, budgetAlarmID, BudgetAlarm{}.NewSettings().(*BudgetAlarmSettings))
}

func (BudgetAlarm) Info() control.Info {
	return control.Info{
		ID:    budgetAlarmID,
		Title: "Monthly cost budget alarm",
		Scope: control.Account,
		Desired: "a monthly cost budget (" + budgetName + ") of the configured amount notifies the alert topic and the " +
			"configured emails at 80% of actual and 100% of forecast spend",
		DependsOn: []string{alertsControlID},
		// The alert topic (in the home region), not security-alerts' rules.
		Needs:        map[string]string{securityAlertsID: AlertTopicStage},
		ReadActions:  []string{"budgets:ViewBudget", "budgets:ListTagsForResource"},
		WriteActions: []string{"budgets:ModifyBudget", "budgets:TagResource"},
		Cost:         control.Cost{Drivers: "free (the first two budgets of an account cost nothing; then 0.02 USD a day each)"},
	}
}

// budgetState is the budget as harden governs it.
type budgetState struct {
	Amount float64 `json:"amount"`
	Unit   string  `json:"unit"`
	// Notifications are "ACTUAL>80:SNS:arn,EMAIL:a@b" lines, sorted.
	Notifications []string `json:"notifications,omitempty"`
}

func (s budgetState) limitText() string { return fmt.Sprintf("%s %s", formatAmount(s.Amount), s.Unit) }

func formatAmount(a float64) string { return strconv.FormatFloat(a, 'f', -1, 64) }

// budgetResult is what CreateBudget left: the budget's ARN.
type budgetResult struct {
	ARN string `json:"arn"`
}

func budgetARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:budgets::%s:budget/%s", t.AccountID, budgetName)
}

// wantBudget is the budget the settings ask for.
func wantBudget(s *BudgetAlarmSettings, t control.Target) budgetState {
	return budgetState{Amount: s.Amount, Unit: s.Currency, Notifications: notificationLines(wantNotifications(s, t))}
}

func wantNotifications(s *BudgetAlarmSettings, t control.Target) []btypes.NotificationWithSubscribers {
	subs := []btypes.Subscriber{{SubscriptionType: btypes.SubscriptionTypeSns, Address: aws.String(AlertTopicARN(t))}}
	for _, e := range s.Emails {
		subs = append(subs, btypes.Subscriber{SubscriptionType: btypes.SubscriptionTypeEmail, Address: aws.String(e)})
	}
	notify := func(typ btypes.NotificationType, threshold float64) btypes.NotificationWithSubscribers {
		return btypes.NotificationWithSubscribers{
			Notification: &btypes.Notification{NotificationType: typ, ComparisonOperator: btypes.ComparisonOperatorGreaterThan,
				Threshold: threshold, ThresholdType: btypes.ThresholdTypePercentage},
			Subscribers: subs,
		}
	}
	return []btypes.NotificationWithSubscribers{
		notify(btypes.NotificationTypeActual, actualThreshold),
		notify(btypes.NotificationTypeForecasted, forecastedThreshold),
	}
}

func notificationLine(n btypes.Notification, subs []btypes.Subscriber) string {
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = string(s.SubscriptionType) + ":" + aws.ToString(s.Address)
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s>%s:%s", n.NotificationType, formatAmount(n.Threshold), strings.Join(parts, ","))
}

func notificationLines(ns []btypes.NotificationWithSubscribers) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = notificationLine(*n.Notification, n.Subscribers)
	}
	sort.Strings(out)
	return out
}

// readBudget reads harden's budget: ok false when there is none. The
// budget and its notifications are read together, then every
// notification's subscribers together: two round trips.
func readBudget(ctx context.Context, env *control.Env, t control.Target) (budgetState, bool, error) {
	b := env.AWS.Budgets()
	var (
		budget *budgets.DescribeBudgetOutput
		ns     *budgets.DescribeNotificationsForBudgetOutput
		nsErr  error
	)
	err := parallel.Do(ctx, func(ctx context.Context) error {
		var err error
		budget, err = b.DescribeBudget(ctx, &budgets.DescribeBudgetInput{AccountId: aws.String(t.AccountID), BudgetName: aws.String(budgetName)})
		return err
	}, func(ctx context.Context) error {
		// Its error matters only when the budget exists.
		ns, nsErr = b.DescribeNotificationsForBudget(ctx, &budgets.DescribeNotificationsForBudgetInput{
			AccountId: aws.String(t.AccountID), BudgetName: aws.String(budgetName)})
		return nil
	})
	var nf *btypes.NotFoundException
	if errors.As(err, &nf) {
		return budgetState{}, false, nil
	}
	if err != nil {
		return budgetState{}, false, fmt.Errorf("budget-alarm: describe budget %s: %w", budgetName, err)
	}
	if nsErr != nil {
		return budgetState{}, false, fmt.Errorf("budget-alarm: describe notifications of %s: %w", budgetName, nsErr)
	}
	st := budgetState{}
	if l := budget.Budget.BudgetLimit; l != nil {
		st.Amount, _ = strconv.ParseFloat(aws.ToString(l.Amount), 64)
		st.Unit = aws.ToString(l.Unit)
	}
	lines := make([]string, len(ns.Notifications))
	reads := make([]func(context.Context) error, len(ns.Notifications))
	for i, n := range ns.Notifications {
		reads[i] = func(ctx context.Context) error {
			subs, err := b.DescribeSubscribersForNotification(ctx, &budgets.DescribeSubscribersForNotificationInput{
				AccountId: aws.String(t.AccountID), BudgetName: aws.String(budgetName), Notification: &n})
			if err != nil {
				return fmt.Errorf("budget-alarm: describe subscribers of %s: %w", budgetName, err)
			}
			lines[i] = notificationLine(n, subs.Subscribers)
			return nil
		}
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return budgetState{}, false, err
	}
	st.Notifications = lines
	sort.Strings(st.Notifications)
	return st, true, nil
}

// budgetTags reads the budget's tags.
func budgetTags(ctx context.Context, env *control.Env, t control.Target) (map[string]string, error) {
	out, err := env.AWS.Budgets().ListTagsForResource(ctx, &budgets.ListTagsForResourceInput{ResourceARN: aws.String(budgetARN(t))})
	if err != nil {
		return nil, fmt.Errorf("budget-alarm: list tags of %s: %w", budgetName, err)
	}
	tags := map[string]string{}
	for _, tag := range out.ResourceTags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags, nil
}

func (c BudgetAlarm) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	s := budgetAlarmSettings(env)
	current, exists, err := readBudget(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	if s.Amount <= 0 {
		f := control.Finding{Unmanaged: "no budget amount configured: set controls." + budgetAlarmID + ".amount"}
		if exists {
			f.Note = "budget " + budgetName + " exists (" + current.limitText() + ")"
		}
		return f, nil
	}
	want := wantBudget(s, t)
	if !exists {
		return control.Finding{Action: control.ActionCreate, Changes: []control.Change{
			{Field: "budget " + budgetName, Current: "none", Desired: want.limitText() + " a month, alerts at 80% actual and 100% forecast"}}}, nil
	}
	var changes []control.Change
	if current.Amount != want.Amount || current.Unit != want.Unit {
		changes = append(changes, control.Change{Field: "budget limit", Current: current.limitText(), Desired: want.limitText()})
	}
	f := control.Finding{Compliant: len(changes) == 0, Action: control.ActionUpdate, Changes: changes}
	if strings.Join(current.Notifications, "|") != strings.Join(want.Notifications, "|") {
		f.Compliant = false
		f.Changes = append(f.Changes, control.Change{Field: "budget notifications",
			Current: strings.Join(current.Notifications, "; "), Desired: strings.Join(want.Notifications, "; ")})
		f.Unmanaged = "budget " + budgetName + " exists with other notifications: fix them or delete the budget so harden recreates it"
	}
	if f.Compliant {
		f.Action = control.ActionNone
	}
	return f, nil
}

func (c BudgetAlarm) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	f, err := c.Check(ctx, env, t)
	if err != nil || f.Compliant || f.Unmanaged != "" {
		return nil, err
	}
	s := budgetAlarmSettings(env)
	want := wantBudget(s, t)
	if f.Action == control.ActionCreate {
		err := j.Write(ctx, stepCreateBudget, nil, want, func(ctx context.Context) (any, error) {
			_, err := env.AWS.Budgets().CreateBudget(ctx, &budgets.CreateBudgetInput{
				AccountId:                    aws.String(t.AccountID),
				Budget:                       budgetOf(want),
				NotificationsWithSubscribers: wantNotifications(s, t),
				ResourceTags:                 budgetResourceTags(j.RunID()),
			})
			if err != nil {
				return nil, err
			}
			return budgetResult{ARN: budgetARN(t)}, nil
		})
		if err != nil {
			return nil, fmt.Errorf("budget-alarm: create budget %s: %w", budgetName, err)
		}
		return f.Changes, nil
	}
	current, _, err := readBudget(ctx, env, t)
	if err != nil {
		return nil, err
	}
	prior := budgetState{Amount: current.Amount, Unit: current.Unit}
	after := budgetState{Amount: want.Amount, Unit: want.Unit}
	if err := j.Write(ctx, stepUpdateBudget, prior, after, func(ctx context.Context) (any, error) {
		return nil, setBudgetLimit(ctx, env, t, after)
	}); err != nil {
		return nil, err
	}
	return f.Changes, nil
}

func budgetOf(s budgetState) *btypes.Budget {
	return &btypes.Budget{
		BudgetName:  aws.String(budgetName),
		BudgetType:  btypes.BudgetTypeCost,
		TimeUnit:    btypes.TimeUnitMonthly,
		BudgetLimit: &btypes.Spend{Amount: aws.String(formatAmount(s.Amount)), Unit: aws.String(s.Unit)},
	}
}

func budgetResourceTags(runID string) []btypes.ResourceTag {
	var out []btypes.ResourceTag
	tags := control.Tags(runID)
	for _, k := range sortedTagKeys(tags) {
		out = append(out, btypes.ResourceTag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func setBudgetLimit(ctx context.Context, env *control.Env, t control.Target, s budgetState) error {
	_, err := env.AWS.Budgets().UpdateBudget(ctx, &budgets.UpdateBudgetInput{AccountId: aws.String(t.AccountID), NewBudget: budgetOf(s)})
	if err != nil {
		return fmt.Errorf("budget-alarm: set the limit of %s to %s: %w", budgetName, s.limitText(), err)
	}
	return nil
}

func deleteBudget(ctx context.Context, env *control.Env, t control.Target) error {
	_, err := env.AWS.Budgets().DeleteBudget(ctx, &budgets.DeleteBudgetInput{AccountId: aws.String(t.AccountID), BudgetName: aws.String(budgetName)})
	var nf *btypes.NotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("budget-alarm: delete budget %s: %w", budgetName, err)
	}
	return nil
}

// ownedByRun reports whether tags are harden's, from run (when the tags
// name one).
func ownedByRun(tags map[string]string, run string) bool {
	if tags[control.TagManagedBy] != control.TagManagedByID {
		return false
	}
	r, ok := tags[control.TagRun]
	return !ok || run == "" || r == run
}

func (c BudgetAlarm) undoCreate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var after budgetState
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	var result budgetResult
	if _, err := control.DecodeResult(s, &result); err != nil {
		return control.Undo{}, err
	}
	if s.Done && result.ARN != "" && result.ARN != budgetARN(t) {
		return control.Drift(nil, "budget %s is not the one harden created (%s)", budgetName, result.ARN), nil
	}
	current, exists, err := readBudget(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	if !exists {
		if !s.Done {
			return control.Nothing("the write never happened: no budget %s", budgetName), nil
		}
		return control.Nothing("budget %s is already gone", budgetName), nil
	}
	tags, err := budgetTags(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	if !ownedByRun(tags, s.RunID) {
		if !s.Done {
			return control.Nothing("the write never happened: budget %s is not harden's", budgetName), nil
		}
		return control.Drift(nil, "budget %s is not the one harden created (no harden tags)", budgetName), nil
	}
	del := func(ctx context.Context) error { return deleteBudget(ctx, env, t) }
	if current.Amount != after.Amount || current.Unit != after.Unit {
		return control.Drift(del, "budget %s limit: harden set %s, now %s", budgetName, after.limitText(), current.limitText()), nil
	}
	return control.Deleted("delete budget "+budgetName, del), nil
}

func (c BudgetAlarm) undoUpdate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after budgetState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	current, exists, err := readBudget(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	if !exists {
		return control.Nothing("budget %s is gone", budgetName), nil
	}
	putBack := func(ctx context.Context) error { return setBudgetLimit(ctx, env, t, prior) }
	cur := []setting{{"budget limit", current.limitText()}}
	return settingsUndo("the limit of budget "+budgetName, cur,
		[]setting{{"budget limit", after.limitText()}}, []setting{{"budget limit", prior.limitText()}}, putBack), nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c BudgetAlarm) Steps() control.Steps {
	return control.Steps{stepCreateBudget: c.undoCreate, stepUpdateBudget: c.undoUpdate}
}
