package controls

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// Steps lists the writes Apply makes, each with its undo.
func (c CloudTrailAlarms) Steps() control.Steps {
	return control.Steps{
		// The log group and the role are independent of each other; the
		// trail's delivery, which uses both, is undone before either.
		// Every write on the log group, its filters' too, is undone in
		// order: CloudWatch Logs refuses concurrent writes on one log
		// group (OperationAbortedException). The alarms, each its own
		// resource, are undone together.
		stepCreateLogGroup:    control.Keyed(named(trailLogGroupResource), undoCreateLogGroup),
		stepPutRetention:      control.Keyed(named(trailLogGroupResource), undoRetention),
		stepCreateLogsRole:    control.Keyed(named("role "+trailLogsRole), undoCreateLogsRole),
		stepPutLogsRolePolicy: control.Keyed(named("role "+trailLogsRole), undoRolePolicy),
		stepTrailToLogs:       undoTrailDelivery,
		stepPutMetricFilter:   control.Keyed(filterKey, undoFilter),
		stepPutMetricAlarm:    control.Keyed(metricKey, undoAlarm),
	}
}

// trailLogGroupResource names the log group in rollback's ordering
// (control.Keyed).
const trailLogGroupResource = "log group " + TrailLogGroup

// named keys every step of a kind to one resource (control.Keyed).
func named(resource string) func(control.Step) string {
	return func(control.Step) string { return resource }
}

// filterKey orders a filter step with the log group's other steps, as
// CloudWatch Logs takes one write at a time on a log group; a filter put
// on a group the same apply created writes nothing when undone (it goes
// with the group), so it is keyed to its own metric and decided at once
// with the others, not in a chain of 15 (control.Keyed).
func filterKey(s control.Step) string {
	var prior filterStep
	if err := control.DecodePrior(s, &prior); err == nil && prior.NewGroup {
		return metricKey(s)
	}
	return trailLogGroupResource
}

// metricKey names the metric an alarm step governs: the alarms of
// distinct metrics are undone together (control.Keyed). An alarm does not
// need its metric's filter (CloudWatch accepts an alarm on a metric with
// no data), so it is not ordered against the filter.
func metricKey(s control.Step) string {
	var after struct {
		Filter *filterState `json:"filter"`
		Alarm  *alarmState  `json:"alarm"`
	}
	if ok, err := control.DecodeAfter(s, &after); !ok || err != nil {
		return ""
	}
	switch {
	case after.Filter != nil && after.Filter.Metric != "":
		return "metric " + after.Filter.Namespace + "/" + after.Filter.Metric
	case after.Alarm != nil && after.Alarm.Metric != "":
		return "metric " + after.Alarm.Namespace + "/" + after.Alarm.Metric
	}
	return ""
}

// putVerdict decides the undo of a write that replaced one thing whole
// (a policy, a filter, an alarm, a trail's delivery): still what harden
// left → Restore; what was there before (or gone, and there was nothing)
// → Already; anything else → Drifted.
func putVerdict(exists, isAfter, isPrior, priorExists bool) control.Verdict {
	switch {
	case exists && isAfter:
		return control.Restore
	case !exists && !priorExists, exists && priorExists && isPrior:
		return control.Already
	}
	return control.Drifted
}

func undoCreateLogGroup(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var result createdResult
	if _, err := control.DecodeResult(s, &result); err != nil {
		return control.Undo{}, err
	}
	if result.ARN != "" && result.ARN != trailLogGroupARN(t) {
		return control.Drift(nil, "log group %s is not the one harden created (%s)", TrailLogGroup, result.ARN), nil
	}
	// The group and its tags (harden's ownership proof) are read together.
	var st monitoringState
	var tags map[string]string
	err := parallel.Do(ctx, func(ctx context.Context) error {
		return readLogGroupOnly(ctx, env, t, &st)
	}, func(ctx context.Context) (err error) {
		tags, err = logGroupTags(ctx, env, t)
		return err
	})
	if err != nil {
		return control.Undo{}, err
	}
	if !st.GroupExists {
		if !s.Done {
			return control.Nothing("the write never happened: no log group %s", TrailLogGroup), nil
		}
		return control.Nothing("log group %s is already gone", TrailLogGroup), nil
	}
	if !ownedByRun(tags, s.RunID) {
		if !s.Done {
			return control.Nothing("the write never happened: log group %s is not harden's", TrailLogGroup), nil
		}
		return control.Drift(nil, "log group %s is not the one harden created (no harden tags)", TrailLogGroup), nil
	}
	return control.Deleted("delete log group "+TrailLogGroup+" and the CloudTrail events it holds", func(ctx context.Context) error {
		_, err := logsClient(env, t).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(TrailLogGroup)})
		if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
			return fmt.Errorf("cloudtrail-alarms: delete log group %s: %w", TrailLogGroup, err)
		}
		return nil
	}), nil
}

