package controls

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// SecurityHub keeps Security Hub CSPM enabled in every region with
// consolidated control findings and the standards the settings name,
// resolved per region from DescribeStandards (never from hard-coded ARNs),
// and, in the home region, a finding aggregator that links every region.
// It never enables AWS's default standards. An account that a Security Hub
// administrator manages is left to it.
type SecurityHub struct{}

const (
	stepEnableHub        control.StepKind = "EnableSecurityHub"
	stepUpdateHubConfig  control.StepKind = "UpdateSecurityHubConfiguration"
	stepEnableStandards  control.StepKind = "BatchEnableStandards"
	stepCreateAggregator control.StepKind = "CreateFindingAggregator"
)

const (
	shConsolidated   = string(shtypes.ControlFindingGeneratorSecurityControl)
	shAllRegions     = "ALL_REGIONS"
	shLatest         = "latest"
	shNotEnabledCode = "InvalidAccessException"
	// Apply waits for enabled standards to be READY, polling from
	// shStandardsFirstPoll, backing off to shStandardsMaxPoll, for at most
	// shStandardsReadyDeadline.
	shStandardsFirstPoll = 100 * time.Millisecond
	shStandardsMaxPoll   = 5 * time.Second
)

// shStandardsReadyDeadline bounds the wait for READY (a variable for the
// tests of the deadline).
var shStandardsReadyDeadline = 10 * time.Minute

// SecurityHubSettings choose the standards.
type SecurityHubSettings struct {
	Standards []string `yaml:"standards" doc:"standards to enable, by the name DescribeStandards gives (\"AWS Foundational Security Best Practices v1.0.0\"); a name ending in \"latest\" in place of a version (\"CIS AWS Foundations Benchmark latest\") picks the newest version the region offers"`
}

