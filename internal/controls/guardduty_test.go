package controls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const gdRegion = "eu-west-1"

// allFeatures names every feature harden governs with one status.
func allFeatures(status gdtypes.FeatureStatus) []gdtypes.DetectorFeatureConfiguration {
	var out []gdtypes.DetectorFeatureConfiguration
	for _, n := range []gdtypes.DetectorFeature{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION",
		"RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"} {
		out = append(out, gdtypes.DetectorFeatureConfiguration{Name: n, Status: status})
	}
	return append(out, gdtypes.DetectorFeatureConfiguration{Name: "RUNTIME_MONITORING", Status: gdtypes.FeatureStatusDisabled})
}

// userDetector creates a detector as a user would and returns its id.
func userDetector(t *testing.T, env *fakeawstest.Env, in *guardduty.CreateDetectorInput) string {
	t.Helper()
	out, err := env.Clients.GuardDuty(gdRegion).CreateDetector(ctx, in)
	if err != nil {
		t.Fatalf("user's detector: %v", err)
	}
	return aws.ToString(out.DetectorId)
}

func getDetector(t *testing.T, env *fakeawstest.Env, id string) *guardduty.GetDetectorOutput {
	t.Helper()
	out, err := env.Clients.GuardDuty(gdRegion).GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
	if err != nil {
		t.Fatalf("get detector: %v", err)
	}
	return out
}

func detectorID(t *testing.T, env *fakeawstest.Env) string {
	t.Helper()
	out, err := env.Clients.GuardDuty(gdRegion).ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil || len(out.DetectorIds) != 1 {
		t.Fatalf("list detectors: %v %v", out, err)
	}
	return out.DetectorIds[0]
}

func featureStatus(out *guardduty.GetDetectorOutput, name string) gdtypes.FeatureStatus {
	for _, f := range out.Features {
		if string(f.Name) == name {
			return f.Status
		}
	}
	return ""
}

func gdSetup(t *testing.T) (*fakeawstest.Env, controls.GuardDuty, *control.Env, control.Target) {
	env := fakeawstest.Start(t)
	c := controls.GuardDuty{}
	return env, c, &control.Env{AWS: env.Clients}, target(c, gdRegion)
}

// A new detector names every governed feature: runtime monitoring off,
// the rest on, findings every 15 minutes.
func TestGuardDutyCreateNamesEveryFeature(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	j := appliedJournal(t, c, cenv, tg)
	if len(j.Entries) != 1 || j.Entries[0].Step.Kind != "CreateDetector" {
		t.Fatalf("journal: %+v", j.Entries)
	}
	d := getDetector(t, env, detectorID(t, env))
	if d.Status != gdtypes.DetectorStatusEnabled || d.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencyFifteenMinutes {
		t.Fatalf("detector: %s %s", d.Status, d.FindingPublishingFrequency)
	}
	if featureStatus(d, "RUNTIME_MONITORING") != gdtypes.FeatureStatusDisabled || featureStatus(d, "RDS_LOGIN_EVENTS") != gdtypes.FeatureStatusEnabled {
		t.Fatalf("features: %+v", d.Features)
	}
	if d.Tags[control.TagManagedBy] != control.TagManagedByID || d.Tags[control.TagRun] != j.Entries[0].Step.RunID {
		t.Fatalf("tags: %v", d.Tags)
	}
}

// The settings choose the features: with runtime monitoring on and S3 off,
// the detector follows.
func TestGuardDutySettingsChooseFeatures(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	s := controls.DefaultGuardDutySettings()
	s.RuntimeMonitoring, s.S3DataEvents = true, false
	cenv.ControlSettings = map[string]control.ControlSettings{"guardduty": s}
	appliedJournal(t, c, cenv, tg)
	d := getDetector(t, env, detectorID(t, env))
	if featureStatus(d, "RUNTIME_MONITORING") != gdtypes.FeatureStatusEnabled || featureStatus(d, "S3_DATA_EVENTS") != gdtypes.FeatureStatusDisabled {
		t.Fatalf("features: %+v", d.Features)
	}
	if f, err := c.Check(ctx, cenv, tg); err != nil || !f.Compliant {
		t.Fatalf("check with the same settings: %+v %v", f, err)
	}
	if f, err := c.Check(ctx, &control.Env{AWS: env.Clients}, tg); err != nil || f.Compliant || len(f.Changes) != 2 {
		t.Fatalf("check with the defaults should list the two features: %+v %v", f, err)
	}
}

