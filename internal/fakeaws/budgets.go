package fakeaws

import (
	"fmt"
	"regexp"
)

// budgetsState is AWS Budgets: the account's budgets by name.
type budgetsState struct {
	Budgets map[string]*budget
}

type budgetSpend struct {
	Amount string `json:"Amount"`
	Unit   string `json:"Unit"`
}

type budgetNotification struct {
	NotificationType   string  `json:"NotificationType"`
	ComparisonOperator string  `json:"ComparisonOperator"`
	Threshold          float64 `json:"Threshold"`
	ThresholdType      string  `json:"ThresholdType,omitempty"`
}

type budgetSubscriber struct {
	SubscriptionType string `json:"SubscriptionType"`
	Address          string `json:"Address"`
}

type budgetNotificationWithSubscribers struct {
	Notification budgetNotification `json:"Notification"`
	Subscribers  []budgetSubscriber `json:"Subscribers"`
}

type budget struct {
	BudgetName    string                              `json:"BudgetName"`
	BudgetType    string                              `json:"BudgetType"`
	TimeUnit      string                              `json:"TimeUnit"`
	BudgetLimit   *budgetSpend                        `json:"BudgetLimit,omitempty"`
	Notifications []budgetNotificationWithSubscribers `json:"Notifications,omitempty"`
	Tags          map[string]string                   `json:"Tags,omitempty"`
}

// budgetView is a budget as DescribeBudget shows it.
type budgetView struct {
	BudgetName  string       `json:"BudgetName"`
	BudgetType  string       `json:"BudgetType"`
	TimeUnit    string       `json:"TimeUnit"`
	BudgetLimit *budgetSpend `json:"BudgetLimit,omitempty"`
}

type resourceTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func budgetsService() *service {
	return &service{
		name:          "budgets",
		signingName:   "budgets",
		protocol:      protoJSON,
		target:        "AWSBudgetServiceGateway",
		global:        true,
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "AccessDeniedException", Message: "not enabled"},
		ops: []*op{
			{name: "CreateBudget", write: true, handle: budgetsCreate},
			{name: "DescribeBudget", handle: budgetsDescribe},
			{name: "UpdateBudget", write: true, handle: budgetsUpdate},
			{name: "DeleteBudget", write: true, handle: budgetsDelete},
			{name: "DescribeNotificationsForBudget", handle: budgetsDescribeNotifications},
			{name: "DescribeSubscribersForNotification", handle: budgetsDescribeSubscribers},
			{name: "ListTagsForResource", handle: budgetsListTags},
		},
	}
}

var budgetAmountPattern = regexp.MustCompile(`^([0-9]*\.)?[0-9]+$`)

func budgetsInvalid(msg string) *APIError {
	return &APIError{Status: 400, Code: "InvalidParameterException", Message: msg}
}

func budgetsNotFound(name string) *APIError {
	return &APIError{Status: 400, Code: "NotFoundException",
		Message: fmt.Sprintf("Unable to get budget: %s - the budget doesn't exist.", name)}
}

// budgetARN is a budget's ARN: Budgets ARNs have no region.
func budgetARN(acct, name string) string {
	return fmt.Sprintf("arn:aws:budgets::%s:budget/%s", acct, name)
}

func budgetsAccount(c *call, id string) error {
	if id != c.acct.ID {
		return &APIError{Status: 400, Code: "AccessDeniedException",
			Message: fmt.Sprintf("Account %s is not the caller's account", id)}
	}
	return nil
}

func (b *budget) validate() error {
	if b.BudgetName == "" {
		return budgetsInvalid("BudgetName is required")
	}
	if b.BudgetType != "COST" && b.BudgetType != "USAGE" && b.BudgetType != "RI_UTILIZATION" &&
		b.BudgetType != "RI_COVERAGE" && b.BudgetType != "SAVINGS_PLANS_UTILIZATION" && b.BudgetType != "SAVINGS_PLANS_COVERAGE" {
		return budgetsInvalid("Invalid BudgetType: " + b.BudgetType)
	}
	if b.TimeUnit != "DAILY" && b.TimeUnit != "MONTHLY" && b.TimeUnit != "QUARTERLY" && b.TimeUnit != "ANNUALLY" {
		return budgetsInvalid("Invalid TimeUnit: " + b.TimeUnit)
	}
	if b.BudgetType == "COST" {
		if b.BudgetLimit == nil || !budgetAmountPattern.MatchString(b.BudgetLimit.Amount) || b.BudgetLimit.Unit == "" {
			return budgetsInvalid("A COST budget needs a BudgetLimit with a numeric Amount and a Unit")
		}
	}
	return nil
}

