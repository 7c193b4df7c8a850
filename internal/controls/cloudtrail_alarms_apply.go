package controls

import (
	"context"
	"errors"
	"fmt"
	"reflect"

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

// logGroupStep is what CreateLogGroup and PutRetentionPolicy journal.
type logGroupStep struct {
	Name      string `json:"name"`
	Retention int    `json:"retention_days"`
}

// createdResult names what a create step made.
type createdResult struct {
	ARN string `json:"arn"`
}

// rolePolicyStep is the role's inline policy before or after a write;
// Document "" means none.
type rolePolicyStep struct {
	Document string `json:"document"`
}

// filterStep and alarmStep are one filter or alarm before or after a
// write; Exists false when there was none. NewGroup marks a filter put on
// the log group the same apply created: it goes with the group, whose
// undo deletes it (or keeps it with the group), so its own undo has
// nothing to do.
type filterStep struct {
	Exists   bool        `json:"exists"`
	Filter   filterState `json:"filter"`
	NewGroup bool        `json:"new_group,omitempty"`
}

type alarmStep struct {
	Exists bool       `json:"exists"`
	Alarm  alarmState `json:"alarm"`
}

func (c CloudTrailAlarms) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	changes, unmanaged := st.plan(env, t)
	if len(changes) == 0 || unmanaged != "" {
		return nil, nil
	}
	if !st.TrailExists {
		return nil, fmt.Errorf("cloudtrail-alarms: harden's trail %s does not exist: apply the cloudtrail control first", TrailName)
	}
	// The log group and its filters, the role, and the alarms need
	// nothing of each other; the trail's delivery needs the group and the
	// role, not the filters. The group's writes go one after another:
	// CloudWatch Logs refuses concurrent writes on one log group
	// (OperationAbortedException). The alarms go together: each is its own
	// resource, and an alarm needs no data on its metric yet, so none waits
	// for its filter.
	var group error
	groupDone := make(chan struct{})
	err = parallel.All(ctx, func(ctx context.Context) error {
		group = createLogGroup(ctx, env, t, j, st)
		close(groupDone)
		if group != nil {
			return group
		}
		if err := writeFilters(ctx, env, t, j, st); err != nil {
			return err
		}
		return writeRetention(ctx, env, t, j, st)
	}, func(ctx context.Context) error {
		if err := writeLogsRole(ctx, env, t, j, st); err != nil {
			return err
		}
		<-groupDone
		if group != nil {
			return nil // reported by the group's branch
		}
		return writeTrailDelivery(ctx, env, t, j, st)
	}, func(ctx context.Context) error {
		return writeAlarms(ctx, env, t, j, st)
	})
	return changes, err
}

// Prerequisites makes the log group with its metric filters, and the role
// CloudTrail delivers with, as soon as apply starts, at once with the
// controls this one depends on (the bucket, the trail, the alert topic):
// none of them is needed for these, and CloudWatch Logs takes one log
// group's writes one at a time, so the group and its 15 filters in a row
// are the longest chain of calls in an apply. Started only after the
// trail, they would come on top of log-archive's and cloudtrail's chains.
// The group's retention, one more write in that chain, is left to Apply,
// where it is the group's only write and goes at once with the trail's
// delivery and the alarms (the trail delivers nothing to the group before
// then). Apply makes all of them when the engine did not run this (it
// then finds them in place). Nothing is written when the control leaves
// the account as it is (someone else's trail or role).
func (c CloudTrailAlarms) Prerequisites(ctx context.Context, env *control.Env, t control.Target, j control.Journal) error {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return err
	}
	if changes, unmanaged := st.plan(env, t); len(changes) == 0 || unmanaged != "" {
		return nil
	}
	return parallel.All(ctx, func(ctx context.Context) error {
		if err := createLogGroup(ctx, env, t, j, st); err != nil {
			return err
		}
		return writeFilters(ctx, env, t, j, st)
	}, func(ctx context.Context) error {
		return writeLogsRole(ctx, env, t, j, st)
	})
}