// Validate refuses an empty or repeated name.
func (s *SecurityHubSettings) Validate() error {
	seen := map[string]bool{}
	for _, n := range s.Standards {
		if strings.TrimSpace(n) == "" {
			return control.FieldErrorf("standards", "a standard's name is empty")
		}
		if seen[n] {
			return control.FieldErrorf("standards", "%q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// DefaultSecurityHubSettings: AWS Foundational Security Best Practices
// v1.0.0 and the newest CIS AWS Foundations Benchmark.
func DefaultSecurityHubSettings() *SecurityHubSettings {
	return &SecurityHubSettings{Standards: []string{
		"AWS Foundational Security Best Practices v1.0.0",
		"CIS AWS Foundations Benchmark " + shLatest,
	}}
}

// NewSettings returns the default settings.
func (SecurityHub) NewSettings() control.ControlSettings { return DefaultSecurityHubSettings() }

func (SecurityHub) Info() control.Info {
	return control.Info{
		ID:    "securityhub",
		Title: "Security Hub CSPM with chosen standards",
		Scope: control.Regional,
		Desired: "Security Hub CSPM is enabled with consolidated control findings and the chosen standards ready " +
			"(never AWS's default set); the home region aggregates findings from every region",
		// Security Hub has no control of its own for being enabled; CIS
		// AWS Foundations Benchmark v5.0.0 4.16 asks for it.
		CIS: []string{"4.16"},
		// Security Hub needs Config's recorder in the region, not its
		// delivery to the log archive.
		DependsOn: []string{"config-recorder"},
		Needs:     map[string]string{"config-recorder": configRecorderStage},
		Stages: []control.Stage{{Name: shAggregatorStage, Home: true,
			What: "the home region's finding aggregator that decides which regions' findings come home exists (made right after enabling Security Hub, before the standards are READY)"}},
		ReadActions: []string{"securityhub:DescribeHub", "securityhub:GetEnabledStandards", "securityhub:DescribeStandards",
			"securityhub:ListFindingAggregators", "securityhub:GetFindingAggregator", "securityhub:GetAdministratorAccount",
			"securityhub:DescribeOrganizationConfiguration", "securityhub:GetConfigurationPolicyAssociation",
			"securityhub:ListTagsForResource"},
		WriteActions: []string{"securityhub:EnableSecurityHub", "securityhub:UpdateSecurityHubConfiguration",
			"securityhub:BatchEnableStandards", "securityhub:BatchDisableStandards", "securityhub:CreateFindingAggregator",
			"securityhub:DeleteFindingAggregator", "securityhub:DisableSecurityHub", "securityhub:TagResource",
			"iam:CreateServiceLinkedRole"},
		Service: "securityhub",
		Cost: control.Cost{UsageBased: true,
			Drivers: "security checks run by the enabled standards and finding ingestion events; the aggregator's cross-region findings; needs AWS Config's recording (billed by config-recorder); 30-day free trial per region"},
	}
}

func shSettings(env *control.Env) *SecurityHubSettings {
	return control.SettingsOf(env, "securityhub", DefaultSecurityHubSettings())
}

// shStandard is a standard a region offers.
type shStandard struct {
	ARN  string `json:"standards_arn"`
	Name string `json:"name"`
}

// shSubscription is an enabled standard.
type shSubscription struct {
	StandardsARN    string `json:"standards_arn"`
	SubscriptionARN string `json:"subscription_arn"`
	Name            string `json:"name,omitempty"`
	Status          string `json:"status,omitempty"`
}

// shAggregator is the account's finding aggregator.
type shAggregator struct {
	ARN    string
	Region string
	Mode   string
	// Regions are the regions Mode links (SPECIFIED_REGIONS) or leaves
	// out (ALL_REGIONS_EXCEPT_SPECIFIED).
	Regions []string
}

// bringsHome reports whether the aggregator brings region's findings into
// home: it aggregates into home and its linking mode links region.
func (a *shAggregator) bringsHome(home, region string) bool {
	if a == nil || a.Region != home {
		return false
	}
	listed := slices.Contains(a.Regions, region)
	switch a.Mode {
	case shAllRegions:
		return true
	case "ALL_REGIONS_EXCEPT_SPECIFIED":
		return !listed
	case "SPECIFIED_REGIONS":
		return listed
	}
	return false // NO_REGIONS, or a mode this version does not know
}

// shAggregatorStage is reached once the home region's aggregator exists.
const shAggregatorStage = "aggregator"

// shAggregatorChange is the field of the change that creates the
// aggregator.
const shAggregatorChange = "finding aggregator"

// plansAggregator reports whether f, securityhub's finding in the home
// region, is a change apply makes that creates the aggregator (one that
// links every region into the home region).
func plansAggregator(f control.Finding) bool {
	if f.Compliant || f.Unmanaged != "" || f.Deferred != "" {
		return false
	}
	for _, c := range f.Changes {
		if c.Field == shAggregatorChange {
			return true
		}
	}
	return false
}

// hubState is Security Hub in one region as harden reads it.
type hubState struct {
	Enabled      bool
	SubscribedAt string
	Generator    string
	// Administrator is the Security Hub administrator account managing
	// this one; "" when standalone.
	Administrator string
	// CentralPolicy says, when this account is the delegated
	// administrator of an organization under central configuration, which
	// configuration policy governs this account ("" when none or
	// self-managed); see centralPolicy.
	CentralPolicy string
	Offered       []shStandard
	// StandardsUnknown is true when Security Hub would not list its
	// standards (not enabled): the plan then names them as the settings do.
	StandardsUnknown bool
	Subscriptions    []shSubscription
	// Aggregator is read in the home region only; nil when none.
	Aggregator *shAggregator
}

// resolveStandards maps each wanted name to the standard the region
// offers: the exact name, or for "<name> latest" the newest "<name> vX.Y.Z".
// It returns the names it could not resolve.
func resolveStandards(wanted []string, offered []shStandard) (found []shStandard, missing []string) {
	for _, name := range wanted {
		prefix, latest := strings.CutSuffix(name, " "+shLatest)
		var best *shStandard
		for i, st := range offered {
			switch {
			case !latest && st.Name == name:
				best = &offered[i]
			case latest && strings.HasPrefix(st.Name, prefix+" v"):
				if best == nil || newerVersion(strings.TrimPrefix(st.Name, prefix+" v"), strings.TrimPrefix(best.Name, prefix+" v")) {
					best = &offered[i]
				}
			}
		}
		if best == nil {
			missing = append(missing, name)
			continue
		}
		found = append(found, *best)
	}
	return found, missing
}

// newerVersion reports whether dotted version a is newer than b ("5.0.0"
// > "1.4.0"); a part that is not a number compares as 0.
func newerVersion(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// read reads the region's hub in two rounds: the hub and the standards on
// offer together, then (when enabled) its administrator, standards and,
// in the home region, the aggregator together.
func (SecurityHub) read(ctx context.Context, env *control.Env, t control.Target) (hubState, error) {
	client := env.AWS.SecurityHub(t.Region)
	var st hubState
	var hub *securityhub.DescribeHubOutput
	// Every read starts at once: the hub, the standards offered, and what
	// only an enabled hub has (its administrator, central configuration,
	// subscriptions and, in the home region, the aggregator). Those last
	// answer InvalidAccessException for a hub that is not enabled; their
	// answers (and errors) count only when DescribeHub finds the hub. An
	// enabled hub's read is then two round trips (central configuration
	// and the aggregator are two calls each), a fresh region's one.
	var (
		enabled    hubState
		enabledErr [4]error
	)
	var g errgroup.Group
	g.Go(func() (err error) {
		hub, err = client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
		if awserror.Is(err, shNotEnabledCode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("securityhub: describe hub in %s: %w", t.Region, err)
		}
		return nil
	})
	g.Go(func() (err error) {
		st.Offered, err = describeStandards(ctx, client, t.Region)
		if awserror.Is(err, shNotEnabledCode) {
			// Security Hub may list its standards only to a subscribed
			// account: apply resolves them once it has enabled the hub.
			st.StandardsUnknown = true
			return nil
		}
		return err
	})
	g.Go(func() error {
		out, err := client.GetAdministratorAccount(ctx, &securityhub.GetAdministratorAccountInput{})
		if err != nil {
			enabledErr[0] = fmt.Errorf("securityhub: get administrator account in %s: %w", t.Region, err)
			return nil
		}
		if out.Administrator != nil && !strings.EqualFold(aws.ToString(out.Administrator.MemberStatus), "Removed") {
			enabled.Administrator = aws.ToString(out.Administrator.AccountId)
		}
		return nil
	})
	g.Go(func() error {
		enabled.CentralPolicy, enabledErr[1] = centralPolicy(ctx, client, t)
		return nil
	})
	g.Go(func() error {
		enabled.Subscriptions, enabledErr[2] = enabledStandards(ctx, client, t.Region, nil)
		return nil
	})
	if t.Region == t.HomeRegion {
		g.Go(func() error {
			enabled.Aggregator, enabledErr[3] = findAggregator(ctx, client, t.Region)
			return nil
		})
	}
	if err := g.Wait(); err != nil || hub == nil {
		return st, err
	}
	for _, err := range enabledErr {
		if err != nil {
			return st, err
		}
	}
	st.Administrator, st.CentralPolicy, st.Subscriptions, st.Aggregator =
		enabled.Administrator, enabled.CentralPolicy, enabled.Subscriptions, enabled.Aggregator
	st.Enabled, st.SubscribedAt, st.Generator = true, aws.ToString(hub.SubscribedAt), string(hub.ControlFindingGenerator)
	return st, nil
}

// selfManagedPolicy is the ConfigurationPolicyId of an account that
// central configuration leaves self-managed.
const selfManagedPolicy = "SELF_MANAGED_SECURITY_HUB"

// centralPolicy finds whether Security Hub central configuration governs
// this account, as far as the account itself can tell.
//
// A member account cannot read its configuration: DescribeOrganization
// Configuration is for "the Security Hub CSPM administrator account" only,
// and Get/List/BatchGetConfigurationPolicyAssociation(s) for "the Security
// Hub CSPM delegated administrator ... from the home Region" (the
// operations' documentation in aws-sdk-go-v2 service/securityhub v1.71.2,
// as in the API reference). What a member can call is
// GetAdministratorAccount ("Can be used by both member accounts that are
// managed using Organizations and accounts that were invited manually"),
// and central configuration exists only in an organization with a
// delegated administrator, so every member it governs has one: the
// administrator check covers them (hubState.Administrator).
//
// The one account central configuration can govern without an
// administrator above it is the delegated administrator itself. It can ask:
// DescribeOrganizationConfiguration answers ConfigurationType CENTRAL, and
// GetConfigurationPolicyAssociation for its own account gives the policy
// (SELF_MANAGED_SECURITY_HUB when it is self-managed). Any other account
// gets InvalidAccessException, the operation's modeled error for an
// account without permission: not an administrator, nothing to report.
// When the association cannot be read (another region than the central
// configuration's home region answers it only there), the account is left
// alone rather than guessed at.
func centralPolicy(ctx context.Context, client *securityhub.Client, t control.Target) (string, error) {
	org, err := client.DescribeOrganizationConfiguration(ctx, &securityhub.DescribeOrganizationConfigurationInput{})
	if awserror.Is(err, shNotEnabledCode) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("securityhub: describe organization configuration in %s: %w", t.Region, err)
	}
	if org.OrganizationConfiguration == nil || org.OrganizationConfiguration.ConfigurationType != shtypes.OrganizationConfigurationConfigurationTypeCentral {
		return "", nil
	}
	out, err := client.GetConfigurationPolicyAssociation(ctx, &securityhub.GetConfigurationPolicyAssociationInput{
		Target: &shtypes.TargetMemberAccountId{Value: t.AccountID}})
	if err != nil {
		if awserror.Is(err, shNotEnabledCode) || awserror.Is(err, "ResourceNotFoundException") {
			return "an unreadable configuration policy (central configuration is on; its association is readable from its home region only)", nil
		}
		return "", fmt.Errorf("securityhub: get configuration policy association of %s in %s: %w", t.AccountID, t.Region, err)
	}
	if id := aws.ToString(out.ConfigurationPolicyId); id != selfManagedPolicy {
		return fmt.Sprintf("configuration policy %s (%s)", id, strings.ToLower(string(out.AssociationType))), nil
	}
	return "", nil
}

func describeStandards(ctx context.Context, client *securityhub.Client, region string) ([]shStandard, error) {
	var out []shStandard
	p := securityhub.NewDescribeStandardsPaginator(client, &securityhub.DescribeStandardsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("securityhub: describe standards in %s: %w", region, err)
		}
		for _, s := range page.Standards {
			out = append(out, shStandard{ARN: aws.ToString(s.StandardsArn), Name: aws.ToString(s.Name)})
		}
	}
	return out, nil
}

// enabledStandards lists the enabled standards, or only those of arns.
func enabledStandards(ctx context.Context, client *securityhub.Client, region string, arns []string) ([]shSubscription, error) {
	var out []shSubscription
	p := securityhub.NewGetEnabledStandardsPaginator(client, &securityhub.GetEnabledStandardsInput{StandardsSubscriptionArns: arns})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("securityhub: get enabled standards in %s: %w", region, err)
		}
		for _, s := range page.StandardsSubscriptions {
			out = append(out, shSubscription{StandardsARN: aws.ToString(s.StandardsArn),
				SubscriptionARN: aws.ToString(s.StandardsSubscriptionArn), Status: string(s.StandardsStatus)})
		}
	}
	return out, nil
}

// findAggregator reads the account's finding aggregator, if any.
func findAggregator(ctx context.Context, client *securityhub.Client, region string) (*shAggregator, error) {
	list, err := client.ListFindingAggregators(ctx, &securityhub.ListFindingAggregatorsInput{})
	if err != nil {
		return nil, fmt.Errorf("securityhub: list finding aggregators in %s: %w", region, err)
	}
	if len(list.FindingAggregators) == 0 {
		return nil, nil
	}
	arn := aws.ToString(list.FindingAggregators[0].FindingAggregatorArn)
	out, err := client.GetFindingAggregator(ctx, &securityhub.GetFindingAggregatorInput{FindingAggregatorArn: aws.String(arn)})
	if awserror.Is(err, "ResourceNotFoundException") {
		return nil, nil // deleted between the list and the read (a rollback in the home region, say)
	}
	if err != nil {
		return nil, fmt.Errorf("securityhub: get finding aggregator %s in %s: %w", arn, region, err)
	}
	return &shAggregator{ARN: arn, Region: aws.ToString(out.FindingAggregationRegion), Mode: aws.ToString(out.RegionLinkingMode), Regions: out.Regions}, nil
}

// plan is what apply would do in one region.
type hubPlan struct {
	EnableHub       bool
	SetGenerator    bool
	Standards       []shStandard
	CreateAggregate bool
	Missing         []string
}

func (p hubPlan) empty() bool {
	return !p.EnableHub && !p.SetGenerator && len(p.Standards) == 0 && !p.CreateAggregate
}

func (st hubState) plan(env *control.Env, t control.Target) hubPlan {
	wanted, missing := resolveStandards(shSettings(env).Standards, st.Offered)
	if st.StandardsUnknown {
		wanted, missing = nil, nil
		for _, name := range shSettings(env).Standards {
			wanted = append(wanted, shStandard{Name: name})
		}
	}
	p := hubPlan{EnableHub: !st.Enabled, SetGenerator: st.Enabled && st.Generator != shConsolidated, Missing: missing}
	enabled := map[string]bool{}
	for _, s := range st.Subscriptions {
		if s.Status != string(shtypes.StandardsStatusFailed) && s.Status != string(shtypes.StandardsStatusDeleting) {
			enabled[s.StandardsARN] = true
		}
	}
	for _, w := range wanted {
		if !enabled[w.ARN] {
			p.Standards = append(p.Standards, w)
		}
	}
	p.CreateAggregate = t.Region == t.HomeRegion && st.Aggregator == nil
	return p
}

func (p hubPlan) changes() []control.Change {
	var out []control.Change
	if p.EnableHub {
		out = append(out, control.Change{Field: "Security Hub CSPM", Current: "not enabled", Desired: "enabled, consolidated control findings, no default standards"})
	}
	if p.SetGenerator {
		out = append(out, control.Change{Field: "control findings", Current: "one per standard", Desired: "consolidated"})
	}
	for _, s := range p.Standards {
		name := s.Name
		if prefix, latest := strings.CutSuffix(name, " "+shLatest); latest {
			name = prefix + " (newest version offered)"
		}
		out = append(out, control.Change{Field: "standard " + name, Current: "not enabled", Desired: "enabled"})
	}
	if p.CreateAggregate {
		out = append(out, control.Change{Field: shAggregatorChange, Current: "none", Desired: "all regions, into this one"})
	}
	return out
}

func (c SecurityHub) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	return c.finding(env, t, st), nil
}

