package fakeaws_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

// Rollback proves an analyzer is harden's by its tags and creation time:
// both reads return them, and an analyzer recreated under the same name
// has the same ARN (AWS makes it from the name) but a later createdAt.
func TestAnalyzerTagsAndRecreation(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.AccessAnalyzer("eu-west-1")
	create := func(tags map[string]string) string {
		t.Helper()
		out, err := c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("a1"), Type: aatypes.TypeAccount, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Arn)
	}
	get := func() *aatypes.AnalyzerSummary {
		t.Helper()
		out, err := c.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("a1")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Analyzer
	}
	firstARN := create(map[string]string{"managed-by": "harden"})
	first := get()
	list, err := c.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{})
	if err != nil || len(list.Analyzers) != 1 || list.Analyzers[0].Tags["managed-by"] != "harden" {
		t.Fatalf("list does not return the tags: %+v, %v", list, err)
	}
	if first.Tags["managed-by"] != "harden" || first.CreatedAt == nil {
		t.Fatalf("get: tags %v, createdAt %v", first.Tags, first.CreatedAt)
	}
	if _, err := c.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String("a1")}); err != nil {
		t.Fatal(err)
	}
	secondARN := create(map[string]string{"owner": "security-team"})
	second := get()
	if secondARN != firstARN {
		t.Fatalf("recreated analyzer ARN %s, want the name-based %s", secondARN, firstARN)
	}
	if !second.CreatedAt.After(*first.CreatedAt) || second.Tags["owner"] != "security-team" || second.Tags["managed-by"] != "" {
		t.Fatalf("recreated analyzer: createdAt %v (first %v), tags %v", second.CreatedAt, first.CreatedAt, second.Tags)
	}
}
