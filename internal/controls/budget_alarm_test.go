package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/budgets"
	btypes "github.com/aws/aws-sdk-go-v2/service/budgets/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

func budgetEnv(env *fakeawstest.Env, amount float64) *control.Env {
	return &control.Env{AWS: env.Clients, ControlSettings: map[string]control.ControlSettings{
		"budget-alarm": &controls.BudgetAlarmSettings{Amount: amount, Currency: "USD", Emails: []string{"finance@example.com"}}}}
}

func setBudget(t *testing.T, env *fakeawstest.Env, amount string) {
	t.Helper()
	_, err := env.Clients.Budgets().UpdateBudget(ctx, &budgets.UpdateBudgetInput{AccountId: aws.String(fakeaws.DefaultAccountID),
		NewBudget: &btypes.Budget{BudgetName: aws.String("harden-monthly-cost"), BudgetType: btypes.BudgetTypeCost,
			TimeUnit: btypes.TimeUnitMonthly, BudgetLimit: &btypes.Spend{Amount: aws.String(amount), Unit: aws.String("USD")}}})
	if err != nil {
		t.Fatal(err)
	}
}

func applyBudget(t *testing.T, env *fakeawstest.Env, amount float64) *controltest.MemJournal {
	t.Helper()
	c := controls.BudgetAlarm{}
	j := &controltest.MemJournal{}
	if _, err := c.Apply(ctx, budgetEnv(env, amount), target(c, ""), j.For("budget-alarm", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestBudgetAlarmWithoutAmountIsUnmanaged(t *testing.T) {
	env := fakeawstest.Start(t)
	c := controls.BudgetAlarm{}
	cenv := &control.Env{AWS: env.Clients}
	f, err := c.Check(ctx, cenv, target(c, ""))
	if err != nil || f.Compliant || !strings.Contains(f.Unmanaged, "controls.budget-alarm.amount") {
		t.Fatalf("no amount: %+v, %v", f, err)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, target(c, ""), j.For("budget-alarm", "us-east-1")); err != nil || len(ch) != 0 || len(env.Server.Writes()) != 0 {
		t.Fatalf("apply without amount: %v, %v", ch, err)
	}
}

func TestBudgetAlarmNotifiesTopicAndEmails(t *testing.T) {
	env := fakeawstest.Start(t)
	applyBudget(t, env, 250)
	snap := string(env.Server.Snapshot())
	for _, want := range []string{`"Amount": "250"`, `"NotificationType": "ACTUAL"`, `"Threshold": 80`, `"NotificationType": "FORECASTED"`,
		`"Threshold": 100`, "arn:aws:sns:us-east-1:123456789012:harden-security-alerts", "finance@example.com", `"managed-by": "harden"`} {
		if !strings.Contains(snap, want) {
			t.Fatalf("budget lacks %s:\n%s", want, snap)
		}
	}
}

func TestBudgetAlarmUndo(t *testing.T) {
	c := controls.BudgetAlarm{}
	t.Run("limit changed: drifted, left alone, forced deletes", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := applyBudget(t, env, 100)
		setBudget(t, env, "500")
		snap := env.Server.Snapshot()
		err := controltest.Undo(ctx, c, budgetEnv(env, 100), target(c, ""), j.Entries[0].Step)
		var drift *controltest.DriftError
		if !errors.As(err, &drift) || !strings.Contains(err.Error(), "harden set 100 USD, now 500 USD") {
			t.Fatalf("undo = %v", err)
		}
		if string(env.Server.Snapshot()) != string(snap) {
			t.Fatal("drift not left alone")
		}
		u, _ := c.Steps().Undo(ctx, "budget-alarm", budgetEnv(env, 100), target(c, ""), j.Entries[0].Step)
		if u.Do == nil || u.Do(ctx) != nil || strings.Contains(string(env.Server.Snapshot()), "harden-monthly-cost") {
			t.Fatal("forced undo did not delete harden's budget")
		}
	})
	t.Run("replaced by an untagged budget: never deleted", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := applyBudget(t, env, 100)
		deleteHardenBudget(t, env)
		_, err := env.Clients.Budgets().CreateBudget(ctx, &budgets.CreateBudgetInput{AccountId: aws.String(fakeaws.DefaultAccountID),
			Budget: &btypes.Budget{BudgetName: aws.String("harden-monthly-cost"), BudgetType: btypes.BudgetTypeCost,
				TimeUnit: btypes.TimeUnitMonthly, BudgetLimit: &btypes.Spend{Amount: aws.String("100"), Unit: aws.String("USD")}}})
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.Steps().Undo(ctx, "budget-alarm", budgetEnv(env, 100), target(c, ""), j.Entries[0].Step)
		if err != nil || u.Verdict != control.Drifted || u.Do != nil {
			t.Fatalf("undo of a foreign budget = %+v, %v", u, err)
		}
	})
	t.Run("deleted by the user: nothing", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := applyBudget(t, env, 100)
		deleteHardenBudget(t, env)
		u, err := c.Steps().Undo(ctx, "budget-alarm", budgetEnv(env, 100), target(c, ""), j.Entries[0].Step)
		if err != nil || u.Verdict != control.Already {
			t.Fatalf("undo = %+v, %v", u, err)
		}
	})
	t.Run("unconfirmed create: found by tag, or nothing", func(t *testing.T) {
		env := fakeawstest.Start(t)
		j := applyBudget(t, env, 100)
		step := j.Entries[0].Step
		step.Done, step.Result = false, nil
		u, err := c.Steps().Undo(ctx, "budget-alarm", budgetEnv(env, 100), target(c, ""), step)
		if err != nil || u.Verdict != control.Delete {
			t.Fatalf("unconfirmed create found = %+v, %v", u, err)
		}
		deleteHardenBudget(t, env)
		u, err = c.Steps().Undo(ctx, "budget-alarm", budgetEnv(env, 100), target(c, ""), step)
		if err != nil || u.Verdict != control.Already || !strings.Contains(u.What, "never happened") {
			t.Fatalf("unconfirmed create not found = %+v, %v", u, err)
		}
	})
	t.Run("existing budget: limit updated and restored", func(t *testing.T) {
		env := fakeawstest.Start(t)
		applyBudget(t, env, 100)
		before := env.Server.Snapshot()
		j := applyBudget(t, env, 300)
		if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "UpdateBudget" {
			t.Fatalf("journal %+v", j.Entries)
		}
		if err := j.UndoAll(ctx, c, budgetEnv(env, 300), func(string) control.Target { return target(c, "") }); err != nil {
			t.Fatal(err)
		}
		if string(env.Server.Snapshot()) != string(before) {
			t.Fatal("limit not restored")
		}
	})
}

func deleteHardenBudget(t *testing.T, env *fakeawstest.Env) {
	t.Helper()
	if _, err := env.Clients.Budgets().DeleteBudget(ctx, &budgets.DeleteBudgetInput{AccountId: aws.String(fakeaws.DefaultAccountID),
		BudgetName: aws.String("harden-monthly-cost")}); err != nil {
		t.Fatal(err)
	}
}