func (SecurityHub) finding(env *control.Env, t control.Target, st hubState) control.Finding {
	p := st.plan(env, t)
	var note string
	if len(p.Missing) > 0 {
		note = fmt.Sprintf("%s not offered in %s", strings.Join(p.Missing, ", "), t.Region)
	}
	if st.Aggregator != nil && (st.Aggregator.Mode != shAllRegions || st.Aggregator.Region != t.Region) {
		note = strings.TrimPrefix(note+"; ", "; ") + fmt.Sprintf("an existing aggregator (%s into %s) counts", st.Aggregator.Mode, st.Aggregator.Region)
	}
	if p.empty() {
		return control.Finding{Compliant: true, Note: note}
	}
	f := control.Finding{Action: control.ActionUpdate, Changes: p.changes(), Note: note}
	if p.EnableHub {
		f.Action = control.ActionCreate
	}
	switch {
	case st.Administrator != "":
		f.Action, f.Unmanaged = control.ActionNone, fmt.Sprintf("managed elsewhere: Security Hub administrator account %s "+
			"(with central configuration, its configuration policies set this account)", st.Administrator)
	case st.CentralPolicy != "":
		f.Action, f.Unmanaged = control.ActionNone, fmt.Sprintf("managed elsewhere: Security Hub central configuration, %s", st.CentralPolicy)
	}
	return f
}

