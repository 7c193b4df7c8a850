package controls

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/detective"
	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// Detective keeps an Amazon Detective behavior graph in every region. It
// needs GuardDuty: until the region's detector has been enabled for the
// settings' hours (48 by default), the target is deferred, neither a change
// nor an error, and a later apply creates the graph. Any existing graph
// counts (AWS allows one per account and region).
//
// Whether AWS still requires the 48 hours is uncertain, so harden works
// under both readings. Older CreateGraph references said: "Before you try
// to enable Detective, make sure that your account has been enrolled in
// Amazon GuardDuty for at least 48 hours. If you do not meet this
// requirement, you cannot enable Detective", and listed, under
// ServiceQuotaExceededException, "Detective is unable to verify the data
// rate for the member account. This is usually because the member account
// is not enrolled in Amazon GuardDuty". The current reference
// (https://docs.aws.amazon.com/detective/latest/APIReference/API_CreateGraph.html,
// and the doc comment of CreateGraph in aws-sdk-go-v2 service/detective
// v1.39.1) has neither sentence, and the prerequisites page
// (https://docs.aws.amazon.com/detective/latest/userguide/detective-prerequisites.html)
// lists only IAM permissions and the CLI version. So: by default harden
// still waits the 48 hours (no write is tried while AWS might refuse it);
// with guardduty_min_age_hours lower, apply tries CreateGraph, and if AWS
// refuses with ServiceQuotaExceededException while GuardDuty is younger
// than 48 hours, the target is deferred until the 48 hours are over
// (control.DeferredError), not an error.
type Detective struct{}

const stepCreateGraph control.StepKind = "CreateGraph"

// guardDutyAgeAWS is how long older AWS references said GuardDuty must
// have been enabled before CreateGraph.
const guardDutyAgeAWS = 48 * time.Hour

// DetectiveSettings set the GuardDuty prerequisite.
type DetectiveSettings struct {
	GuardDutyHours int `yaml:"guardduty_min_age_hours" doc:"hours GuardDuty must have been enabled in a region before harden creates the behavior graph there (older AWS references asked for 48; the current ones no longer say so); 0 tries as soon as GuardDuty is enabled, and if AWS refuses within GuardDuty's first 48 hours the target is deferred until then"`
}

// Validate refuses a negative age.
func (s *DetectiveSettings) Validate() error {
	if s.GuardDutyHours < 0 {
		return control.FieldErrorf("guardduty_min_age_hours", "must be 0 or more, got %d", s.GuardDutyHours)
	}
	return nil
}

// DefaultDetectiveSettings: 48 hours.
func DefaultDetectiveSettings() *DetectiveSettings { return &DetectiveSettings{GuardDutyHours: 48} }

// NewSettings returns the default settings.
func (Detective) NewSettings() control.ControlSettings { return DefaultDetectiveSettings() }

func (Detective) Info() control.Info {
	return control.Info{
		ID:          "detective",
		Title:       "Detective behavior graph",
		Scope:       control.Regional,
		Desired:     "an Amazon Detective behavior graph exists in the region (once GuardDuty has been enabled for 48 hours)",
		Destructive: true,
		DependsOn:   []string{"guardduty"},
		ReadActions: []string{"detective:ListGraphs", "detective:ListTagsForResource", "guardduty:ListDetectors", "guardduty:GetDetector"},
		WriteActions: []string{"detective:CreateGraph", "detective:DeleteGraph", "detective:TagResource",
			"iam:CreateServiceLinkedRole"},
		Service: "detective",
		Cost: control.Cost{UsageBased: true,
			Drivers: "GB ingested into the behavior graph (CloudTrail management events, VPC flow logs, GuardDuty findings, EKS audit logs); 30-day free trial per region"},
	}
}

// graphSeen is a behavior graph as harden reads it.
type graphSeen struct {
	ARN  string
	Tags map[string]string
}

// detectiveState is what Check reads: the graph, if any, and since when
// GuardDuty is enabled in the region.
type detectiveState struct {
	Graph        *graphSeen
	GuardDutyOn  bool
	GuardDutyAge time.Time
}

func (c Detective) read(ctx context.Context, env *control.Env, region string) (detectiveState, error) {
	var st detectiveState
	var g errgroup.Group
	g.Go(func() (err error) {
		st.Graph, err = c.graph(ctx, env, region)
		return err
	})
	g.Go(func() (err error) {
		st.GuardDutyAge, st.GuardDutyOn, err = detectorCreatedAt(ctx, env, region)
		return err
	})
	return st, g.Wait()
}

// graph returns the account's graph in region (without its tags), or nil.
func (Detective) graph(ctx context.Context, env *control.Env, region string) (*graphSeen, error) {
	p := detective.NewListGraphsPaginator(env.AWS.Detective(region), &detective.ListGraphsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("detective: list graphs in %s: %w", region, err)
		}
		if len(page.GraphList) > 0 {
			return &graphSeen{ARN: aws.ToString(page.GraphList[0].Arn)}, nil
		}
	}
	return nil, nil
}

var graphChange = control.Change{Field: "behavior graph", Current: "none", Desired: "created"}

func (c Detective) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t.Region)
	if err != nil {
		return control.Finding{}, err
	}
	return c.finding(env, st, time.Now()), nil
}