// createLogGroup creates the log group unless it exists.
func createLogGroup(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	if st.GroupExists {
		return nil
	}
	err := j.Write(ctx, stepCreateLogGroup, nil, logGroupStep{Name: TrailLogGroup}, func(ctx context.Context) (any, error) {
		_, err := logsClient(env, t).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
			LogGroupName: aws.String(TrailLogGroup), Tags: control.Tags(j.RunID())})
		if err != nil {
			return nil, err
		}
		return createdResult{ARN: trailLogGroupARN(t)}, nil
	})
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: create log group %s: %w", TrailLogGroup, err)
	}
	return nil
}

// writeRetention sets the log group's retention unless it is right; a
// group the same apply created has none.
func writeRetention(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	days := trailLogsDays(env)
	prior := st.Retention
	if !st.GroupExists {
		prior = 0
	}
	if prior == days {
		return nil
	}
	return j.Write(ctx, stepPutRetention, logGroupStep{Name: TrailLogGroup, Retention: prior}, logGroupStep{Name: TrailLogGroup, Retention: days},
		func(ctx context.Context) (any, error) { return nil, setRetention(ctx, env, t, days) })
}

func setRetention(ctx context.Context, env *control.Env, t control.Target, days int) error {
	var err error
	if days == 0 {
		_, err = logsClient(env, t).DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(TrailLogGroup)})
	} else {
		_, err = logsClient(env, t).PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String(TrailLogGroup), RetentionInDays: aws.Int32(int32(days))})
	}
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: set retention of %s to %s: %w", TrailLogGroup, retentionText(days), err)
	}
	return nil
}

func writeLogsRole(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	if !st.RoleExists {
		err := j.Write(ctx, stepCreateLogsRole, nil, createdResult{ARN: trailLogsRoleARN(t)}, func(ctx context.Context) (any, error) {
			var tags []iamtypes.Tag
			run := control.Tags(j.RunID())
			for _, k := range sortedTagKeys(run) {
				tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(run[k])})
			}
			out, err := env.AWS.IAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(trailLogsRole),
				AssumeRolePolicyDocument: aws.String(trailLogsTrustPolicy(t)), Tags: tags,
				Description: aws.String("CloudTrail delivers harden's trail to " + TrailLogGroup)})
			if err != nil {
				return nil, err
			}
			return createdResult{ARN: aws.ToString(out.Role.Arn)}, nil
		})
		if err != nil {
			return fmt.Errorf("cloudtrail-alarms: create role %s: %w", trailLogsRole, err)
		}
	}
	want := trailLogsPolicy(t)
	if st.RoleExists && samePolicy(st.RolePolicy, want) {
		return nil
	}
	return j.Write(ctx, stepPutLogsRolePolicy, rolePolicyStep{Document: st.RolePolicy}, rolePolicyStep{Document: want},
		func(ctx context.Context) (any, error) { return nil, putRolePolicy(ctx, env, want) })
}

func putRolePolicy(ctx context.Context, env *control.Env, doc string) error {
	var err error
	if doc == "" {
		_, err = env.AWS.IAM().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(trailLogsRole), PolicyName: aws.String(trailLogsRole)})
	} else {
		_, err = env.AWS.IAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(trailLogsRole),
			PolicyName: aws.String(trailLogsRole), PolicyDocument: aws.String(doc)})
	}
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: set policy of role %s: %w", trailLogsRole, err)
	}
	return nil
}

func writeTrailDelivery(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	want := trailDelivery{LogGroupARN: trailLogGroupARN(t), RoleARN: trailLogsRoleARN(t)}
	if st.Trail == want {
		return nil
	}
	return j.Write(ctx, stepTrailToLogs, st.Trail, want, func(ctx context.Context) (any, error) {
		return nil, setTrailDelivery(ctx, env, t, want)
	})
}

