package controls

import (
	"strings"
	"testing"
)

func TestResolveStandards(t *testing.T) {
	offered := []shStandard{
		{ARN: "fsbp", Name: "AWS Foundational Security Best Practices v1.0.0"},
		{ARN: "cis12", Name: "CIS AWS Foundations Benchmark v1.2.0"},
		{ARN: "cis14", Name: "CIS AWS Foundations Benchmark v1.4.0"},
		{ARN: "cis3", Name: "CIS AWS Foundations Benchmark v3.0.0"},
		{ARN: "cis10", Name: "CIS AWS Foundations Benchmark v10.0.0"},
	}
	for _, tc := range []struct {
		wanted        []string
		found, missed string
	}{
		{[]string{"CIS AWS Foundations Benchmark latest"}, "cis10", ""},
		{[]string{"CIS AWS Foundations Benchmark v1.4.0"}, "cis14", ""},
		{[]string{"AWS Foundational Security Best Practices v1.0.0", "NIST latest"}, "fsbp", "NIST latest"},
		{[]string{"CIS AWS Foundations Benchmark v9"}, "", "CIS AWS Foundations Benchmark v9"},
	} {
		found, missed := resolveStandards(tc.wanted, offered)
		var arns []string
		for _, f := range found {
			arns = append(arns, f.ARN)
		}
		if strings.Join(arns, ",") != tc.found || strings.Join(missed, ",") != tc.missed {
			t.Errorf("%v: found %v missed %v", tc.wanted, arns, missed)
		}
	}
}

func TestNewerVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"5.0.0", "3.0.0", true}, {"1.4.0", "1.2.0", true}, {"10.0.0", "9.9.9", true}, {"1.2", "1.2.0", false}, {"3.0.0", "5.0.0", false}} {
		if got := newerVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("newerVersion(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