// The journal's types for Security Hub steps.
type (
	// hubPrior says the hub was not enabled.
	hubPrior struct {
		Hub string `json:"hub"`
	}
	// hubAfter is the hub EnableSecurityHub makes.
	hubAfter struct {
		ControlFindingGenerator string            `json:"control_finding_generator"`
		DefaultStandards        bool              `json:"default_standards"`
		Tags                    map[string]string `json:"tags"`
	}
	// hubEnabled is EnableSecurityHub's result: the hub and when it was
	// enabled, which tells it from a hub enabled again later.
	hubEnabled struct {
		HubARN       string `json:"hub_arn"`
		SubscribedAt string `json:"subscribed_at"`
	}
	// hubConfig is the setting UpdateSecurityHubConfiguration changes.
	hubConfig struct {
		ControlFindingGenerator string `json:"control_finding_generator"`
	}
	// standardsPrior lists the standards that were not enabled.
	standardsPrior struct {
		Standards []shStandard `json:"standards"`
	}
	// standardsEnabled lists the subscriptions BatchEnableStandards made.
	standardsEnabled struct {
		Subscriptions []shSubscription `json:"subscriptions"`
	}
	// aggregatorPrior says there was no aggregator.
	aggregatorPrior struct {
		Aggregator string `json:"aggregator"`
	}
	// aggregatorAfter is the aggregator harden creates.
	aggregatorAfter struct {
		Region            string `json:"region"`
		RegionLinkingMode string `json:"region_linking_mode"`
	}
	// aggregatorCreated is CreateFindingAggregator's result.
	aggregatorCreated struct {
		ARN string `json:"arn"`
	}
)

