package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// withHardenTrail applies log-archive and cloudtrail, as the engine does
// before cloudtrail-alarms.
func withHardenTrail(t *testing.T, env *fakeawstest.Env) {
	t.Helper()
	for _, c := range []control.Control{controls.LogArchive{}, controls.CloudTrail{}} {
		if _, err := c.Apply(ctx, &control.Env{AWS: env.Clients}, target(c, ""), (&controltest.MemJournal{}).For(c.Info().ID, "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
}

func applyAlarms(t *testing.T, env *fakeawstest.Env) *controltest.MemJournal {
	t.Helper()
	c := controls.CloudTrailAlarms{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, &control.Env{AWS: env.Clients}, target(c, ""), j.For("cloudtrail-alarms", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestCloudTrailAlarmsForeignTrailWithoutLogGroup(t *testing.T) {
	env := fakeawstest.Start(t)
	ctForeignTrail(t, env, "corp-trail", true, true)
	before := env.Server.Snapshot()
	c := controls.CloudTrailAlarms{}
	cenv := &control.Env{AWS: env.Clients}
	f, err := c.Check(ctx, cenv, target(c, ""))
	if err != nil || f.Compliant || !strings.Contains(f.Unmanaged, `trail "corp-trail" is not harden's and delivers to no CloudWatch Logs log group`) {
		t.Fatalf("foreign trail: %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, target(c, ""), j.For("cloudtrail-alarms", "us-east-1")); err != nil || len(ch) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply touched a foreign trail: %v, %v", ch, err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("the foreign trail's account changed")
	}
}

func TestCloudTrailAlarmsApply(t *testing.T) {
	env := fakeawstest.Start(t)
	withHardenTrail(t, env)
	env.Server.ResetLog()
	c := controls.CloudTrailAlarms{}
	if _, err := c.Check(ctx, &control.Env{AWS: env.Clients}, target(c, "")); err != nil {
		t.Fatal(err)
	}
	checkCalls := len(env.Server.Requests())
	j := applyAlarms(t, env)
	snap := string(env.Server.Snapshot())
	for _, want := range []string{`"CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/harden/cloudtrail:*"`,
		`"CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/harden-cloudtrail-logs"`, `"retentionInDays": 365`,
		`log-group:/harden/cloudtrail:log-stream:*`, `"AlarmName": "harden-cis-RootUsage"`, "arn:aws:sns:us-east-1:123456789012:harden-security-alerts"} {
		if !strings.Contains(snap, want) {
			t.Fatalf("after apply the account lacks %s", want)
		}
	}
	if n := len(j.Entries); n != 5+2*len(controls.MonitoringFilters) {
		t.Fatalf("%d writes", n)
	}
	t.Logf("check: %d calls; apply: %d writes", checkCalls, len(j.Entries))
	// The cloudtrail control does not see the delivery as drift.
	f, err := controls.CloudTrail{}.Check(ctx, &control.Env{AWS: env.Clients}, target(controls.CloudTrail{}, ""))
	if err != nil || !f.Compliant {
		t.Fatalf("cloudtrail after alarms: %+v, %v", f, err)
	}
}

func alarmStep(t *testing.T, j *controltest.MemJournal, name string) control.Step {
	t.Helper()
	for _, e := range j.Entries {
		if e.Step.Kind == "PutMetricAlarm" && strings.Contains(string(e.Step.After), `"name":"`+name+`"`) {
			return e.Step
		}
	}
	t.Fatalf("no alarm step for %s", name)
	return control.Step{}
}

func TestCloudTrailAlarmsUndo(t *testing.T) {
	c := controls.CloudTrailAlarms{}
	cenv := func(env *fakeawstest.Env) *control.Env { return &control.Env{AWS: env.Clients} }
	t.Run("alarm changed: drifted, left alone, forced overwrites", func(t *testing.T) {
		env := fakeawstest.Start(t)
		withHardenTrail(t, env)
		j := applyAlarms(t, env)
		cw := env.Clients.CloudWatch("us-east-1")
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("harden-cis-RootUsage"),
			MetricName: aws.String("RootUsage"), Namespace: aws.String("harden/CloudTrail"), Statistic: cwtypes.StatisticSum,
			Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold})
		if err != nil {
			t.Fatal(err)
		}
		snap := env.Server.Snapshot()
		step := alarmStep(t, j, "harden-cis-RootUsage")
		err = controltest.Undo(ctx, c, cenv(env), target(c, ""), step)
		var drift *controltest.DriftError
		if !errors.As(err, &drift) || !strings.Contains(err.Error(), "threshold 5") {
			t.Fatalf("undo = %v", err)
		}
		if string(env.Server.Snapshot()) != string(snap) {
			t.Fatal("drift not left alone")
		}
		u, _ := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv(env), target(c, ""), step)
		if u.Do == nil || u.Do(ctx) != nil {
			t.Fatal("no forced undo")
		}
		out, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"harden-cis-RootUsage"}})
		if len(out.MetricAlarms) != 0 {
			t.Fatal("forced undo did not delete the alarm harden created")
		}
	})
	t.Run("alarm replaced without harden's tags: never deleted", func(t *testing.T) {
		env := fakeawstest.Start(t)
		withHardenTrail(t, env)
		j := applyAlarms(t, env)
		cw := env.Clients.CloudWatch("us-east-1")
		if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"harden-cis-VpcChanges"}}); err != nil {
			t.Fatal(err)
		}
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("harden-cis-VpcChanges"),
			MetricName: aws.String("VpcChanges"), Namespace: aws.String("harden/CloudTrail"), Statistic: cwtypes.StatisticSum,
			Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), TreatMissingData: aws.String("notBreaching"),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
			AlarmActions:       []string{"arn:aws:sns:us-east-1:123456789012:harden-security-alerts"}})
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv(env), target(c, ""), alarmStep(t, j, "harden-cis-VpcChanges"))
		if err != nil || u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("undo of a foreign alarm = %+v, %v", u, err)
		}
	})
	t.Run("log group replaced without harden's tags: never deleted; deleted by the user: nothing", func(t *testing.T) {
		env := fakeawstest.Start(t)
		withHardenTrail(t, env)
		j := applyAlarms(t, env)
		logs := env.Clients.CloudWatchLogs("us-east-1")
		if _, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(controls.TrailLogGroup)}); err != nil {
			t.Fatal(err)
		}
		// The alarms are written together with the group: find its step.
		var step control.Step
		for _, e := range j.Entries {
			if e.Step.Kind == "CreateLogGroup" {
				step = e.Step
			}
		}
		if step.Kind != "CreateLogGroup" {
			t.Fatalf("no CreateLogGroup step in %+v", j.Entries)
		}
		u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv(env), target(c, ""), step)
		if err != nil || u.Verdict != control.Already {
			t.Fatalf("undo of a deleted group = %+v, %v", u, err)
		}
		unconfirmed := step
		unconfirmed.Done, unconfirmed.Result = false, nil
		if u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv(env), target(c, ""), unconfirmed); err != nil || !strings.Contains(u.What, "never happened") {
			t.Fatalf("unconfirmed create not found = %+v, %v", u, err)
		}
		if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(controls.TrailLogGroup)}); err != nil {
			t.Fatal(err)
		}
		u, err = c.Steps().Undo(ctx, "cloudtrail-alarms", cenv(env), target(c, ""), step)
		if err != nil || u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("undo of a foreign group = %+v, %v", u, err)
		}
	})
	t.Run("full rollback with a changed filter leaves that filter", func(t *testing.T) {
		env := fakeawstest.Start(t)
		withHardenTrail(t, env)
		j := applyAlarms(t, env)
		logs := env.Clients.CloudWatchLogs("us-east-1")
		_, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(controls.TrailLogGroup),
			FilterName: aws.String("harden-cis-NaclChanges"), FilterPattern: aws.String(`{ $.eventName = "X" }`),
			MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("NaclChanges"), MetricNamespace: aws.String("harden/CloudTrail"), MetricValue: aws.String("1")}}})
		if err != nil {
			t.Fatal(err)
		}
		var drifted int
		for _, e := range j.Reversed() {
			err := controltest.Undo(ctx, c, cenv(env), target(c, ""), e.Step)
			var drift *controltest.DriftError
			if errors.As(err, &drift) {
				drifted++
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", e.Step.Kind, err)
			}
		}
		if drifted != 1 {
			t.Fatalf("%d drifted steps, want the changed filter only", drifted)
		}
	})
}