func budgetsCreate(c *call) (any, error) {
	var in struct {
		AccountId                    string
		Budget                       budget
		NotificationsWithSubscribers []budgetNotificationWithSubscribers
		ResourceTags                 []resourceTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := budgetsAccount(c, in.AccountId); err != nil {
		return nil, err
	}
	b := in.Budget
	if err := b.validate(); err != nil {
		return nil, err
	}
	if _, ok := c.acct.Budgets.Budgets[b.BudgetName]; ok {
		return nil, &APIError{Status: 400, Code: "DuplicateRecordException",
			Message: fmt.Sprintf("Error creating budget: %s - the budget already exists.", b.BudgetName)}
	}
	for _, n := range in.NotificationsWithSubscribers {
		if len(n.Subscribers) == 0 || len(n.Subscribers) > 11 {
			return nil, budgetsInvalid("A notification needs 1 to 11 subscribers")
		}
	}
	b.Notifications, b.Tags = in.NotificationsWithSubscribers, map[string]string{}
	for i := range b.Notifications {
		if b.Notifications[i].Notification.ThresholdType == "" {
			b.Notifications[i].Notification.ThresholdType = "PERCENTAGE"
		}
	}
	for _, t := range in.ResourceTags {
		b.Tags[t.Key] = t.Value
	}
	c.acct.Budgets.Budgets[b.BudgetName] = &b
	return nil, nil
}

type budgetByName struct {
	AccountId  string
	BudgetName string
}

func (c *call) budgetNamed() (*budget, error) {
	var in budgetByName
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := budgetsAccount(c, in.AccountId); err != nil {
		return nil, err
	}
	b, ok := c.acct.Budgets.Budgets[in.BudgetName]
	if !ok {
		return nil, budgetsNotFound(in.BudgetName)
	}
	return b, nil
}

func budgetsDescribe(c *call) (any, error) {
	b, err := c.budgetNamed()
	if err != nil {
		return nil, err
	}
	return struct{ Budget budgetView }{budgetView{b.BudgetName, b.BudgetType, b.TimeUnit, b.BudgetLimit}}, nil
}

// budgetsUpdate replaces a budget's limit, type and time unit (its
// notifications and tags stay).
func budgetsUpdate(c *call) (any, error) {
	var in struct {
		AccountId string
		NewBudget budget
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := budgetsAccount(c, in.AccountId); err != nil {
		return nil, err
	}
	b, ok := c.acct.Budgets.Budgets[in.NewBudget.BudgetName]
	if !ok {
		return nil, budgetsNotFound(in.NewBudget.BudgetName)
	}
	if err := in.NewBudget.validate(); err != nil {
		return nil, err
	}
	b.BudgetType, b.TimeUnit, b.BudgetLimit = in.NewBudget.BudgetType, in.NewBudget.TimeUnit, in.NewBudget.BudgetLimit
	return nil, nil
}

func budgetsDelete(c *call) (any, error) {
	b, err := c.budgetNamed()
	if err != nil {
		return nil, err
	}
	delete(c.acct.Budgets.Budgets, b.BudgetName)
	return nil, nil
}

func budgetsDescribeNotifications(c *call) (any, error) {
	b, err := c.budgetNamed()
	if err != nil {
		return nil, err
	}
	out := []budgetNotification{}
	for _, n := range b.Notifications {
		out = append(out, n.Notification)
	}
	return struct{ Notifications []budgetNotification }{out}, nil
}

func budgetsDescribeSubscribers(c *call) (any, error) {
	var in struct {
		budgetByName
		Notification budgetNotification
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	b, ok := c.acct.Budgets.Budgets[in.BudgetName]
	if !ok {
		return nil, budgetsNotFound(in.BudgetName)
	}
	if in.Notification.ThresholdType == "" {
		in.Notification.ThresholdType = "PERCENTAGE"
	}
	for _, n := range b.Notifications {
		if n.Notification == in.Notification {
			return struct{ Subscribers []budgetSubscriber }{n.Subscribers}, nil
		}
	}
	return nil, &APIError{Status: 400, Code: "NotFoundException", Message: "Unable to find notification for budget " + in.BudgetName}
}

func budgetsListTags(c *call) (any, error) {
	var in struct{ ResourceARN string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	for _, b := range c.acct.Budgets.Budgets {
		if budgetARN(c.acct.ID, b.BudgetName) == in.ResourceARN {
			tags := []resourceTag{}
			for _, k := range sortedKeys(b.Tags) {
				tags = append(tags, resourceTag{k, b.Tags[k]})
			}
			return struct{ ResourceTags []resourceTag }{tags}, nil
		}
	}
	return nil, &APIError{Status: 400, Code: "NotFoundException", Message: "Resource not found: " + in.ResourceARN}
}
