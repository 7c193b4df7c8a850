package controls_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
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

// alarmsRun is an engine run of cs in the home region us-east-1.
func alarmsRun(env *fakeawstest.Env, cs ...control.Control) *engine.Run {
	return &engine.Run{Controls: cs, Env: &control.Env{AWS: env.Clients, ControlSettings: lifecycleSettings},
		AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1", Regions: []string{"us-east-1"}, Concurrency: 4}
}

// corpLogGroup sends the foreign trail arn to a log group of its owner's,
// through a role of its owner's, and returns the group's ARN.
func corpLogGroup(t *testing.T, env *fakeawstest.Env, arn string) string {
	t.Helper()
	if _, err := env.Clients.CloudWatchLogs("us-east-1").CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("corp-trail-logs")}); err != nil {
		t.Fatal(err)
	}
	role, err := env.Clients.IAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("corp-trail-logs"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	group := "arn:aws:logs:us-east-1:" + fakeaws.DefaultAccountID + ":log-group:corp-trail-logs:*"
	if _, err := env.Clients.CloudTrail("us-east-1").UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn),
		CloudWatchLogsLogGroupArn: aws.String(group), CloudWatchLogsRoleArn: role.Role.Arn}); err != nil {
		t.Fatal(err)
	}
	return group
}