// finding decides from what was read: a graph is compliant; without one,
// the target is deferred until GuardDuty is old enough.
func (Detective) finding(env *control.Env, st detectiveState, now time.Time) control.Finding {
	if st.Graph != nil {
		return control.Finding{Compliant: true}
	}
	f := control.Finding{Action: control.ActionCreate, Changes: []control.Change{graphChange}}
	if until, deferred := deferredUntil(env, st, now); deferred {
		f.Deferred = deferralReason(env, st, until)
		if st.GuardDutyOn {
			f.DeferredUntil = until
		}
	}
	return f
}

// deferredUntil returns when the graph may be created, and whether that is
// still to come. GuardDuty not enabled yet counts from now (the guardduty
// control enables it in the same run).
func deferredUntil(env *control.Env, st detectiveState, now time.Time) (time.Time, bool) {
	hours := time.Duration(control.SettingsOf(env, "detective", DefaultDetectiveSettings()).GuardDutyHours) * time.Hour
	since := now
	if st.GuardDutyOn {
		since = st.GuardDutyAge
	}
	until := since.Add(hours)
	return until, !st.GuardDutyOn || now.Before(until)
}

func deferralReason(env *control.Env, st detectiveState, until time.Time) string {
	hours := control.SettingsOf(env, "detective", DefaultDetectiveSettings()).GuardDutyHours
	if !st.GuardDutyOn {
		return fmt.Sprintf("deferred: GuardDuty must have been enabled for %d hours (it is not enabled yet; apply enables it, and an apply %d hours later creates the graph)", hours, hours)
	}
	return fmt.Sprintf("deferred until %s: GuardDuty must have been enabled for %d hours", until.UTC().Format(time.RFC3339), hours)
}

// The journal's types for CreateGraph.
type (
	graphPrior struct {
		Graph string `json:"graph"`
	}
	graphAfter struct {
		Tags map[string]string `json:"tags"`
	}
	graphCreated struct {
		ARN string `json:"arn"`
	}
)

func (c Detective) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t.Region)
	if err != nil {
		return nil, err
	}
	f := c.finding(env, st, time.Now())
	if f.Compliant || f.Deferred != "" {
		return nil, nil
	}
	after := graphAfter{Tags: control.Tags(j.RunID())}
	err = j.Write(ctx, stepCreateGraph, graphPrior{Graph: "none"}, after, func(ctx context.Context) (any, error) {
		out, err := env.AWS.Detective(t.Region).CreateGraph(ctx, &detective.CreateGraphInput{Tags: after.Tags})
		if err != nil {
			return nil, err
		}
		return graphCreated{ARN: aws.ToString(out.GraphArn)}, nil
	})
	if err != nil {
		if until := st.GuardDutyAge.Add(guardDutyAgeAWS); awserror.Is(err, "ServiceQuotaExceededException") && time.Now().Before(until) {
			return nil, &control.DeferredError{Until: until, Reason: fmt.Sprintf("deferred until %s: AWS refused the behavior graph "+
				"while GuardDuty has been enabled for less than 48 hours (%v)", until.UTC().Format(time.RFC3339), err)}
		}
		return nil, fmt.Errorf("detective: create behavior graph in %s: %w", t.Region, err)
	}
	return f.Changes, nil
}

func (Detective) tags(ctx context.Context, env *control.Env, region, arn string) (map[string]string, error) {
	out, err := env.AWS.Detective(region).ListTagsForResource(ctx, &detective.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("detective: list tags of %s: %w", arn, err)
	}
	return out.Tags, nil
}

// undoCreateGraph deletes the graph the step created, and only that one:
// the ARN CreateGraph returned (a graph made later has another) and
// harden's tags with the step's run.
func (c Detective) undoCreateGraph(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created graphCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	g, err := c.graph(ctx, env, t.Region)
	if err != nil {
		return control.Undo{}, err
	}
	if g == nil {
		if !s.Done {
			return control.Nothing("the creation of a behavior graph in %s never happened", t.Region), nil
		}
		return control.Nothing("the behavior graph harden created in %s is already gone", t.Region), nil
	}
	tags, err := c.tags(ctx, env, t.Region, g.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	del := c.deleteFunc(env, t.Region, g.ARN)
	if !s.Done {
		if tags[control.TagManagedBy] == control.TagManagedByID && tags[control.TagRun] == s.RunID {
			return control.Deleted(fmt.Sprintf("delete behavior graph %s, whose creation was not confirmed (its data is deleted with it)", g.ARN), del), nil
		}
		return control.Nothing("the creation of a behavior graph in %s never happened: %s is not from harden run %s", t.Region, g.ARN, s.RunID), nil
	}
	switch {
	case created.ARN == "":
		return control.Drift(nil, "the journal records no ARN for the behavior graph harden created in %s", t.Region), nil
	case g.ARN != created.ARN:
		return control.Nothing("the behavior graph harden created in %s (%s) is gone; %s is another", t.Region, created.ARN, g.ARN), nil
	}
	if why := notHardens(tags, s.RunID); why != "" {
		return control.Drift(nil, "behavior graph %s is not the one harden created: %s", g.ARN, why), nil
	}
	return control.Deleted(fmt.Sprintf("delete behavior graph %s (its data is deleted with it)", g.ARN), del), nil
}

func (Detective) deleteFunc(env *control.Env, region, arn string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := env.AWS.Detective(region).DeleteGraph(ctx, &detective.DeleteGraphInput{GraphArn: aws.String(arn)})
		if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
			return fmt.Errorf("detective: delete behavior graph %s: %w", arn, err)
		}
		return nil
	}
}

// Steps lists the writes Apply makes, each with its undo.
func (c Detective) Steps() control.Steps {
	return control.Steps{stepCreateGraph: c.undoCreateGraph}
}
