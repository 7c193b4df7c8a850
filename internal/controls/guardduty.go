package controls

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/control"
)

// GuardDuty keeps a GuardDuty detector enabled in every region, publishing
// findings every 15 minutes, with the protection features the settings
// choose. Every feature harden governs is named in each request that
// creates a detector: AWS enables a feature left out. An existing detector
// is adopted and only what differs changes; a detector managed by an
// organization's GuardDuty administrator is left to it.
type GuardDuty struct{}

const (
	stepCreateDetector control.StepKind = "CreateDetector"
	stepUpdateDetector control.StepKind = "UpdateDetector"
)

// gdFrequency is how often harden has GuardDuty publish findings.
const gdFrequency = string(gdtypes.FindingPublishingFrequencyFifteenMinutes)

// GuardDutySettings choose the detector's optional protection features.
// RUNTIME_MONITORING stands for EKS runtime monitoring too (AWS rejects a
// request naming both), so EKS_RUNTIME_MONITORING is never sent.
type GuardDutySettings struct {
	S3DataEvents         bool `yaml:"s3_data_events" doc:"S3 Protection: analyse S3 data events (S3_DATA_EVENTS)"`
	EKSAuditLogs         bool `yaml:"eks_audit_logs" doc:"EKS Protection: analyse EKS audit logs (EKS_AUDIT_LOGS)"`
	EBSMalwareProtection bool `yaml:"ebs_malware_protection" doc:"Malware Protection for EC2: scan EBS volumes of instances with findings (EBS_MALWARE_PROTECTION)"`
	RDSLoginEvents       bool `yaml:"rds_login_events" doc:"RDS Protection: analyse Aurora and RDS login events (RDS_LOGIN_EVENTS)"`
	LambdaNetworkLogs    bool `yaml:"lambda_network_logs" doc:"Lambda Protection: analyse Lambda network activity (LAMBDA_NETWORK_LOGS)"`
	RuntimeMonitoring    bool `yaml:"runtime_monitoring" doc:"Runtime Monitoring (RUNTIME_MONITORING); off by default: it needs agents on EC2, ECS and EKS"`
}

// Validate accepts every combination: each feature is independent.
func (s *GuardDutySettings) Validate() error { return nil }

// DefaultGuardDutySettings: every protection on except Runtime Monitoring.
func DefaultGuardDutySettings() *GuardDutySettings {
	return &GuardDutySettings{S3DataEvents: true, EKSAuditLogs: true, EBSMalwareProtection: true,
		RDSLoginEvents: true, LambdaNetworkLogs: true}
}

// NewSettings returns the default settings.
func (GuardDuty) NewSettings() control.ControlSettings { return DefaultGuardDutySettings() }

// features maps every feature harden governs to the status the settings
// want.
func (s *GuardDutySettings) features() map[string]string {
	status := func(on bool) string {
		if on {
			return string(gdtypes.FeatureStatusEnabled)
		}
		return string(gdtypes.FeatureStatusDisabled)
	}
	return map[string]string{
		string(gdtypes.DetectorFeatureS3DataEvents):         status(s.S3DataEvents),
		string(gdtypes.DetectorFeatureEksAuditLogs):         status(s.EKSAuditLogs),
		string(gdtypes.DetectorFeatureEbsMalwareProtection): status(s.EBSMalwareProtection),
		string(gdtypes.DetectorFeatureRdsLoginEvents):       status(s.RDSLoginEvents),
		string(gdtypes.DetectorFeatureLambdaNetworkLogs):    status(s.LambdaNetworkLogs),
		string(gdtypes.DetectorFeatureRuntimeMonitoring):    status(s.RuntimeMonitoring),
	}
}

func (GuardDuty) Info() control.Info {
	return control.Info{
		ID:          "guardduty",
		Title:       "GuardDuty threat detection",
		Scope:       control.Regional,
		Desired:     "a GuardDuty detector is enabled, publishes findings every 15 minutes and has the chosen protection features",
		SecurityHub: []string{"GuardDuty.1"},
		Destructive: true,
		ReadActions: []string{"guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:GetAdministratorAccount"},
		WriteActions: []string{"guardduty:CreateDetector", "guardduty:UpdateDetector", "guardduty:DeleteDetector",
			"guardduty:TagResource", "iam:CreateServiceLinkedRole"},
		Service: "guardduty",
		Cost: control.Cost{UsageBased: true,
			Drivers: "events analysed (CloudTrail, VPC flow logs, DNS) plus each protection's volume (S3 data events, EKS audit logs, EBS GB scanned, RDS logins, Lambda network activity); 30-day free trial per region"},
	}
}