func (c SecurityHub) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	f := c.finding(env, t, st)
	if f.Compliant || f.Unmanaged != "" {
		return nil, nil
	}
	p := st.plan(env, t)
	client := env.AWS.SecurityHub(t.Region)
	if t.Region == t.HomeRegion && !p.CreateAggregate {
		// The aggregator that counts is there already.
		control.Reached(ctx, shAggregatorStage)
	}
	if p.EnableHub {
		if err := c.enableHub(ctx, client, t.Region, j); err != nil {
			return nil, err
		}
	}
	// Once the hub is enabled, the generator, the standards and the
	// aggregator are three settings that need nothing of each other.
	var writes []func(context.Context) error
	if p.SetGenerator {
		writes = append(writes, func(ctx context.Context) error {
			err := j.Write(ctx, stepUpdateHubConfig, hubConfig{st.Generator}, hubConfig{shConsolidated}, func(ctx context.Context) (any, error) {
				return nil, setGenerator(ctx, client, shConsolidated)
			})
			if err != nil {
				return fmt.Errorf("securityhub: consolidate control findings in %s: %w", t.Region, err)
			}
			return nil
		})
	}
	writes = append(writes, func(ctx context.Context) (err error) {
		standards := p.Standards
		if p.EnableHub && st.StandardsUnknown {
			if standards, err = c.standardsAfterEnable(ctx, env, client, t); err != nil {
				return err
			}
		}
		if len(standards) == 0 {
			return nil
		}
		return c.enableStandards(ctx, client, t.Region, standards, j)
	})
	if p.CreateAggregate {
		// With the standards, not after their READY wait: security-alerts
		// outside the home region waits for it (stage "aggregator").
		writes = append(writes, func(ctx context.Context) error {
			if err := c.createAggregator(ctx, client, t.Region, j); err != nil {
				return err
			}
			control.Reached(ctx, shAggregatorStage)
			return nil
		})
	}
	if err := parallel.All(ctx, writes...); err != nil {
		return nil, err
	}
	return f.Changes, nil
}

// standardsAfterEnable resolves the wanted standards once the hub is
// enabled, for a region that lists them to subscribed accounts only.
func (SecurityHub) standardsAfterEnable(ctx context.Context, env *control.Env, client *securityhub.Client, t control.Target) ([]shStandard, error) {
	offered, err := describeStandards(ctx, client, t.Region)
	if err != nil {
		return nil, err
	}
	wanted, _ := resolveStandards(shSettings(env).Standards, offered)
	return wanted, nil
}