// A foreign multi-region trail that counts (so the cloudtrail control
// adds no trail of harden's) is reported unmanaged through the engine,
// and apply writes nothing: not to the trail, not to its log group (no
// filters or alarms on someone else's group), nothing of harden's either.
// The issue: "applies to harden's trail; a counting trail that is not
// harden's and has no log group is reported (harden never modifies
// someone else's trail)"; one with a log group is reported too, saying
// harden keeps the alarms only on its own trail's group.
func TestCloudTrailAlarmsForeignCountingTrail(t *testing.T) {
	for _, tc := range []struct {
		name, trail     string
		multi, logGroup bool
		want            string
	}{
		{"without a log group", "corp-trail", true, false, `trail "corp-trail" is not harden's and delivers to no CloudWatch Logs log group: harden never modifies someone else's trail`},
		{"with a log group", "corp-trail", true, true, `trail "corp-trail" is not harden's: harden never modifies someone else's trail or its log group ` +
			`arn:aws:logs:us-east-1:123456789012:log-group:corp-trail-logs:*, and keeps the CIS metric filters and alarms only on its own trail's log group`},
		// Not counting, but named as harden's own would be: the cloudtrail
		// control cannot add harden's, so neither is this control's to set up.
		{"named harden-trail without harden's tag", controls.TrailName, false, false,
			`a trail named "harden-trail" exists without harden's tag managed-by=harden: harden never modifies someone else's trail; rename or delete it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			arn := ctForeignTrail(t, env, tc.trail, tc.multi, true)
			if tc.logGroup {
				corpLogGroup(t, env, arn)
			}
			before := string(env.Server.Snapshot())
			env.Server.ResetLog()
			run := alarmsRun(env, controls.CloudTrailAlarms{})
			plan := run.Check(ctx)
			if len(plan) != 1 || plan[0].Status != engine.Unmanaged || !strings.Contains(plan[0].Reason, tc.want) {
				t.Fatalf("plan: %+v", plan)
			}
			res := run.Apply(ctx, plan, (&controltest.MemJournal{}).For)
			if len(res) != 1 || res[0].Status != engine.Unmanaged || res[0].Err != nil {
				t.Fatalf("apply: %+v", res)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("apply wrote %+v", w)
			}
			if string(env.Server.Snapshot()) != before {
				t.Fatal("the account changed")
			}
			t.Logf("check and apply: %d calls, 0 writes", len(env.Server.Requests()))
		})
	}
}

// A foreign multi-region trail that does not count (not logging) is no
// obstacle: the cloudtrail control adds harden's trail beside it and
// cloudtrail-alarms sets up harden's, in the same apply; the foreign trail
// is left as it was.
func TestCloudTrailAlarmsForeignTrailThatDoesNotCount(t *testing.T) {
	env := fakeawstest.Start(t)
	arn := ctForeignTrail(t, env, "corp-trail", true, false)
	describe := func() string {
		t.Helper()
		out, err := env.Clients.CloudTrail("us-east-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}})
		if err != nil || len(out.TrailList) != 1 {
			t.Fatalf("describe corp-trail: %+v, %v", out, err)
		}
		b, _ := json.Marshal(out.TrailList[0])
		return string(b)
	}
	before := describe()
	run := alarmsRun(env, controls.LogArchive{}, controls.CloudTrail{}, controls.SecurityAlerts{}, controls.CloudTrailAlarms{})
	plan := run.Check(ctx)
	for _, r := range plan {
		if r.Control.ID == "cloudtrail-alarms" && (r.Status != engine.NonCompliant || !strings.Contains(r.Note, "harden's trail is created by the cloudtrail control first")) {
			t.Fatalf("plan: %+v", r)
		}
	}
	for _, r := range run.Apply(ctx, plan, (&controltest.MemJournal{}).For) {
		if r.Status != engine.Compliant {
			t.Fatalf("apply: %+v", r)
		}
	}
	if describe() != before {
		t.Fatalf("corp-trail changed:\n%s\n%s", before, describe())
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

// A filter whose pattern differs from harden's only in whitespace outside
// quotes is the same filter: compliant, a second apply writes nothing, and
// rollback undoes it as harden's, not as drift. A change inside quotes is
// a different filter.
func TestCloudTrailAlarmsPatternWhitespace(t *testing.T) {
	env := fakeawstest.Start(t)
	withHardenTrail(t, env)
	j := applyAlarms(t, env)
	c := controls.CloudTrailAlarms{}
	cenv := &control.Env{AWS: env.Clients}
	logs := env.Clients.CloudWatchLogs("us-east-1")
	put := func(pattern string) {
		t.Helper()
		_, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(controls.TrailLogGroup),
			FilterName: aws.String("harden-cis-RootUsage"), FilterPattern: aws.String(pattern),
			MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("RootUsage"), MetricNamespace: aws.String("harden/CloudTrail"), MetricValue: aws.String("1")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(`{ $.userIdentity.type = "Root"  &&  $.userIdentity.invokedBy NOT   EXISTS && $.eventType != "AwsServiceEvent" }`)
	if f, err := c.Check(ctx, cenv, target(c, "")); err != nil || !f.Compliant {
		t.Fatalf("respaced pattern: %+v, %v", f, err)
	}
	again := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, cenv, target(c, ""), again.For("cloudtrail-alarms", "us-east-1")); err != nil || len(again.Entries) != 0 {
		t.Fatalf("second apply over a respaced pattern: %d writes, %v", len(again.Entries), err)
	}
	var step control.Step
	for _, e := range j.Entries {
		if e.Step.Kind == "PutMetricFilter" && strings.Contains(string(e.Step.After), `"harden-cis-RootUsage"`) {
			step = e.Step
		}
	}
	if u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv, target(c, ""), step); err != nil || u.Verdict == control.Drifted {
		t.Fatalf("undo of a respaced filter = %+v, %v", u, err)
	}
	put(`{ $.userIdentity.type = "Root " && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`)
	if f, err := c.Check(ctx, cenv, target(c, "")); err != nil || f.Compliant || !strings.Contains(fmtChanges(f.Changes), "RootUsage") {
		t.Fatalf("a space inside quotes must count: %+v, %v", f, err)
	}
	if u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", cenv, target(c, ""), step); err != nil || u.Verdict != control.Drifted {
		t.Fatalf("undo of a changed filter = %+v, %v", u, err)
	}
}

func fmtChanges(ch []control.Change) string {
	var b strings.Builder
	for _, c := range ch {
		b.WriteString(c.Field + ": " + c.Current + " -> " + c.Desired + "\n")
	}
	return b.String()
}

// Deciding the undo of the trail's logs role and of its policy reads the
// role and its tags, or the role and its policy, in one round trip, and
// so does that of the log group and of its retention (the group and its
// tags): they are the chains of rollback that security-alerts waits for.
func TestCloudTrailAlarmsRoleUndoReadsInOneRoundTrip(t *testing.T) {
	c := controls.CloudTrailAlarms{}
	env := fakeawstest.Start(t)
	withHardenTrail(t, env)
	j := applyAlarms(t, env)
	const latency = 300 * time.Millisecond
	for _, kind := range []control.StepKind{"PutTrailLogsRolePolicy", "CreateTrailLogsRole", "PutRetentionPolicy", "CreateLogGroup"} {
		var step control.Step
		for _, e := range j.Entries {
			if e.Step.Kind == kind {
				step = e.Step
			}
		}
		env.Server.SetLatency(latency)
		start := time.Now()
		u, err := c.Steps().Undo(ctx, "cloudtrail-alarms", &control.Env{AWS: env.Clients}, target(c, ""), step)
		took := time.Since(start)
		env.Server.SetLatency(0)
		if err != nil {
			t.Fatal(err)
		}
		if u.Verdict != control.Restore && u.Verdict != control.Delete && (kind != "PutRetentionPolicy" || u.Verdict != control.Already) {
			t.Fatalf("%s: %s %q", kind, u.Verdict, u.What)
		}
		if took >= 2*latency {
			t.Fatalf("%s: deciding took %s at %s a call: the reads went one after another", kind, took, latency)
		}
		if u.Do != nil {
			if err := u.Do(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
