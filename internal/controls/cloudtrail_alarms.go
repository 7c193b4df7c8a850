package controls

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// CloudTrailAlarms sends harden's trail to a CloudWatch Logs log group
// and keeps a metric filter and an alarm for each CIS monitoring
// recommendation there, the alarms notifying the alert topic. It never
// modifies a trail that is not harden's, nor that trail's log group: when
// such a trail counts (so the cloudtrail control adds none of harden's),
// or a trail named TrailName lacks harden's tag, the target is unmanaged.
type CloudTrailAlarms struct{}

const (
	cloudtrailAlarmsID = "cloudtrail-alarms"
	// TrailLogGroup is the log group harden's trail delivers to.
	TrailLogGroup = "/harden/cloudtrail"
	// trailLogsRole is the role CloudTrail assumes to write to it; its
	// inline policy has the same name.
	trailLogsRole                          = "harden-cloudtrail-logs"
	monitoringNamespace                    = "harden/CloudTrail"
	monitoringPrefix                       = "harden-cis-"
	defaultTrailLogsDays                   = 365
	alarmPeriodSeconds                     = 300
	stepCreateLogGroup    control.StepKind = "CreateLogGroup"
	stepPutRetention      control.StepKind = "PutRetentionPolicy"
	stepCreateLogsRole    control.StepKind = "CreateTrailLogsRole"
	stepPutLogsRolePolicy control.StepKind = "PutTrailLogsRolePolicy"
	stepTrailToLogs       control.StepKind = "UpdateTrailLogDelivery"
	stepPutMetricFilter   control.StepKind = "PutMetricFilter"
	stepPutMetricAlarm    control.StepKind = "PutMetricAlarm"
)

// CloudTrailAlarmsSettings are the settings (harden.yaml
// controls.cloudtrail-alarms).
type CloudTrailAlarmsSettings struct {
	LogRetentionDays int `yaml:"log_retention_days" doc:"days the CloudTrail log group keeps events (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"`
}

var logRetentionValues = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true,
	120: true, 150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true,
	2192: true, 2557: true, 2922: true, 3288: true, 3653: true}

// NewSettings returns the defaults: a year of retention.
func (CloudTrailAlarms) NewSettings() control.ControlSettings {
	return &CloudTrailAlarmsSettings{LogRetentionDays: defaultTrailLogsDays}
}

// Validate checks the retention against the values CloudWatch Logs takes.
func (s *CloudTrailAlarmsSettings) Validate() error {
	if !logRetentionValues[s.LogRetentionDays] {
		return control.FieldErrorf("log_retention_days", "%d is not a retention CloudWatch Logs accepts", s.LogRetentionDays)
	}
	return nil
}

func trailLogsDays(env *control.Env) int {
	return control.SettingsOf(env, cloudtrailAlarmsID, CloudTrailAlarms{}.NewSettings().(*CloudTrailAlarmsSettings)).LogRetentionDays
}

func (CloudTrailAlarms) Info() control.Info {
	var shub, cis []string
	for _, f := range MonitoringFilters {
		if f.SecurityHub != "" {
			shub = append(shub, f.SecurityHub)
		}
		cis = append(cis, f.CIS)
	}
	return control.Info{
		ID:    cloudtrailAlarmsID,
		Title: "CloudTrail log monitoring alarms",
		Scope: control.Account,
		Desired: "harden's trail delivers to the CloudWatch Logs group " + TrailLogGroup + " (retention a setting) through a role " +
			"that may write only there, with a metric filter and an alarm notifying the alert topic for each CIS monitoring recommendation",
		SecurityHub: append([]string{"CloudTrail.5"}, shub...),
		CIS:         cis,
		DependsOn:   []string{"log-archive", "cloudtrail", alertsControlID},
		// The alert topic (in the home region), not security-alerts' rules.
		Needs: map[string]string{securityAlertsID: AlertTopicStage},
		ReadActions: []string{"cloudtrail:DescribeTrails", "cloudtrail:ListTags", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "logs:DescribeLogGroups", "logs:DescribeMetricFilters",
			"logs:ListTagsForResource", "iam:GetRole", "iam:GetRolePolicy", "iam:ListRoleTags", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"},
		WriteActions: []string{"cloudtrail:UpdateTrail", "iam:PassRole", "iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy",
			"iam:DeleteRolePolicy", "iam:DeleteRole", "logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy",
			"logs:DeleteRetentionPolicy", "logs:DeleteLogGroup", "logs:PutMetricFilter", "logs:DeleteMetricFilter",
			"cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:DeleteAlarms"},
		Cost: control.Cost{UsageBased: true, Drivers: "CloudWatch Logs ingestion and storage of management events; 15 alarms (0.10 USD a month each)"},
	}
}

func trailLogGroupARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", t.HomeRegion, t.AccountID, TrailLogGroup)
}

func trailLogsRoleARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", t.AccountID, trailLogsRole)
}

func trailLogsTrustPolicy(t control.Target) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceArn":"` + TrailARN(t) + `"}}}]}`
}

// trailLogsPolicy lets CloudTrail write log streams of the group and
// nothing else.
func trailLogsPolicy(t control.Target) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"CloudTrailToLogGroup","Effect":"Allow",` +
		`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:` + t.HomeRegion + `:` + t.AccountID +
		`:log-group:` + TrailLogGroup + `:log-stream:*"}]}`
}

// filterState is one metric filter as harden governs it.
type filterState struct {
	Name      string `json:"name"`
	Pattern   string `json:"pattern"`
	Metric    string `json:"metric"`
	Namespace string `json:"namespace"`
}

// alarmState is one alarm as harden governs it.
type alarmState struct {
	Name       string   `json:"name"`
	Metric     string   `json:"metric"`
	Namespace  string   `json:"namespace"`
	Statistic  string   `json:"statistic"`
	Period     int32    `json:"period"`
	Periods    int32    `json:"evaluation_periods"`
	Threshold  float64  `json:"threshold"`
	Comparison string   `json:"comparison"`
	Missing    string   `json:"treat_missing_data"`
	Actions    []string `json:"actions"`
}

func wantFilter(f MonitoringFilter) filterState {
	return filterState{Name: monitoringPrefix + f.Name, Pattern: f.Pattern, Metric: f.Name, Namespace: monitoringNamespace}
}

func wantAlarm(f MonitoringFilter, t control.Target) alarmState {
	return alarmState{Name: monitoringPrefix + f.Name, Metric: f.Name, Namespace: monitoringNamespace, Statistic: "Sum",
		Period: alarmPeriodSeconds, Periods: 1, Threshold: 1, Comparison: string(cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold),
		Missing: "notBreaching", Actions: []string{AlertTopicARN(t)}}
}

// trailDelivery is where a trail sends its events in CloudWatch Logs.
type trailDelivery struct {
	LogGroupARN string `json:"log_group_arn"`
	RoleARN     string `json:"role_arn"`
}

// monitoringState is everything the control reads.
type monitoringState struct {
	// Trail is harden's trail's delivery; TrailExists false when harden
	// has no trail. Then Foreign is the foreign trail that counts in its
	// place (nil: the cloudtrail control creates harden's), and Taken the
	// name of a trail called TrailName without harden's tag.
	TrailExists bool
	Trail       trailDelivery
	Foreign     *foreignTrail
	Taken       string
	// Group: whether the log group exists and its retention (0: never
	// expires).
	GroupExists bool
	Retention   int
	// Role: whether the role exists, is harden's, and its inline policy.
	RoleExists, RoleOwned bool
	RolePolicy            string
	Filters               map[string]filterState
	Alarms                map[string]alarmState
}

type foreignTrail struct {
	Name, LogGroupARN string
}

func (c CloudTrailAlarms) read(ctx context.Context, env *control.Env, t control.Target) (monitoringState, error) {
	st := monitoringState{Filters: map[string]filterState{}, Alarms: map[string]alarmState{}}
	// The trail, the log group, the role and the alarms are read
	// together; each read sets its own fields of st.
	err := parallel.Do(ctx,
		func(ctx context.Context) error { return c.readTrails(ctx, env, t, &st) },
		func(ctx context.Context) error { return readLogGroup(ctx, env, t, &st) },
		func(ctx context.Context) error { return readLogsRole(ctx, env, t, &st) },
		func(ctx context.Context) (err error) {
			st.Alarms, err = readAlarms(ctx, env, t)
			return err
		})
	return st, err
}

