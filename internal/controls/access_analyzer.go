package controls

import (
	"context"
	"fmt"

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

type analyzerPrior struct {
	// Name of the analyzer the write creates; none existed before.
	Name string `json:"name"`
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
	err = j.Write(ctx, "CreateAnalyzer", analyzerPrior{Name: AnalyzerName}, nil, func(ctx context.Context) (any, error) {
		out, err := env.AWS.AccessAnalyzer(t.Region).CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
			AnalyzerName: aws.String(AnalyzerName),
			Type:         aatypes.TypeAccount,
			Tags:         map[string]string{"managed-by": "harden"},
		})
		if err != nil {
			return nil, err
		}
		return map[string]string{"arn": aws.ToString(out.Arn)}, nil
	})
	if awserror.Is(err, "ConflictException") {
		return nil, fmt.Errorf("access-analyzer: create analyzer %q in %s: an analyzer of another type already has that name: %w", AnalyzerName, t.Region, err)
	}
	if err != nil {
		return nil, fmt.Errorf("access-analyzer: create analyzer %q in %s: %w", AnalyzerName, t.Region, err)
	}
	return []control.Change{analyzerChange}, nil
}

func (AccessAnalyzer) rollbackStep(ctx context.Context, env *control.Env, t control.Target, s control.Step) error {
	var prior analyzerPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return err
	}
	_, err := env.AWS.AccessAnalyzer(t.Region).DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String(prior.Name)})
	if err != nil && !awserror.Is(err, "ResourceNotFoundException") {
		return fmt.Errorf("access-analyzer: delete analyzer %q in %s: %w", prior.Name, t.Region, err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c AccessAnalyzer) Steps() control.Steps {
	return control.Steps{
		"CreateAnalyzer": blindUndo(c.rollbackStep),
	}
}