// A suspended detector is re-enabled (adopted, only the status changes)
// and rollback suspends it again.
func TestGuardDutySuspendedDetectorReenabledThenSuspendedByRollback(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	id := userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(false),
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequencyFifteenMinutes, Features: allFeatures(gdtypes.FeatureStatusEnabled)})
	before := env.Server.Snapshot()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Action != control.ActionAdopt || len(f.Changes) != 1 ||
		f.Changes[0] != (control.Change{Field: "detector", Current: "suspended", Desired: "enabled"}) {
		t.Fatalf("check: %+v %v", f, err)
	}
	env.Server.ResetLog()
	j := appliedJournal(t, c, cenv, tg)
	if w := env.Server.Writes(); len(w) != 1 || w[0].Action != "UpdateDetector" {
		t.Fatalf("writes: %+v", w)
	}
	if d := getDetector(t, env, id); d.Status != gdtypes.DetectorStatusEnabled {
		t.Fatalf("status after apply: %s", d.Status)
	}
	u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Verdict != control.Restore || !strings.Contains(u.What, "detector enabled → suspended") {
		t.Fatalf("undo: %s %q", u.Verdict, u.What)
	}
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not suspend the detector again:\n%s\n%s", before, after)
	}
}

// An existing detector differing in frequency only: the update sends the
// frequency and nothing else; the detector keeps its features.
func TestGuardDutyAdoptChangesOnlyWhatDiffers(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	id := userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(true), Features: allFeatures(gdtypes.FeatureStatusEnabled),
		Tags: map[string]string{"owner": "sec"}})
	j := appliedJournal(t, c, cenv, tg)
	var prior map[string]any
	if err := control.DecodePrior(j.Entries[0].Step, &prior); err != nil {
		t.Fatal(err)
	}
	if _, ok := prior["finding_publishing_frequency"]; !ok || len(prior) != 2 {
		t.Fatalf("prior should name the detector and the frequency only: %v", prior)
	}
	d := getDetector(t, env, id)
	if d.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencyFifteenMinutes || d.Tags["owner"] != "sec" {
		t.Fatalf("detector: %+v", d)
	}
}

// A member account's detector is its administrator's: reported, never
// changed.
func TestGuardDutyMemberOfAdministratorIsUnmanaged(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(false)})
	env.Server.SetGuardDutyAdministrator(gdRegion, "111122223333")
	env.Server.ResetLog()
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Unmanaged != "managed by 111122223333" {
		t.Fatalf("check: %+v %v", f, err)
	}
	j := &controltest.MemJournal{}
	if ch, err := c.Apply(ctx, cenv, tg, j.For("guardduty", gdRegion)); err != nil || len(ch) != 0 || len(j.Entries) != 0 {
		t.Fatalf("apply: %v %+v %v", ch, j.Entries, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("writes: %+v", w)
	}
}

// A setting changed on harden's detector after apply is drift: left alone;
// --force deletes the detector (it is harden's).
func TestGuardDutyDriftAfterCreate(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	before := env.Server.Snapshot()
	j := appliedJournal(t, c, cenv, tg)
	id := detectorID(t, env)
	if _, err := env.Clients.GuardDuty(gdRegion).UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id),
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequencyOneHour}); err != nil {
		t.Fatal(err)
	}
	users := env.Server.Snapshot()
	var drift *controltest.DriftError
	if err := j.UndoAll(ctx, c, cenv, func(string) control.Target { return tg }); !errors.As(err, &drift) ||
		!strings.Contains(drift.What, "finding publishing frequency: harden set FIFTEEN_MINUTES, now ONE_HOUR") {
		t.Fatalf("undo: %v", err)
	}
	if string(env.Server.Snapshot()) != string(users) {
		t.Fatal("a drifted undo changed the account")
	}
	u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Do == nil {
		t.Fatal("harden's own detector should be deletable with --force")
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("forced undo did not delete the detector")
	}
}

// Drift on a field an update step set: left alone; forced, it restores.
func TestGuardDutyDriftAfterUpdate(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	id := userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(true), Features: allFeatures(gdtypes.FeatureStatusDisabled)})
	j := appliedJournal(t, c, cenv, tg)
	if _, err := env.Clients.GuardDuty(gdRegion).UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id),
		Features: []gdtypes.DetectorFeatureConfiguration{{Name: "RDS_LOGIN_EVENTS", Status: gdtypes.FeatureStatusDisabled}}}); err != nil {
		t.Fatal(err)
	}
	u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Verdict != control.Drifted || !strings.Contains(u.What, "feature RDS_LOGIN_EVENTS: harden set ENABLED, now DISABLED") || u.Do == nil {
		t.Fatalf("undo: %s %q", u.Verdict, u.What)
	}
	if err := u.Do(ctx); err != nil {
		t.Fatal(err)
	}
	d := getDetector(t, env, id)
	if featureStatus(d, "S3_DATA_EVENTS") != gdtypes.FeatureStatusDisabled || d.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencySixHours {
		t.Fatalf("forced restore: %+v", d)
	}
	// A detector format-1 style (no After) compares with the settings.
	if u := undoVerdict(t, c, cenv, tg, withoutAfter(j.Entries[0].Step)); u.Verdict != control.Already {
		t.Fatalf("undo without After after restore: %s %q", u.Verdict, u.What)
	}
}