func setTrailDelivery(ctx context.Context, env *control.Env, t control.Target, d trailDelivery) error {
	_, err := ctClient(env, t).UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(TrailARN(t)),
		CloudWatchLogsLogGroupArn: aws.String(d.LogGroupARN), CloudWatchLogsRoleArn: aws.String(d.RoleARN)})
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: set CloudWatch Logs delivery of trail %s: %w", TrailName, err)
	}
	return nil
}

func writeFilters(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	for _, f := range MonitoringFilters {
		want := wantFilter(f)
		cur, ok := st.Filters[want.Name]
		if ok && sameFilter(cur, want) {
			continue
		}
		prior := filterStep{Exists: ok, Filter: cur, NewGroup: !st.GroupExists}
		err := j.Write(ctx, stepPutMetricFilter, prior, filterStep{Exists: true, Filter: want},
			func(ctx context.Context) (any, error) { return nil, putFilter(ctx, env, t, want) })
		if err != nil {
			return err
		}
	}
	return nil
}

func putFilter(ctx context.Context, env *control.Env, t control.Target, f filterState) error {
	_, err := logsClient(env, t).PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
		LogGroupName: aws.String(TrailLogGroup), FilterName: aws.String(f.Name), FilterPattern: aws.String(f.Pattern),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String(f.Metric),
			MetricNamespace: aws.String(f.Namespace), MetricValue: aws.String("1")}}})
	if err != nil {
		return fmt.Errorf("cloudtrail-alarms: put metric filter %s: %w", f.Name, err)
	}
	return nil
}

func deleteFilter(ctx context.Context, env *control.Env, t control.Target, name string) error {
	_, err := logsClient(env, t).DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
		LogGroupName: aws.String(TrailLogGroup), FilterName: aws.String(name)})
	var nf *cwltypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("cloudtrail-alarms: delete metric filter %s: %w", name, err)
	}
	return nil
}

func writeAlarms(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st monitoringState) error {
	var writes []func(context.Context) error
	for _, f := range MonitoringFilters {
		want := wantAlarm(f, t)
		cur, ok := st.Alarms[want.Name]
		if ok && reflect.DeepEqual(cur, want) {
			continue
		}
		writes = append(writes, func(ctx context.Context) error {
			return j.Write(ctx, stepPutMetricAlarm, alarmStep{Exists: ok, Alarm: cur}, alarmStep{Exists: true, Alarm: want},
				func(ctx context.Context) (any, error) { return nil, putAlarm(ctx, env, t, want, f.What, j.RunID()) })
		})
	}
	return parallel.All(ctx, writes...)
}

func putAlarm(ctx context.Context, env *control.Env, t control.Target, a alarmState, what, runID string) error {
	in := &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(a.Name), MetricName: aws.String(a.Metric),
		Namespace: aws.String(a.Namespace), Statistic: cwtypes.Statistic(a.Statistic), Period: aws.Int32(a.Period),
		EvaluationPeriods: aws.Int32(a.Periods), Threshold: aws.Float64(a.Threshold),
		ComparisonOperator: cwtypes.ComparisonOperator(a.Comparison), TreatMissingData: aws.String(a.Missing),
		AlarmActions: a.Actions, AlarmDescription: aws.String("harden: " + what)}
	if runID != "" {
		run := control.Tags(runID)
		for _, k := range sortedTagKeys(run) {
			in.Tags = append(in.Tags, cwtypes.Tag{Key: aws.String(k), Value: aws.String(run[k])})
		}
	}
	if _, err := cwClient(env, t).PutMetricAlarm(ctx, in); err != nil {
		return fmt.Errorf("cloudtrail-alarms: put alarm %s: %w", a.Name, err)
	}
	return nil
}

func deleteAlarm(ctx context.Context, env *control.Env, t control.Target, name string) error {
	_, err := cwClient(env, t).DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}})
	var nf *cwtypes.ResourceNotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("cloudtrail-alarms: delete alarm %s: %w", name, err)
	}
	return nil
}