// gdSettings returns the run's GuardDuty settings.
func gdSettings(env *control.Env) *GuardDutySettings {
	return control.SettingsOf(env, "guardduty", DefaultGuardDutySettings())
}

// detectorSpec is what harden governs of a detector.
type detectorSpec struct {
	Enabled   bool   `json:"enabled"`
	Frequency string `json:"finding_publishing_frequency"`
	// Features maps each governed feature to ENABLED or DISABLED.
	Features map[string]string `json:"features"`
}

func desiredDetector(env *control.Env) detectorSpec {
	return detectorSpec{Enabled: true, Frequency: gdFrequency, Features: gdSettings(env).features()}
}

// detectorSeen is a detector as harden reads it.
type detectorSeen struct {
	ID   string
	Tags map[string]string
	// Spec holds the governed features only; one the detector does not
	// list is DISABLED (a detector older than the feature).
	Spec detectorSpec
	// Administrator is the account of the organization's GuardDuty
	// administrator that manages this one; "" for a standalone account.
	Administrator string
}

// readDetector reads the region's detector (AWS allows one), and, when
// withAdmin, its administrator account alongside.
func (GuardDuty) readDetector(ctx context.Context, env *control.Env, region string, withAdmin bool) (detectorSeen, bool, error) {
	client := env.AWS.GuardDuty(region)
	list, err := client.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil {
		return detectorSeen{}, false, fmt.Errorf("guardduty: list detectors in %s: %w", region, err)
	}
	if len(list.DetectorIds) == 0 {
		return detectorSeen{}, false, nil
	}
	seen := detectorSeen{ID: list.DetectorIds[0]}
	var g errgroup.Group
	g.Go(func() error {
		out, err := client.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(seen.ID)})
		if err != nil {
			return fmt.Errorf("guardduty: get detector %s in %s: %w", seen.ID, region, err)
		}
		seen.Tags = out.Tags
		seen.Spec = detectorSpec{Enabled: out.Status == gdtypes.DetectorStatusEnabled,
			Frequency: string(out.FindingPublishingFrequency), Features: governedFeatures(out.Features)}
		return nil
	})
	if withAdmin {
		g.Go(func() error {
			out, err := client.GetAdministratorAccount(ctx, &guardduty.GetAdministratorAccountInput{DetectorId: aws.String(seen.ID)})
			if err != nil {
				return fmt.Errorf("guardduty: get administrator account in %s: %w", region, err)
			}
			if out.Administrator != nil && !strings.EqualFold(aws.ToString(out.Administrator.RelationshipStatus), "Removed") {
				seen.Administrator = aws.ToString(out.Administrator.AccountId)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return detectorSeen{}, false, err
	}
	return seen, true, nil
}

// governedFeatures keeps the features harden governs; one not listed is
// DISABLED.
func governedFeatures(list []gdtypes.DetectorFeatureConfigurationResult) map[string]string {
	out := map[string]string{}
	for name := range DefaultGuardDutySettings().features() {
		out[name] = string(gdtypes.FeatureStatusDisabled)
	}
	for _, f := range list {
		if _, ok := out[string(f.Name)]; ok {
			out[string(f.Name)] = string(f.Status)
		}
	}
	return out
}

// detectorSettings lists a spec's fields as words, in a fixed order, for
// changes and undo decisions.
func detectorSettings(s detectorSpec) []setting {
	status := "suspended"
	if s.Enabled {
		status = "enabled"
	}
	out := []setting{{"detector", status}, {"finding publishing frequency", s.Frequency}}
	for _, name := range sortedFeatureNames(s.Features) {
		out = append(out, setting{"feature " + name, s.Features[name]})
	}
	return out
}

func sortedFeatureNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// detectorFields is the part of a detector one UpdateDetector step sets:
// only the fields that differed. Prior and after of the step list the same
// fields.
type detectorFields struct {
	DetectorID string            `json:"detector_id"`
	Enabled    *bool             `json:"enabled,omitempty"`
	Frequency  string            `json:"finding_publishing_frequency,omitempty"`
	Features   map[string]string `json:"features,omitempty"`
}

// diff returns the fields of cur that differ from want, as they are now
// (prior) and as harden wants them (after).
func diffDetector(id string, cur, want detectorSpec) (prior, after detectorFields) {
	prior, after = detectorFields{DetectorID: id}, detectorFields{DetectorID: id}
	if cur.Enabled != want.Enabled {
		prior.Enabled, after.Enabled = aws.Bool(cur.Enabled), aws.Bool(want.Enabled)
	}
	if cur.Frequency != want.Frequency {
		prior.Frequency, after.Frequency = cur.Frequency, want.Frequency
	}
	for name, status := range want.Features {
		if cur.Features[name] != status {
			if prior.Features == nil {
				prior.Features, after.Features = map[string]string{}, map[string]string{}
			}
			prior.Features[name], after.Features[name] = cur.Features[name], status
		}
	}
	return prior, after
}

func (f detectorFields) empty() bool {
	return f.Enabled == nil && f.Frequency == "" && len(f.Features) == 0
}

// settings lists the fields f sets, as words; from cur when f names the
// field but another state's value is wanted (see pick).
func (f detectorFields) settings() []setting {
	var out []setting
	if f.Enabled != nil {
		status := "suspended"
		if *f.Enabled {
			status = "enabled"
		}
		out = append(out, setting{"detector", status})
	}
	if f.Frequency != "" {
		out = append(out, setting{"finding publishing frequency", f.Frequency})
	}
	for _, name := range sortedFeatureNames(f.Features) {
		out = append(out, setting{"feature " + name, f.Features[name]})
	}
	return out
}

// pick returns the values spec has for the fields f names.
func (f detectorFields) pick(spec detectorSpec) detectorFields {
	out := detectorFields{DetectorID: f.DetectorID}
	if f.Enabled != nil {
		out.Enabled = aws.Bool(spec.Enabled)
	}
	if f.Frequency != "" {
		out.Frequency = spec.Frequency
	}
	for name := range f.Features {
		if out.Features == nil {
			out.Features = map[string]string{}
		}
		out.Features[name] = spec.Features[name]
	}
	return out
}

func (f detectorFields) changes(to detectorFields) []control.Change {
	var out []control.Change
	for _, c := range changedSettings(f.settings(), to.settings()) {
		out = append(out, control.Change{Field: c.Name, Current: c.From, Desired: c.To})
	}
	return out
}

func (c GuardDuty) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	seen, found, err := c.readDetector(ctx, env, t.Region, true)
	if err != nil {
		return control.Finding{}, err
	}
	return c.finding(env, seen, found), nil
}

func (GuardDuty) finding(env *control.Env, seen detectorSeen, found bool) control.Finding {
	want := desiredDetector(env)
	if !found {
		var changes []control.Change
		for _, s := range detectorSettings(want) {
			changes = append(changes, control.Change{Field: s.Name, Current: "none", Desired: s.Value})
		}
		return control.Finding{Action: control.ActionCreate, Changes: changes}
	}
	prior, after := diffDetector(seen.ID, seen.Spec, want)
	if after.empty() {
		return control.Finding{Compliant: true}
	}
	f := control.Finding{Action: control.ActionAdopt, Changes: prior.changes(after)}
	if seen.Tags[control.TagManagedBy] == control.TagManagedByID {
		f.Action = control.ActionUpdate
	}
	if seen.Administrator != "" {
		f.Action, f.Unmanaged = control.ActionNone, "managed by "+seen.Administrator
		return f
	}
	// Turning off a protection that is on is destructive; creating or
	// enabling one is not.
	for _, name := range sortedFeatureNames(after.Features) {
		if prior.Features[name] == string(gdtypes.FeatureStatusEnabled) && after.Features[name] == string(gdtypes.FeatureStatusDisabled) {
			f.Destroys = append(f.Destroys, control.Loss{Verb: "turn off", Kind: "GuardDuty feature", Resource: name + " of detector " + seen.ID,
				What: fmt.Sprintf("turns off %s of detector %s, on now: that protection stops (rollback turns it on again; what it would have found meanwhile is not found)", name, seen.ID)})
		}
	}
	return f
}

func (c GuardDuty) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	seen, found, err := c.readDetector(ctx, env, t.Region, true)
	if err != nil {
		return nil, err
	}
	f := c.finding(env, seen, found)
	if f.Compliant || f.Unmanaged != "" {
		return nil, nil
	}
	if !found {
		return f.Changes, c.create(ctx, env, t.Region, j)
	}
	prior, after := diffDetector(seen.ID, seen.Spec, desiredDetector(env))
	err = j.Write(ctx, stepUpdateDetector, prior, after, func(ctx context.Context) (any, error) {
		return nil, c.update(ctx, env, t.Region, after)
	})
	if err != nil {
		return nil, fmt.Errorf("guardduty: update detector %s in %s: %w", seen.ID, t.Region, err)
	}
	return f.Changes, nil
}