// readLogGroupOnly reads the log group's existence and retention without
// its filters.
func readLogGroupOnly(ctx context.Context, env *control.Env, t control.Target, st *monitoringState) error {
	out, err := logsClient(env, t).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(TrailLogGroup)})
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: describe log group %s: %w", TrailLogGroup, err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == TrailLogGroup {
			st.GroupExists, st.Retention = true, int(aws.ToInt32(g.RetentionInDays))
		}
	}
	return nil
}

func undoRetention(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after logGroupStep
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	// The group and, when the retention may go with it, its tags are
	// read together.
	var st monitoringState
	var tags map[string]string
	maybeWithGroup := prior.Retention == 0 && s.RunID != ""
	reads := []func(context.Context) error{func(ctx context.Context) error { return readLogGroupOnly(ctx, env, t, &st) }}
	if maybeWithGroup {
		reads = append(reads, func(ctx context.Context) (err error) {
			tags, err = logGroupTags(ctx, env, t)
			return err
		})
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return control.Undo{}, err
	}
	if !st.GroupExists {
		return control.Nothing("log group %s is gone", TrailLogGroup), nil
	}
	if maybeWithGroup && st.Retention == after.Retention {
		// A retention harden gave the group its own run created goes with
		// the group (that run's CreateLogGroup step deletes it): no write
		// of its own, so the group's other steps need no second look.
		if tags[control.TagManagedBy] == control.TagManagedByID && tags[control.TagRun] == s.RunID {
			return control.Nothing("the retention of log group %s goes with the group, which the same run created (see its delete)", TrailLogGroup), nil
		}
	}
	setting := func(days int) []setting { return []setting{{"retention (days)", retentionText(days)}} }
	putBack := func(ctx context.Context) error { return setRetention(ctx, env, t, prior.Retention) }
	return settingsUndo("the retention of log group "+TrailLogGroup, setting(st.Retention), setting(after.Retention), setting(prior.Retention), putBack), nil
}

// logGroupTags reads the trail log group's tags; a group that does not
// exist has none (nil).
func logGroupTags(ctx context.Context, env *control.Env, t control.Target) (map[string]string, error) {
	out, err := logsClient(env, t).ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{
		ResourceArn: aws.String(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", t.HomeRegion, t.AccountID, TrailLogGroup))})
	if awserror.Is(err, "ResourceNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloudtrail-alarms: list tags of log group %s: %w", TrailLogGroup, err)
	}
	return out.Tags, nil
}

func undoCreateLogsRole(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var result createdResult
	if _, err := control.DecodeResult(s, &result); err != nil {
		return control.Undo{}, err
	}
	// The role and its tags (harden's ownership proof) are read together.
	var out *iam.GetRoleOutput
	var tags map[string]string
	var nse *iamtypes.NoSuchEntityException
	var tagsErr error
	err := parallel.Do(ctx, func(ctx context.Context) (err error) {
		out, err = env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(trailLogsRole)})
		return err
	}, func(ctx context.Context) error {
		tags, tagsErr = roleTags(ctx, env)
		return nil
	})
	if errors.As(err, &nse) {
		if !s.Done {
			return control.Nothing("the write never happened: no role %s", trailLogsRole), nil
		}
		return control.Nothing("role %s is already gone", trailLogsRole), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("cloudtrail-alarms: get role %s: %w", trailLogsRole, err)
	}
	if result.ARN != "" && result.ARN != aws.ToString(out.Role.Arn) {
		return control.Drift(nil, "role %s is not the one harden created (%s)", trailLogsRole, result.ARN), nil
	}
	if tagsErr != nil {
		return control.Undo{}, tagsErr
	}
	if !ownedByRun(tags, s.RunID) {
		if !s.Done {
			return control.Nothing("the write never happened: role %s is not harden's", trailLogsRole), nil
		}
		return control.Drift(nil, "role %s is not the one harden created (no harden tags)", trailLogsRole), nil
	}
	del := func(ctx context.Context) error {
		_, err := env.AWS.IAM().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(trailLogsRole)})
		if err != nil && !errors.As(err, &nse) {
			return fmt.Errorf("cloudtrail-alarms: delete role %s: %w", trailLogsRole, err)
		}
		return nil
	}
	trust, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if !samePolicy(trust, trailLogsTrustPolicy(t)) {
		return control.Drift(del, "role %s: its trust policy changed since harden created it", trailLogsRole), nil
	}
	return control.Deleted("delete role "+trailLogsRole, del), nil
}

func undoRolePolicy(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after rolePolicyStep
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	// The role and its policy are read together.
	var cur string
	var policyErr error
	err := parallel.Do(ctx, func(ctx context.Context) error {
		_, err := env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(trailLogsRole)})
		return err
	}, func(ctx context.Context) error {
		cur, policyErr = rolePolicy(ctx, env)
		return nil
	})
	if err != nil {
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return control.Nothing("role %s is gone", trailLogsRole), nil
		}
		return control.Undo{}, fmt.Errorf("cloudtrail-alarms: get role %s: %w", trailLogsRole, err)
	}
	if policyErr != nil {
		return control.Undo{}, policyErr
	}
	putBack := func(ctx context.Context) error { return putRolePolicy(ctx, env, prior.Document) }
	switch putVerdict(cur != "", samePolicy(cur, after.Document), samePolicy(cur, prior.Document), prior.Document != "") {
	case control.Restore:
		if prior.Document == "" {
			return control.Restored("remove the policy of role "+trailLogsRole, putBack), nil
		}
		return control.Restored("restore the prior policy of role "+trailLogsRole, putBack), nil
	case control.Already:
		return control.Nothing("the policy of role %s is already as it was before harden's change", trailLogsRole), nil
	}
	return control.Drift(putBack, "policy of role %s: changed since harden set it", trailLogsRole), nil
}