// readTrails finds harden's trail and, when there is none, what the
// cloudtrail control finds in its place: a foreign trail that counts
// (harden will not add its own, so it is the trail the CIS alarms would
// watch; a trail named TrailName without harden's tag may be it) or, when
// none counts, a trail named TrailName without harden's tag (in the way
// of harden's own). A foreign trail that does not count is no obstacle:
// the cloudtrail control adds harden's trail beside it.
//
// The tags of harden's trail are read at once with the list (its ARN is
// known beforehand; a trail that does not exist has no owner), so
// that the read costs one round trip, not two, before the log group's
// chain of writes can start.
func (CloudTrailAlarms) readTrails(ctx context.Context, env *control.Env, t control.Target, st *monitoringState) error {
	var out *cloudtrail.DescribeTrailsOutput
	var owner trailOwnership
	err := parallel.Do(ctx, func(ctx context.Context) (err error) {
		out, err = ctClient(env, t).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("cloudtrail-alarms: describe trails in %s: %w", t.HomeRegion, err)
		}
		return nil
	}, func(ctx context.Context) (err error) {
		if owner, err = (CloudTrail{}).ownership(ctx, env, t, TrailARN(t)); err != nil {
			return fmt.Errorf("cloudtrail-alarms: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	groups := map[string]string{}
	var trails []ctTrail
	for _, tr := range out.TrailList {
		d := trailDelivery{LogGroupARN: aws.ToString(tr.CloudWatchLogsLogGroupArn), RoleARN: aws.ToString(tr.CloudWatchLogsRoleArn)}
		groups[aws.ToString(tr.TrailARN)] = d.LogGroupARN
		if aws.ToString(tr.TrailARN) == TrailARN(t) {
			if owner.Harden {
				st.TrailExists, st.Trail = true, d
				return nil
			}
			st.Taken = aws.ToString(tr.Name)
		}
		trails = append(trails, trailFromSDK(tr, t.AccountID))
	}
	var found trailState
	if err := (CloudTrail{}).findCounting(ctx, env, t, trails, &found); err != nil {
		return fmt.Errorf("cloudtrail-alarms: %w", err)
	}
	if found.Counting != nil {
		st.Foreign = &foreignTrail{Name: found.Counting.Name, LogGroupARN: groups[found.Counting.ARN]}
	}
	return nil
}

func logsClient(env *control.Env, t control.Target) *cloudwatchlogs.Client {
	return env.AWS.CloudWatchLogs(t.HomeRegion)
}

// readLogGroup reads the log group and, at once, its filters (a group
// that does not exist has none: readFilters answers an empty set), so a
// group that exists costs one round trip, not two.
func readLogGroup(ctx context.Context, env *control.Env, t control.Target, st *monitoringState) error {
	var filters map[string]filterState
	err := parallel.Do(ctx, func(ctx context.Context) error {
		return readLogGroupOnly(ctx, env, t, st)
	}, func(ctx context.Context) (err error) {
		filters, err = readFilters(ctx, env, t)
		return err
	})
	if err != nil {
		return err
	}
	if st.GroupExists {
		st.Filters = filters
	}
	return nil
}

func readFilters(ctx context.Context, env *control.Env, t control.Target) (map[string]filterState, error) {
	out := map[string]filterState{}
	p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(logsClient(env, t), &cloudwatchlogs.DescribeMetricFiltersInput{
		LogGroupName: aws.String(TrailLogGroup), FilterNamePrefix: aws.String(monitoringPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var nf *cwltypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cloudtrail-alarms: describe metric filters of %s: %w", TrailLogGroup, err)
		}
		for _, f := range page.MetricFilters {
			fs := filterState{Name: aws.ToString(f.FilterName), Pattern: aws.ToString(f.FilterPattern)}
			if len(f.MetricTransformations) == 1 {
				fs.Metric = aws.ToString(f.MetricTransformations[0].MetricName)
				fs.Namespace = aws.ToString(f.MetricTransformations[0].MetricNamespace)
			}
			out[fs.Name] = fs
		}
	}
	return out, nil
}

// readLogsRole reads the role, its tags and its policy at once (the
// role's name is known); the tags' and policy's answers count only when
// the role exists.
func readLogsRole(ctx context.Context, env *control.Env, t control.Target, st *monitoringState) error {
	var exists bool
	var tags map[string]string
	var tagsErr error
	var policy string
	err := parallel.Do(ctx, func(ctx context.Context) error {
		_, err := env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(trailLogsRole)})
		var nse *iamtypes.NoSuchEntityException
		switch {
		case errors.As(err, &nse):
			return nil
		case err != nil:
			return fmt.Errorf("cloudtrail-alarms: get role %s: %w", trailLogsRole, err)
		}
		exists = true
		return nil
	}, func(ctx context.Context) error {
		tags, tagsErr = roleTags(ctx, env) // NoSuchEntity when the role does not exist
		return nil
	}, func(ctx context.Context) (err error) {
		policy, err = rolePolicy(ctx, env)
		return err
	})
	if err != nil || !exists {
		return err
	}
	if tagsErr != nil {
		return tagsErr
	}
	st.RoleExists, st.RolePolicy = true, policy
	st.RoleOwned = tags[control.TagManagedBy] == control.TagManagedByID
	return nil
}

func roleTags(ctx context.Context, env *control.Env) (map[string]string, error) {
	out, err := env.AWS.IAM().ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(trailLogsRole)})
	if err != nil {
		return nil, fmt.Errorf("cloudtrail-alarms: list tags of role %s: %w", trailLogsRole, err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags, nil
}

// rolePolicy returns the role's inline policy, "" when it has none.
func rolePolicy(ctx context.Context, env *control.Env) (string, error) {
	out, err := env.AWS.IAM().GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(trailLogsRole), PolicyName: aws.String(trailLogsRole)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cloudtrail-alarms: get policy of role %s: %w", trailLogsRole, err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		return "", fmt.Errorf("cloudtrail-alarms: policy of role %s: %w", trailLogsRole, err)
	}
	return doc, nil
}

func cwClient(env *control.Env, t control.Target) *cloudwatch.Client {
	return env.AWS.CloudWatch(t.HomeRegion)
}

func readAlarms(ctx context.Context, env *control.Env, t control.Target) (map[string]alarmState, error) {
	out := map[string]alarmState{}
	p := cloudwatch.NewDescribeAlarmsPaginator(cwClient(env, t), &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(monitoringPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cloudtrail-alarms: describe alarms in %s: %w", t.HomeRegion, err)
		}
		for _, a := range page.MetricAlarms {
			as := alarmStateOf(a)
			out[as.Name] = as
		}
	}
	return out, nil
}

func alarmStateOf(a cwtypes.MetricAlarm) alarmState {
	return alarmState{Name: aws.ToString(a.AlarmName), Metric: aws.ToString(a.MetricName), Namespace: aws.ToString(a.Namespace),
		Statistic: string(a.Statistic), Period: aws.ToInt32(a.Period), Periods: aws.ToInt32(a.EvaluationPeriods),
		Threshold: aws.ToFloat64(a.Threshold), Comparison: string(a.ComparisonOperator), Missing: aws.ToString(a.TreatMissingData),
		Actions: a.AlarmActions}
}

// plan lists the changes from st to the desired state; unmanaged says why
// harden leaves the target alone ("" when it does not).
func (st monitoringState) plan(env *control.Env, t control.Target) (changes []control.Change, unmanaged string) {
	if f := st.Foreign; !st.TrailExists && f != nil {
		if f.LogGroupARN == "" {
			return []control.Change{{Field: "trail " + f.Name, Current: "no CloudWatch Logs delivery", Desired: "delivers to a log group with CIS alarms"}},
				fmt.Sprintf("trail %q is not harden's and delivers to no CloudWatch Logs log group: harden never modifies someone else's trail; "+
					"send it to a log group with the CIS metric filters and alarms, or let harden create its own trail", f.Name)
		}
		return []control.Change{{Field: "trail " + f.Name, Current: "delivers to " + f.LogGroupARN, Desired: "CIS alarms on harden's trail"}},
			fmt.Sprintf("trail %q is not harden's: harden never modifies someone else's trail or its log group %s, and keeps the CIS metric filters "+
				"and alarms only on its own trail's log group; keep them on that log group yourself", f.Name, f.LogGroupARN)
	}
	if !st.TrailExists && st.Taken != "" {
		return []control.Change{{Field: "trail " + st.Taken, Current: "without harden's tag managed-by=harden", Desired: "harden's"}},
			fmt.Sprintf("a trail named %q exists without harden's tag managed-by=harden: harden never modifies someone else's trail; rename or delete it", st.Taken)
	}
	if st.RoleExists && !st.RoleOwned {
		return []control.Change{{Field: "role " + trailLogsRole, Current: "exists, not harden's", Desired: "harden's"}},
			fmt.Sprintf("role %s exists and is not harden's: rename or delete it", trailLogsRole)
	}
	days := trailLogsDays(env)
	add := func(field, cur, want string) {
		changes = append(changes, control.Change{Field: field, Current: cur, Desired: want})
	}
	if !st.GroupExists {
		add("log group "+TrailLogGroup, "none", fmt.Sprintf("created, %d days retention", days))
	} else if st.Retention != days {
		add("log group retention", retentionText(st.Retention), fmt.Sprint(days))
	}
	if !st.RoleExists {
		add("role "+trailLogsRole, "none", "CloudTrail may write to "+TrailLogGroup+" only")
	} else if !samePolicy(st.RolePolicy, trailLogsPolicy(t)) {
		add("role "+trailLogsRole+" policy", orNone(st.RolePolicy), "logs:CreateLogStream, logs:PutLogEvents on "+TrailLogGroup)
	}
	want := trailDelivery{LogGroupARN: trailLogGroupARN(t), RoleARN: trailLogsRoleARN(t)}
	if st.Trail != want {
		add("trail "+TrailName+" CloudWatch Logs delivery", orNone(st.Trail.LogGroupARN), want.LogGroupARN)
	}
	var filters, alarms []string
	for _, f := range MonitoringFilters {
		if cur, ok := st.Filters[monitoringPrefix+f.Name]; !ok || !sameFilter(cur, wantFilter(f)) {
			filters = append(filters, f.Name)
		}
		if cur, ok := st.Alarms[monitoringPrefix+f.Name]; !ok || !reflect.DeepEqual(cur, wantAlarm(f, t)) {
			alarms = append(alarms, f.Name)
		}
	}
	if len(filters) > 0 {
		add("metric filters", missingText(filters), fmt.Sprintf("%d, one per CIS monitoring recommendation", len(MonitoringFilters)))
	}
	if len(alarms) > 0 {
		add("alarms", missingText(alarms), fmt.Sprintf("%d, notifying %s", len(MonitoringFilters), AlertTopicARN(t)))
	}
	return changes, ""
}

// missingText says which filters or alarms are missing or different:
// "none" when all of them are.
func missingText(names []string) string {
	if len(names) == len(MonitoringFilters) {
		return "none"
	}
	return "missing or different: " + strings.Join(names, ", ")
}

func retentionText(days int) string {
	if days == 0 {
		return "never expires"
	}
	return fmt.Sprint(days)
}

func (c CloudTrailAlarms) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	changes, unmanaged := st.plan(env, t)
	if len(changes) == 0 {
		return control.Finding{Compliant: true}, nil
	}
	f := control.Finding{Changes: changes, Unmanaged: unmanaged, Action: control.ActionUpdate}
	if unmanaged != "" {
		f.Action = control.ActionNone
	} else if !st.GroupExists {
		f.Action = control.ActionCreate
	}
	if !st.TrailExists && unmanaged == "" {
		f.Note = "harden's trail is created by the cloudtrail control first"
	}
	return f, nil
}