// detectorPrior is the prior state of CreateDetector: there was none.
type detectorPrior struct {
	Detector string `json:"detector"`
}

// detectorAfter is the detector CreateDetector makes.
type detectorAfter struct {
	Spec detectorSpec      `json:"spec"`
	Tags map[string]string `json:"tags"`
}

// detectorCreated is CreateDetector's result.
type detectorCreated struct {
	DetectorID string `json:"detector_id"`
}

func (GuardDuty) create(ctx context.Context, env *control.Env, region string, j control.Journal) error {
	after := detectorAfter{Spec: desiredDetector(env), Tags: control.Tags(j.RunID())}
	err := j.Write(ctx, stepCreateDetector, detectorPrior{Detector: "none"}, after, func(ctx context.Context) (any, error) {
		out, err := env.AWS.GuardDuty(region).CreateDetector(ctx, &guardduty.CreateDetectorInput{
			Enable:                     aws.Bool(true),
			FindingPublishingFrequency: gdtypes.FindingPublishingFrequency(after.Spec.Frequency),
			Features:                   featureInput(after.Spec.Features),
			Tags:                       after.Tags,
		})
		if err != nil {
			return nil, err
		}
		return detectorCreated{DetectorID: aws.ToString(out.DetectorId)}, nil
	})
	if err != nil {
		return fmt.Errorf("guardduty: create detector in %s: %w", region, err)
	}
	return nil
}

