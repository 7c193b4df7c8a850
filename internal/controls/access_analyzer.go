package controls

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// AccessAnalyzer keeps an account-level (ACCOUNT) IAM Access Analyzer in
// every region. Any existing ACCOUNT analyzer counts: AWS allows one per
// region, so harden never adds a second. It does not create the paid
// unused-access analyzer.
type AccessAnalyzer struct{}

// AnalyzerName is the name of the analyzer harden creates.
const AnalyzerName = "harden-access-analyzer"

const stepCreateAnalyzer control.StepKind = "CreateAnalyzer"

type analyzerPrior struct {
	// Name of the analyzer the write creates; none existed before.
	Name string `json:"name"`
}

// analyzerAfter is the analyzer CreateAnalyzer makes.
type analyzerAfter struct {
	Name string            `json:"name"`
	Type string            `json:"type"`
	Tags map[string]string `json:"tags"`
}

// analyzerCreated is the step's result: the ARN CreateAnalyzer returned
// (format 1 recorded it too) and the creation time read right after.
type analyzerCreated struct {
	ARN       string     `json:"arn"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// analyzerSeen is an analyzer as rollback reads it.
type analyzerSeen struct {
	ARN       string
	CreatedAt *time.Time
	Tags      map[string]string
}

// notCreatedBy says why the analyzer seen is not the one a step of run
// runID created with result created, or "" when it is. A confirmed create
// always recorded the ARN; the creation time is compared when recorded
// (format 1 did not record it).
func (a analyzerSeen) notCreatedBy(created analyzerCreated, runID string) string {
	if created.ARN == "" {
		return "the journal records no ARN for the analyzer harden created"
	}
	if a.ARN != created.ARN {
		return fmt.Sprintf("its ARN is %s, harden created %s", a.ARN, created.ARN)
	}
	if a.Tags[control.TagManagedBy] != control.TagManagedByID {
		return fmt.Sprintf("it lacks harden's tag %s=%s", control.TagManagedBy, control.TagManagedByID)
	}
	if run, ok := a.Tags[control.TagRun]; ok && run != runID {
		return fmt.Sprintf("it was created by harden run %s, not %s", run, runID)
	}
	if created.CreatedAt != nil && (a.CreatedAt == nil || !a.CreatedAt.Equal(*created.CreatedAt)) {
		return fmt.Sprintf("it was created at %s, harden's at %s", timeText(a.CreatedAt), created.CreatedAt.Format(time.RFC3339Nano))
	}
	return ""
}

func timeText(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.Format(time.RFC3339Nano)
}

func (AccessAnalyzer) Info() control.Info {
	return control.Info{
		ID:           "access-analyzer",
		Title:        "IAM Access Analyzer",
		Scope:        control.Regional,
		Desired:      "an active account-level (ACCOUNT) analyzer exists in the region",
		SecurityHub:  []string{"IAM.28"},
		CIS:          []string{"1.20"},
		ReadActions:  []string{"access-analyzer:ListAnalyzers"},
		WriteActions: []string{"access-analyzer:CreateAnalyzer", "access-analyzer:DeleteAnalyzer", "access-analyzer:TagResource", "iam:CreateServiceLinkedRole"},
		Cost:         control.Cost{Drivers: "free: an external access analyzer costs nothing (unused-access analyzers, which harden does not create, are billed)"},
	}
}

func (AccessAnalyzer) accountAnalyzers(ctx context.Context, env *control.Env, region string) ([]aatypes.AnalyzerSummary, error) {
	var out []aatypes.AnalyzerSummary
	p := accessanalyzer.NewListAnalyzersPaginator(env.AWS.AccessAnalyzer(region),
		&accessanalyzer.ListAnalyzersInput{Type: aatypes.TypeAccount})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("access-analyzer: list analyzers in %s: %w", region, err)
		}
		out = append(out, page.Analyzers...)
	}
	return out, nil
}

var analyzerChange = control.Change{Field: "ACCOUNT analyzer", Current: "none", Desired: AnalyzerName}

func (c AccessAnalyzer) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	list, err := c.accountAnalyzers(ctx, env, t.Region)
	if err != nil {
		return control.Finding{}, err
	}
	for _, a := range list {
		if a.Status == aatypes.AnalyzerStatusActive || a.Status == aatypes.AnalyzerStatusCreating {
			f := control.Finding{Compliant: true}
			if name := aws.ToString(a.Name); name != AnalyzerName {
				f.Note = fmt.Sprintf("existing analyzer %q counts", name)
			}
			return f, nil
		}
	}
	if len(list) > 0 {
		a := list[0]
		why := "no reason given"
		if a.StatusReason != nil {
			why = string(a.StatusReason.Code)
		}
		return control.Finding{
			Changes:   []control.Change{{Field: "ACCOUNT analyzer " + aws.ToString(a.Name), Current: string(a.Status), Desired: "ACTIVE"}},
			Unmanaged: fmt.Sprintf("analyzer %q is %s and AWS allows one per region: fix or delete it (%s)", aws.ToString(a.Name), a.Status, why),
		}, nil
	}
	return control.Finding{Action: control.ActionCreate, Changes: []control.Change{analyzerChange}}, nil
}

func (c AccessAnalyzer) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	f, err := c.Check(ctx, env, t)
	if err != nil || f.Compliant || f.Unmanaged != "" {
		return nil, err
	}
	after := analyzerAfter{Name: AnalyzerName, Type: string(aatypes.TypeAccount), Tags: control.Tags(j.RunID())}
	err = j.Write(ctx, stepCreateAnalyzer, analyzerPrior{Name: AnalyzerName}, after, func(ctx context.Context) (any, error) {
		return c.create(ctx, env, t.Region, after)
	})
	if awserror.Is(err, "ConflictException") {
		return nil, fmt.Errorf("access-analyzer: create analyzer %q in %s: an analyzer of another type already has that name: %w", AnalyzerName, t.Region, err)
	}
	if err != nil {
		return nil, fmt.Errorf("access-analyzer: create analyzer %q in %s: %w", AnalyzerName, t.Region, err)
	}
	return []control.Change{analyzerChange}, nil
}

// create makes the analyzer and reads back its creation time: AWS makes
// an analyzer's ARN from its name, so only the creation time tells harden's
// analyzer from one recreated under the same name. When that read fails
// the analyzer still exists: the result then holds the ARN alone.
func (c AccessAnalyzer) create(ctx context.Context, env *control.Env, region string, a analyzerAfter) (analyzerCreated, error) {
	out, err := env.AWS.AccessAnalyzer(region).CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String(a.Name),
		Type:         aatypes.Type(a.Type),
		Tags:         a.Tags,
	})
	if err != nil {
		return analyzerCreated{}, err
	}
	created := analyzerCreated{ARN: aws.ToString(out.Arn)}
	if seen, found, err := c.find(ctx, env, region, a.Name); err == nil && found && seen.ARN == created.ARN {
		created.CreatedAt = seen.CreatedAt
	}
	return created, nil
}

// find reads the analyzer named name, of any type.
func (AccessAnalyzer) find(ctx context.Context, env *control.Env, region, name string) (analyzerSeen, bool, error) {
	p := accessanalyzer.NewListAnalyzersPaginator(env.AWS.AccessAnalyzer(region), &accessanalyzer.ListAnalyzersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return analyzerSeen{}, false, fmt.Errorf("access-analyzer: list analyzers in %s: %w", region, err)
		}
		for _, a := range page.Analyzers {
			if aws.ToString(a.Name) == name {
				return analyzerSeen{ARN: aws.ToString(a.Arn), CreatedAt: a.CreatedAt, Tags: a.Tags}, true, nil
			}
		}
	}
	return analyzerSeen{}, false, nil
}

// undoCreate deletes the analyzer the step created, and only that one:
// it must still have the ARN and creation time CreateAnalyzer gave it and
// carry harden's tags (with the step's run, when tagged with one). A
// same-named analyzer that fails any of these is someone else's: drift,
// never deleted, not even with --force.
func (c AccessAnalyzer) undoCreate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior analyzerPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var created analyzerCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	hasAfter, err := control.DecodeAfter(s, &analyzerAfter{})
	if err != nil {
		return control.Undo{}, err
	}
	seen, found, err := c.find(ctx, env, t.Region, prior.Name)
	if err != nil {
		return control.Undo{}, err
	}
	if !found {
		if !s.Done {
			return control.Nothing("the creation of analyzer %s in %s never happened", prior.Name, t.Region), nil
		}
		return control.Nothing("analyzer %s in %s is already gone", prior.Name, t.Region), nil
	}
	if !s.Done {
		return c.undoUnconfirmedCreate(env, t, s, prior.Name, seen, hasAfter), nil
	}
	if why := seen.notCreatedBy(created, s.RunID); why != "" {
		return control.Drift(nil, "analyzer %s in %s is not the one harden created: %s", prior.Name, t.Region, why), nil
	}
	return control.Deleted(fmt.Sprintf("delete analyzer %s in %s", prior.Name, t.Region), c.deleteFunc(env, t.Region, prior.Name)), nil
}

// undoUnconfirmedCreate resolves a CreateAnalyzer that may or may not have
// happened: the analyzer is the step's when it carries harden's tags with
// the step's run. Format 1 tagged no run: there managed-by=harden without
// a run tag suffices, as AWS allows one ACCOUNT analyzer per region and
// harden creates one only where none exists.
func (c AccessAnalyzer) undoUnconfirmedCreate(env *control.Env, t control.Target, s control.Step, name string, seen analyzerSeen, hasAfter bool) control.Undo {
	run, tagged := seen.Tags[control.TagRun]
	ours := seen.Tags[control.TagManagedBy] == control.TagManagedByID &&
		((tagged && run == s.RunID) || (!tagged && !hasAfter))
	if !ours {
		return control.Nothing("the creation of analyzer %s in %s never happened: the analyzer of that name there is not from harden run %s", name, t.Region, s.RunID)
	}
	return control.Deleted(fmt.Sprintf("delete analyzer %s in %s (%s), whose creation was not confirmed", name, t.Region, seen.ARN),
		c.deleteFunc(env, t.Region, name))
}

func (AccessAnalyzer) deleteFunc(env *control.Env, region, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := env.AWS.AccessAnalyzer(region).DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String(name)})
		if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
			return fmt.Errorf("access-analyzer: delete analyzer %q in %s: %w", name, region, err)
		}
		return nil
	}
}

// Steps lists the writes Apply makes, each with its undo.
func (c AccessAnalyzer) Steps() control.Steps {
	return control.Steps{
		stepCreateAnalyzer: c.undoCreate,
	}
}