func undoTrailDelivery(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after trailDelivery
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	out, err := ctClient(env, t).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{TrailARN(t)}, IncludeShadowTrails: aws.Bool(false)})
	if err != nil && !awserror.Is(err, "TrailNotFoundException") {
		return control.Undo{}, fmt.Errorf("cloudtrail-alarms: describe trail %s: %w", TrailName, err)
	}
	if err != nil || len(out.TrailList) == 0 {
		return control.Nothing("trail %s is gone", TrailName), nil
	}
	tr := out.TrailList[0]
	cur := trailDelivery{LogGroupARN: aws.ToString(tr.CloudWatchLogsLogGroupArn), RoleARN: aws.ToString(tr.CloudWatchLogsRoleArn)}
	putBack := func(ctx context.Context) error { return setTrailDelivery(ctx, env, t, prior) }
	switch {
	case cur == after:
		if prior.LogGroupARN == "" {
			return control.Restored("stop delivering trail "+TrailName+" to CloudWatch Logs", putBack), nil
		}
		return control.Restored("deliver trail "+TrailName+" to "+prior.LogGroupARN+" again", putBack), nil
	case cur == prior:
		return control.Nothing("trail %s already delivers where it did before harden's change", TrailName), nil
	}
	return control.Drift(putBack, "trail %s CloudWatch Logs delivery: harden set %s, now %s", TrailName, after.LogGroupARN, orNone(cur.LogGroupARN)), nil
}

func undoFilter(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after filterStep
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	name := after.Filter.Name
	filters, err := readFilters(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	cur, exists := filters[name]
	putBack := func(ctx context.Context) error {
		if !prior.Exists {
			return deleteFilter(ctx, env, t, name)
		}
		return putFilter(ctx, env, t, prior.Filter)
	}
	switch putVerdict(exists, sameFilter(cur, after.Filter), sameFilter(cur, prior.Filter), prior.Exists) {
	case control.Restore:
		if !prior.Exists && prior.NewGroup {
			// One delete fewer in the log group's chain of writes.
			return control.Nothing("metric filter %s goes with log group %s, which the same apply created (see its delete)", name, TrailLogGroup), nil
		}
		if !prior.Exists {
			return control.Deleted("delete metric filter "+name, putBack), nil
		}
		return control.Restored("restore metric filter "+name+" (pattern "+prior.Filter.Pattern+")", putBack), nil
	case control.Already:
		return control.Nothing("metric filter %s is already as it was before harden's change", name), nil
	}
	if !exists {
		return control.Drift(putBack, "metric filter %s: deleted since harden set it", name), nil
	}
	return control.Drift(putBack, "metric filter %s: pattern harden set %s, now %s", name, after.Filter.Pattern, cur.Pattern), nil
}

func undoAlarm(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after alarmStep
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	name := after.Alarm.Name
	out, err := cwClient(env, t).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		return control.Undo{}, fmt.Errorf("cloudtrail-alarms: describe alarm %s: %w", name, err)
	}
	var cur alarmState
	exists := len(out.MetricAlarms) == 1
	arn := ""
	if exists {
		cur, arn = alarmStateOf(out.MetricAlarms[0]), aws.ToString(out.MetricAlarms[0].AlarmArn)
	}
	putBack := func(ctx context.Context) error {
		if !prior.Exists {
			return deleteAlarm(ctx, env, t, name)
		}
		return putAlarm(ctx, env, t, prior.Alarm, "restored by harden rollback", "")
	}
	switch putVerdict(exists, reflect.DeepEqual(cur, after.Alarm), reflect.DeepEqual(cur, prior.Alarm), prior.Exists) {
	case control.Restore:
		if prior.Exists {
			return control.Restored("restore alarm "+name, putBack), nil
		}
		tags, err := cwClient(env, t).ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			return control.Undo{}, fmt.Errorf("cloudtrail-alarms: list tags of alarm %s: %w", name, err)
		}
		m := map[string]string{}
		for _, tag := range tags.Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if !ownedByRun(m, s.RunID) {
			return control.Drift(nil, "alarm %s is not the one harden created (no harden tags)", name), nil
		}
		return control.Deleted("delete alarm "+name, putBack), nil
	case control.Already:
		return control.Nothing("alarm %s is already as it was before harden's change", name), nil
	}
	if !exists {
		return control.Drift(putBack, "alarm %s: deleted since harden set it", name), nil
	}
	return control.Drift(putBack, "alarm %s: changed since harden set it (threshold %v, actions %v)", name, cur.Threshold, cur.Actions), nil
}