func featureInput(features map[string]string) []gdtypes.DetectorFeatureConfiguration {
	var out []gdtypes.DetectorFeatureConfiguration
	for _, name := range sortedFeatureNames(features) {
		out = append(out, gdtypes.DetectorFeatureConfiguration{
			Name: gdtypes.DetectorFeature(name), Status: gdtypes.FeatureStatus(features[name])})
	}
	return out
}

// update sends the fields f names, and only those.
func (GuardDuty) update(ctx context.Context, env *control.Env, region string, f detectorFields) error {
	_, err := env.AWS.GuardDuty(region).UpdateDetector(ctx, &guardduty.UpdateDetectorInput{
		DetectorId:                 aws.String(f.DetectorID),
		Enable:                     f.Enabled,
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequency(f.Frequency),
		Features:                   featureInput(f.Features),
	})
	return err
}

// undoCreate deletes the detector the step created, and only that one: it
// must have the id CreateDetector returned and carry harden's tags (with
// the step's run). A detector changed since is drift; --force deletes it
// all the same, as it is harden's.
func (c GuardDuty) undoCreate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created detectorCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	var after detectorAfter
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	seen, found, err := c.readDetector(ctx, env, t.Region, false)
	if err != nil {
		return control.Undo{}, err
	}
	if !s.Done {
		if found && seen.Tags[control.TagManagedBy] == control.TagManagedByID && seen.Tags[control.TagRun] == s.RunID {
			return control.Deleted(fmt.Sprintf("delete GuardDuty detector %s in %s, whose creation was not confirmed (its findings are deleted with it)", seen.ID, t.Region),
				c.deleteFunc(env, t.Region, seen.ID)), nil
		}
		return control.Nothing("the creation of a GuardDuty detector in %s never happened", t.Region), nil
	}
	if created.DetectorID == "" {
		return control.Drift(nil, "the journal records no id for the GuardDuty detector harden created in %s", t.Region), nil
	}
	if !found || seen.ID != created.DetectorID {
		return control.Nothing("GuardDuty detector %s in %s is already gone", created.DetectorID, t.Region), nil
	}
	if why := notHardens(seen.Tags, s.RunID); why != "" {
		return control.Drift(nil, "GuardDuty detector %s in %s is not the one harden created: %s", seen.ID, t.Region, why), nil
	}
	del := c.deleteFunc(env, t.Region, seen.ID)
	if hasAfter {
		if drift := changedSettings(detectorSettings(after.Spec), detectorSettings(seen.Spec)); len(drift) > 0 {
			return control.Drift(del, "GuardDuty detector %s in %s changed since harden created it: %s", seen.ID, t.Region, driftText(drift)), nil
		}
	}
	return control.Deleted(fmt.Sprintf("delete GuardDuty detector %s in %s (its findings are deleted with it)", seen.ID, t.Region), del), nil
}

