package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func anomalyEnv(env *fakeawstest.Env, threshold float64) *control.Env {
	return &control.Env{AWS: env.Clients, ControlSettings: map[string]control.ControlSettings{
		"cost-anomaly-detection": &controls.CostAnomalySettings{Threshold: threshold}}}
}

func TestCostAnomalyAdoptsTheDefaultMonitor(t *testing.T) {
	env := fakeawstest.Start(t)
	arn := env.Server.AddDefaultServicesMonitor()
	before := env.Server.Snapshot()
	c := controls.CostAnomalyDetection{}
	f, err := c.Check(ctx, anomalyEnv(env, 250), target(c, ""))
	if err != nil || f.Action != control.ActionAdopt || !strings.Contains(f.Note, "Default-Services-Monitor") {
		t.Fatalf("check = %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, anomalyEnv(env, 250), target(c, ""), j.For("cost-anomaly-detection", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "CreateAnomalySubscription" {
		t.Fatalf("journal %+v: the monitor must be adopted, not duplicated", j.Entries)
	}
	subs, err := env.Clients.CostExplorer().GetAnomalySubscriptions(ctx, &costexplorer.GetAnomalySubscriptionsInput{MonitorArn: aws.String(arn)})
	if err != nil || len(subs.AnomalySubscriptions) != 1 {
		t.Fatalf("subscriptions: %+v, %v", subs, err)
	}
	s := subs.AnomalySubscriptions[0]
	if s.Frequency != cetypes.AnomalySubscriptionFrequencyImmediate || aws.ToString(s.Subscribers[0].Address) != "arn:aws:sns:us-east-1:123456789012:harden-security-alerts" ||
		s.ThresholdExpression.Dimensions.Values[0] != "250" {
		t.Fatalf("subscription = %+v", s)
	}
	if err := j.UndoAll(ctx, c, anomalyEnv(env, 250), func(string) control.Target { return target(c, "") }); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("rollback did not leave the adopted monitor as it was")
	}
}

func TestCostAnomalyUndo(t *testing.T) {
	c := controls.CostAnomalyDetection{}
	apply := func(t *testing.T, env *fakeawstest.Env, threshold float64) *controltest.MemJournal {
		j := &controltest.MemJournal{}
		if _, err := c.Apply(ctx, anomalyEnv(env, threshold), target(c, ""), j.For("cost-anomaly-detection", "us-east-1")); err != nil {
			t.Fatal(err)
		}
		return j
	}
	t.Run("threshold changed: drifted, left alone, forced deletes", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := apply(t, env, 100)
		step := j.Entries[1].Step
		var res struct{ ARN string }
		if _, err := control.DecodeResult(step, &res); err != nil {
			t.Fatal(err)
		}
		_, err := env.Clients.CostExplorer().UpdateAnomalySubscription(ctx, &costexplorer.UpdateAnomalySubscriptionInput{SubscriptionArn: aws.String(res.ARN),
			ThresholdExpression: &cetypes.Expression{Dimensions: &cetypes.DimensionValues{Key: cetypes.DimensionAnomalyTotalImpactAbsolute, Values: []string{"500"}}}})
		if err != nil {
			t.Fatal(err)
		}
		snap := env.Server.Snapshot()
		err = controltest.Undo(ctx, c, anomalyEnv(env, 100), target(c, ""), step)
		var drift *controltest.DriftError
		if !errors.As(err, &drift) || !strings.Contains(err.Error(), "above 500") {
			t.Fatalf("undo = %v", err)
		}
		if string(env.Server.Snapshot()) != string(snap) {
			t.Fatal("drift not left alone")
		}
		u, _ := c.Steps().Undo(ctx, "cost-anomaly-detection", anomalyEnv(env, 100), target(c, ""), step)
		if u.Do == nil || u.Do(ctx) != nil {
			t.Fatal("forced undo failed")
		}
	})
	t.Run("threshold raised on an existing subscription is restored", func(t *testing.T) {
		env := fakeawstest.Start(t)
		apply(t, env, 100)
		before := env.Server.Snapshot()
		j := apply(t, env, 300)
		if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "UpdateAnomalySubscription" {
			t.Fatalf("journal %+v", j.Entries)
		}
		if err := j.UndoAll(ctx, c, anomalyEnv(env, 300), func(string) control.Target { return target(c, "") }); err != nil {
			t.Fatal(err)
		}
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("threshold not restored")
		}
	})
	t.Run("monitor deleted by the user: nothing; unconfirmed create not found: nothing", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := apply(t, env, 100)
		if err := controltest.Undo(ctx, c, anomalyEnv(env, 100), target(c, ""), j.Entries[1].Step); err != nil {
			t.Fatal(err)
		}
		step := j.Entries[0].Step
		var res struct{ ARN string }
		if _, err := control.DecodeResult(step, &res); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Clients.CostExplorer().DeleteAnomalyMonitor(ctx, &costexplorer.DeleteAnomalyMonitorInput{MonitorArn: aws.String(res.ARN)}); err != nil {
			t.Fatal(err)
		}
		u, err := c.Steps().Undo(ctx, "cost-anomaly-detection", anomalyEnv(env, 100), target(c, ""), step)
		if err != nil || u.Verdict != control.Already {
			t.Fatalf("undo = %+v, %v", u, err)
		}
		step.Done, step.Result = false, nil
		u, err = c.Steps().Undo(ctx, "cost-anomaly-detection", anomalyEnv(env, 100), target(c, ""), step)
		if err != nil || !strings.Contains(u.What, "never happened") {
			t.Fatalf("unconfirmed = %+v, %v", u, err)
		}
	})
	t.Run("unconfirmed subscription found by its run tag", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := apply(t, env, 100)
		step := j.Entries[1].Step
		step.Done, step.Result = false, nil
		u, err := c.Steps().Undo(ctx, "cost-anomaly-detection", anomalyEnv(env, 100), target(c, ""), step)
		if err != nil || u.Verdict != control.Delete {
			t.Fatalf("undo = %+v, %v", u, err)
		}
	})
	t.Run("adopted monitor is never deleted, even from a hand-written step", func(t *testing.T) {
		env := fakeawstest.Start(t)
		arn := env.Server.AddDefaultServicesMonitor()
		step := control.Step{Kind: "CreateAnomalyMonitor", Done: true, Result: []byte(`{"arn":"` + arn + `"}`), RunID: "r1"}
		u, err := c.Steps().Undo(ctx, "cost-anomaly-detection", anomalyEnv(env, 100), target(c, ""), step)
		if err != nil || u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("undo = %+v, %v", u, err)
		}
	})
}