// A detector that is not harden's is never deleted; a deleted one is
// nothing to undo; a hand-written step naming another detector's id is
// not deleted either.
func TestGuardDutyOwnership(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	j := appliedJournal(t, c, cenv, tg)
	step := j.Entries[0].Step
	id := detectorID(t, env)
	if _, err := env.Clients.GuardDuty(gdRegion).DeleteDetector(ctx, &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("deleted by the user: %s %q", u.Verdict, u.What)
	}
	users := userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(true), Features: allFeatures(gdtypes.FeatureStatusEnabled)})
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already || u.Do != nil {
		t.Fatalf("replaced by the user's detector: %s %q", u.Verdict, u.What)
	}
	forged := step
	forged.Result = []byte(`{"detector_id":"` + users + `"}`)
	if u := undoVerdict(t, c, cenv, tg, forged); u.Verdict != control.Drifted || u.Do != nil {
		t.Fatalf("step naming the user's detector: %s %q", u.Verdict, u.What)
	}
}

// An unconfirmed create is found by harden's run tag, or never happened.
func TestGuardDutyUnconfirmedCreate(t *testing.T) {
	env, c, cenv, tg := gdSetup(t)
	step := control.Step{Kind: "CreateDetector", Prior: []byte(`{"detector":"none"}`), RunID: "20260101T000000Z-0000"}
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("never happened: %s %q", u.Verdict, u.What)
	}
	before := env.Server.Snapshot()
	appliedJournal(t, c, cenv, tg)
	if err := controltest.Undo(ctx, c, cenv, tg, step); err != nil {
		t.Fatal(err)
	}
	if string(env.Server.Snapshot()) != string(before) {
		t.Fatal("unconfirmed create not deleted")
	}
	userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	if u := undoVerdict(t, c, cenv, tg, step); u.Verdict != control.Already {
		t.Fatalf("a user's detector is not the unconfirmed create: %s %q", u.Verdict, u.What)
	}
}

// A second CreateDetector is refused, as in AWS.
func TestFakeGuardDutyOneDetectorPerRegion(t *testing.T) {
	env, _, _, _ := gdSetup(t)
	userDetector(t, env, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	_, err := env.Clients.GuardDuty(gdRegion).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	var bad *gdtypes.BadRequestException
	if !errors.As(err, &bad) {
		t.Fatalf("second detector: %v", err)
	}
	_, err = env.Clients.GuardDuty("eu-west-2").CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true),
		Features: []gdtypes.DetectorFeatureConfiguration{{Name: "RUNTIME_MONITORING", Status: "ENABLED"}, {Name: "EKS_RUNTIME_MONITORING", Status: "ENABLED"}}})
	if !errors.As(err, &bad) {
		t.Fatalf("both runtime features: %v", err)
	}
}

// A region without the service is not checked, never an error; the other
// regions go on.
func TestServiceNotOfferedIsNotChecked(t *testing.T) {
	env := fakeawstest.Start(t)
	if err := env.Server.SetServiceAbsent("guardduty", "eu-south-1", true); err != nil {
		t.Fatal(err)
	}
	run := &engine.Run{Controls: []control.Control{controls.GuardDuty{}}, Env: &control.Env{AWS: env.Clients},
		AccountID: fakeaws.DefaultAccountID, HomeRegion: "us-east-1", Regions: []string{"eu-south-1", "eu-west-1"}}
	plan := run.Check(ctx)
	for _, r := range plan {
		switch r.Region {
		case "eu-south-1":
			if r.Status != engine.NotChecked || r.NotChecked != engine.ServiceNotOffered || r.Reason != "service not offered in eu-south-1" || r.Err != nil {
				t.Fatalf("absent service: %+v", r)
			}
		default:
			if r.Status != engine.NonCompliant {
				t.Fatalf("%s: %+v", r.Region, r)
			}
		}
	}
	applied := run.Apply(ctx, plan, (&controltest.MemJournal{}).For)
	for _, r := range applied {
		if r.Region == "eu-west-1" && r.Status != engine.Compliant {
			t.Fatalf("apply in the other region: %+v", r)
		}
	}
}