// notHardens says why tags do not mark a resource created by run runID,
// or "" when they do.
func notHardens(tags map[string]string, runID string) string {
	if tags[control.TagManagedBy] != control.TagManagedByID {
		return fmt.Sprintf("it lacks harden's tag %s=%s", control.TagManagedBy, control.TagManagedByID)
	}
	if run, ok := tags[control.TagRun]; ok && run != runID {
		return fmt.Sprintf("it was created by harden run %s, not %s", run, runID)
	}
	return ""
}

func (GuardDuty) deleteFunc(env *control.Env, region, id string) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := env.AWS.GuardDuty(region).DeleteDetector(ctx, &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)}); err != nil {
			return fmt.Errorf("guardduty: delete detector %s in %s: %w", id, region, err)
		}
		return nil
	}
}

// undoUpdate puts back the fields the step changed when they are still
// as harden left them. A journal without After (never written by harden
// so far, kept for robustness) compares with the current settings' wants.
func (c GuardDuty) undoUpdate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior detectorFields
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var after detectorFields
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !hasAfter {
		after = prior.pick(desiredDetector(env))
	}
	seen, found, err := c.readDetector(ctx, env, t.Region, false)
	if err != nil {
		return control.Undo{}, err
	}
	if !found || seen.ID != prior.DetectorID {
		return control.Nothing("GuardDuty detector %s in %s is gone: nothing to restore", prior.DetectorID, t.Region), nil
	}
	current := prior.pick(seen.Spec)
	subject := fmt.Sprintf("GuardDuty detector %s in %s", prior.DetectorID, t.Region)
	u := settingsUndo(subject, current.settings(), after.settings(), prior.settings(), func(ctx context.Context) error {
		if err := c.update(ctx, env, t.Region, prior); err != nil {
			return fmt.Errorf("guardduty: restore detector %s in %s: %w", prior.DetectorID, t.Region, err)
		}
		return nil
	})
	return u, nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c GuardDuty) Steps() control.Steps {
	return control.Steps{
		stepCreateDetector: c.undoCreate,
		stepUpdateDetector: c.undoUpdate,
	}
}

// detectorAge returns how long ago the region's detector was created, and
// whether there is an enabled one (Detective's prerequisite).
func detectorCreatedAt(ctx context.Context, env *control.Env, region string) (time.Time, bool, error) {
	client := env.AWS.GuardDuty(region)
	list, err := client.ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("guardduty: list detectors in %s: %w", region, err)
	}
	if len(list.DetectorIds) == 0 {
		return time.Time{}, false, nil
	}
	out, err := client.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(list.DetectorIds[0])})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("guardduty: get detector in %s: %w", region, err)
	}
	if out.Status != gdtypes.DetectorStatusEnabled {
		return time.Time{}, false, nil
	}
	at, err := time.Parse(time.RFC3339, aws.ToString(out.CreatedAt))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("guardduty: detector in %s: creation time %q: %w", region, aws.ToString(out.CreatedAt), err)
	}
	return at, true, nil
}