func (SecurityHub) enableHub(ctx context.Context, client *securityhub.Client, region string, j control.Journal) error {
	after := hubAfter{ControlFindingGenerator: shConsolidated, Tags: control.Tags(j.RunID())}
	err := j.Write(ctx, stepEnableHub, hubPrior{Hub: "not enabled"}, after, func(ctx context.Context) (any, error) {
		_, err := client.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
			EnableDefaultStandards:  aws.Bool(false),
			ControlFindingGenerator: shtypes.ControlFindingGenerator(after.ControlFindingGenerator),
			Tags:                    after.Tags,
		})
		if err != nil {
			return nil, err
		}
		// The hub exists from here on: a failed read leaves the result
		// without the time, and the undo then relies on the tags.
		hub, err := client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
		if err != nil {
			return hubEnabled{}, nil
		}
		return hubEnabled{HubARN: aws.ToString(hub.HubArn), SubscribedAt: aws.ToString(hub.SubscribedAt)}, nil
	})
	if err != nil {
		return fmt.Errorf("securityhub: enable Security Hub in %s: %w", region, err)
	}
	return nil
}

func setGenerator(ctx context.Context, client *securityhub.Client, generator string) error {
	_, err := client.UpdateSecurityHubConfiguration(ctx, &securityhub.UpdateSecurityHubConfigurationInput{
		ControlFindingGenerator: shtypes.ControlFindingGenerator(generator)})
	return err
}

// enableStandards enables the standards in one call, then waits until each
// is READY (bounded by ctx and shStandardsReadyDeadline).
func (SecurityHub) enableStandards(ctx context.Context, client *securityhub.Client, region string, standards []shStandard, j control.Journal) error {
	var created standardsEnabled
	err := j.Write(ctx, stepEnableStandards, standardsPrior{Standards: standards}, standardsPrior{Standards: standards}, func(ctx context.Context) (any, error) {
		var reqs []shtypes.StandardsSubscriptionRequest
		for _, s := range standards {
			reqs = append(reqs, shtypes.StandardsSubscriptionRequest{StandardsArn: aws.String(s.ARN)})
		}
		out, err := client.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: reqs})
		if err != nil {
			return nil, err
		}
		for _, s := range out.StandardsSubscriptions {
			created.Subscriptions = append(created.Subscriptions, shSubscription{StandardsARN: aws.ToString(s.StandardsArn),
				SubscriptionARN: aws.ToString(s.StandardsSubscriptionArn), Name: standardName(standards, aws.ToString(s.StandardsArn))})
		}
		return created, nil
	})
	if err != nil {
		return fmt.Errorf("securityhub: enable standards in %s: %w", region, err)
	}
	return waitStandardsReady(ctx, client, region, created.Subscriptions)
}

func standardName(standards []shStandard, arn string) string {
	for _, s := range standards {
		if s.ARN == arn {
			return s.Name
		}
	}
	return arn
}

// waitStandardsReady polls GetEnabledStandards, backing off from 100 ms to
// 5 s, until every subscription is READY; FAILED or INCOMPLETE, or the
// deadline, is an error; a cancelled ctx ends the wait at once. While it
// waits, it says for which standards (control.Waiting).
func waitStandardsReady(ctx context.Context, client *securityhub.Client, region string, subs []shSubscription) error {
	if len(subs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, shStandardsReadyDeadline)
	defer cancel()
	arns := make([]string, len(subs))
	names := map[string]string{}
	for i, s := range subs {
		arns[i] = s.SubscriptionARN
		names[s.SubscriptionARN] = s.Name
	}
	start := time.Now()
	announced, end := "", func() {}
	defer func() { end() }()
	wait := shStandardsFirstPoll
	for {
		now, err := enabledStandards(ctx, client, region, arns)
		if err != nil {
			return fmt.Errorf("securityhub: wait for standards in %s: %w", region, err)
		}
		pending, err := notReady(now)
		if err != nil {
			return fmt.Errorf("securityhub: standards in %s: %w", region, err)
		}
		if len(pending) == 0 {
			return nil
		}
		// The wait is announced once, and again only when fewer
		// standards remain; its start stays that of the whole wait.
		if what := "waiting for " + waitingFor(pending, names) + " to be READY"; what != announced {
			end()
			announced, end = what, control.Announce(ctx, control.Activity{What: what, Wait: true, Started: start})
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("securityhub: standards in %s still not ready after %s (%s): %w", region,
				time.Since(start).Round(time.Second), strings.Join(pending, ", "), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, shStandardsMaxPoll)
	}
}

// waitingFor names the pending subscriptions by their standards' names
// ("A", "A and B", "A, B and C").
func waitingFor(pending []string, names map[string]string) string {
	out := make([]string, len(pending))
	for i, arn := range pending {
		out[i] = cmp.Or(names[arn], arn)
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// notReady lists the subscriptions still PENDING; one FAILED or
// INCOMPLETE is an error.
func notReady(subs []shSubscription) ([]string, error) {
	var pending []string
	for _, s := range subs {
		switch shtypes.StandardsStatus(s.Status) {
		case shtypes.StandardsStatusReady:
		case shtypes.StandardsStatusPending:
			pending = append(pending, s.SubscriptionARN)
		default:
			return nil, fmt.Errorf("standard %s is %s", s.SubscriptionARN, s.Status)
		}
	}
	return pending, nil
}

func (SecurityHub) createAggregator(ctx context.Context, client *securityhub.Client, region string, j control.Journal) error {
	after := aggregatorAfter{Region: region, RegionLinkingMode: shAllRegions}
	err := j.Write(ctx, stepCreateAggregator, aggregatorPrior{Aggregator: "none"}, after, func(ctx context.Context) (any, error) {
		out, err := client.CreateFindingAggregator(ctx, &securityhub.CreateFindingAggregatorInput{
			RegionLinkingMode: aws.String(after.RegionLinkingMode)})
		if err != nil {
			return nil, err
		}
		return aggregatorCreated{ARN: aws.ToString(out.FindingAggregatorArn)}, nil
	})
	if err != nil {
		return fmt.Errorf("securityhub: create finding aggregator in %s: %w", region, err)
	}
	return nil
}

// undoEnableHub disables Security Hub only when harden enabled it: the hub
// carries harden's tags and the SubscribedAt time recorded at enable. A
// hub that holds standards or an aggregator harden did not make is drift
// (its other steps are undone first); --force disables it all the same.
func (c SecurityHub) undoEnableHub(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var enabled hubEnabled
	if _, err := control.DecodeResult(s, &enabled); err != nil {
		return control.Undo{}, err
	}
	client := env.AWS.SecurityHub(t.Region)
	hub, err := client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	if awserror.Is(err, shNotEnabledCode) {
		if !s.Done {
			return control.Nothing("the enabling of Security Hub in %s never happened", t.Region), nil
		}
		return control.Nothing("Security Hub in %s is already disabled", t.Region), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("securityhub: describe hub in %s: %w", t.Region, err)
	}
	tags, err := client.ListTagsForResource(ctx, &securityhub.ListTagsForResourceInput{ResourceArn: hub.HubArn})
	if err != nil {
		return control.Undo{}, fmt.Errorf("securityhub: list tags of %s: %w", aws.ToString(hub.HubArn), err)
	}
	disable := c.disableFunc(client, t.Region)
	if !s.Done {
		if tags.Tags[control.TagManagedBy] == control.TagManagedByID && tags.Tags[control.TagRun] == s.RunID {
			return control.Deleted(fmt.Sprintf("disable Security Hub in %s, whose enabling was not confirmed (its findings are deleted after 90 days)", t.Region), disable), nil
		}
		return control.Nothing("the enabling of Security Hub in %s never happened: the hub there is not from harden run %s", t.Region, s.RunID), nil
	}
	if why := notHardens(tags.Tags, s.RunID); why != "" {
		return control.Drift(nil, "Security Hub in %s is not the hub harden enabled: %s", t.Region, why), nil
	}
	if enabled.SubscribedAt != "" && aws.ToString(hub.SubscribedAt) != enabled.SubscribedAt {
		return control.Drift(nil, "Security Hub in %s was enabled again at %s, harden enabled it at %s", t.Region, aws.ToString(hub.SubscribedAt), enabled.SubscribedAt), nil
	}
	if drift, err := c.hubHoldsOthers(ctx, client, t, string(hub.ControlFindingGenerator)); err != nil || drift != "" {
		return control.Drift(disable, "Security Hub in %s changed since harden enabled it: %s", t.Region, drift), err
	}
	return control.Deleted(fmt.Sprintf("disable Security Hub in %s (its findings are deleted after 90 days)", t.Region), disable), nil
}

// hubHoldsOthers says what the hub holds that harden's enable did not
// leave: standards (harden's own standards steps run first), an aggregator
// in this region, or separate control findings.
func (SecurityHub) hubHoldsOthers(ctx context.Context, client *securityhub.Client, t control.Target, generator string) (string, error) {
	var why []string
	if generator != shConsolidated {
		why = append(why, "control findings: harden set consolidated, now one per standard")
	}
	subs, err := enabledStandards(ctx, client, t.Region, nil)
	if err != nil {
		return "", err
	}
	for _, s := range subs {
		why = append(why, "standard "+s.StandardsARN+" enabled since")
	}
	agg, err := findAggregator(ctx, client, t.Region)
	if err != nil {
		return "", err
	}
	if agg != nil && agg.Region == t.Region {
		why = append(why, "finding aggregator "+agg.ARN+" created since")
	}
	return strings.Join(why, "; "), nil
}

func (SecurityHub) disableFunc(client *securityhub.Client, region string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := client.DisableSecurityHub(ctx, &securityhub.DisableSecurityHubInput{})
		if err != nil && !awserror.Is(err, shNotEnabledCode) {
			return fmt.Errorf("securityhub: disable Security Hub in %s: %w", region, err)
		}
		return nil
	}
}

// undoUpdateHubConfig puts the control findings setting back.
func (SecurityHub) undoUpdateHubConfig(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after hubConfig
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	if ok, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	} else if !ok {
		after = hubConfig{shConsolidated}
	}
	client := env.AWS.SecurityHub(t.Region)
	hub, err := client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	if awserror.Is(err, shNotEnabledCode) {
		return control.Nothing("Security Hub in %s is disabled: no setting to restore", t.Region), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("securityhub: describe hub in %s: %w", t.Region, err)
	}
	field := func(v string) []setting { return []setting{{"ControlFindingGenerator", v}} }
	return settingsUndo("Security Hub's control findings in "+t.Region, field(string(hub.ControlFindingGenerator)), field(after.ControlFindingGenerator),
		field(prior.ControlFindingGenerator), func(ctx context.Context) error {
			if err := setGenerator(ctx, client, prior.ControlFindingGenerator); err != nil {
				return fmt.Errorf("securityhub: restore control findings in %s: %w", t.Region, err)
			}
			return nil
		}), nil
}

// undoEnableStandards disables the standards harden enabled, by the
// subscription ARNs BatchEnableStandards returned; those already disabled
// are left. An unconfirmed step disables the prior list's standards that
// are enabled now (their subscription ARNs are the standards' own).
func (SecurityHub) undoEnableStandards(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior standardsPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var created standardsEnabled
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	client := env.AWS.SecurityHub(t.Region)
	now, err := enabledStandards(ctx, client, t.Region, nil)
	if awserror.Is(err, shNotEnabledCode) {
		return control.Nothing("Security Hub in %s is disabled: its standards with it", t.Region), nil
	}
	if err != nil {
		return control.Undo{}, err
	}
	ours := map[string]bool{}
	for _, sub := range created.Subscriptions {
		ours[sub.SubscriptionARN] = true
	}
	if !s.Done {
		for _, st := range prior.Standards {
			for _, sub := range now {
				ours[sub.SubscriptionARN] = ours[sub.SubscriptionARN] || sub.StandardsARN == st.ARN
			}
		}
	}
	var arns, names []string
	for _, sub := range now {
		if ours[sub.SubscriptionARN] {
			arns = append(arns, sub.SubscriptionARN)
			names = append(names, standardName(prior.Standards, sub.StandardsARN))
		}
	}
	if len(arns) == 0 {
		return control.Nothing("the standards harden enabled in %s are already disabled", t.Region), nil
	}
	sort.Strings(names)
	return control.Restored(fmt.Sprintf("disable standards %s in %s", strings.Join(names, ", "), t.Region), func(ctx context.Context) error {
		_, err := client.BatchDisableStandards(ctx, &securityhub.BatchDisableStandardsInput{StandardsSubscriptionArns: arns})
		if err != nil {
			return fmt.Errorf("securityhub: disable standards in %s: %w", t.Region, err)
		}
		return nil
	}), nil
}

// undoCreateAggregator deletes the aggregator harden created, known by the
// ARN CreateFindingAggregator returned (aggregators take no tags). One
// relinked since is drift; --force deletes it all the same.
func (SecurityHub) undoCreateAggregator(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created aggregatorCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	after := aggregatorAfter{Region: t.Region, RegionLinkingMode: shAllRegions}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	client := env.AWS.SecurityHub(t.Region)
	agg, err := findAggregator(ctx, client, t.Region)
	if awserror.Is(err, shNotEnabledCode) {
		return control.Nothing("Security Hub in %s is disabled: no aggregator", t.Region), nil
	}
	if err != nil {
		return control.Undo{}, err
	}
	switch {
	case agg == nil && !s.Done:
		return control.Nothing("the creation of the finding aggregator in %s never happened", t.Region), nil
	case agg == nil:
		return control.Nothing("the finding aggregator harden created in %s is already gone", t.Region), nil
	case created.ARN == "":
		return control.Drift(nil, "finding aggregator %s: the journal does not prove harden created it (aggregators carry no tags)", agg.ARN), nil
	case agg.ARN != created.ARN:
		return control.Nothing("the finding aggregator harden created in %s (%s) is gone; %s is another", t.Region, created.ARN, agg.ARN), nil
	}
	del := func(ctx context.Context) error {
		_, err := client.DeleteFindingAggregator(ctx, &securityhub.DeleteFindingAggregatorInput{FindingAggregatorArn: aws.String(agg.ARN)})
		if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
			return fmt.Errorf("securityhub: delete finding aggregator %s: %w", agg.ARN, err)
		}
		return nil
	}
	if agg.Mode != after.RegionLinkingMode {
		return control.Drift(del, "finding aggregator %s: region linking: harden set %s, now %s", agg.ARN, after.RegionLinkingMode, agg.Mode), nil
	}
	return control.Deleted(fmt.Sprintf("delete the finding aggregator in %s (%s)", t.Region, agg.ARN), del), nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c SecurityHub) Steps() control.Steps {
	return control.Steps{
		stepEnableHub:        c.undoEnableHub,
		stepUpdateHubConfig:  c.undoUpdateHubConfig,
		stepEnableStandards:  c.undoEnableStandards,
		stepCreateAggregator: c.undoCreateAggregator,
	}
}
