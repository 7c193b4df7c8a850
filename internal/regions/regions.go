// Package regions finds the regions a run covers: the account's enabled
// regions, or those the user named, with every other region listed as
// skipped and why.
package regions

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Skip is a region left out of a run, and why.
type Skip struct {
	Region string `json:"region"`
	Reason string `json:"reason"`
}

// Set is the outcome of region discovery.
type Set struct {
	// Enabled are the regions the run covers, sorted.
	Enabled []string
	// Skipped are regions that exist but are left out, sorted.
	Skipped []Skip
	// OptIn is every region's opt-in status, selected or not.
	OptIn map[string]string
}

// IsEnabled reports whether the account can use region.
func (s Set) IsEnabled(region string) bool {
	st := s.OptIn[region]
	return st == "opt-in-not-required" || st == "opted-in"
}

// UnknownRegionError is a region name the account's partition does not have.
type UnknownRegionError struct{ Region string }

func (e *UnknownRegionError) Error() string {
	return fmt.Sprintf("unknown region %q: run 'aws ec2 describe-regions --all-regions' for the names", e.Region)
}

// DescribeRegionsAPI is the one EC2 call discovery needs.
type DescribeRegionsAPI interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// Discover lists all regions with their opt-in status and selects the run's
// regions: want, or every enabled region when want is empty. A region in
// want that is not enabled is skipped, not an error; a name that is not a
// region is an *UnknownRegionError.
func Discover(ctx context.Context, api DescribeRegionsAPI, homeRegion string, want []string) (Set, error) {
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return Set{}, fmt.Errorf("ec2: describe regions in %s: %w", homeRegion, err)
	}
	status := map[string]string{}
	for _, r := range out.Regions {
		status[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
	}
	for _, r := range want {
		if _, ok := status[r]; !ok {
			return Set{}, &UnknownRegionError{Region: r}
		}
	}
	wanted := map[string]bool{}
	for _, r := range want {
		wanted[r] = true
	}
	set := Set{OptIn: status}
	names := make([]string, 0, len(status))
	for n := range status {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		enabled := status[n] == "opt-in-not-required" || status[n] == "opted-in"
		switch {
		case len(want) > 0 && !wanted[n]:
			// Not asked for: not mentioned either.
		case enabled:
			set.Enabled = append(set.Enabled, n)
		default:
			set.Skipped = append(set.Skipped, Skip{Region: n, Reason: fmt.Sprintf("not enabled for this account (opt-in status %s)", status[n])})
		}
	}
	return set, nil
}

// Exclude returns the set without the regions in exclude: they move from
// Enabled to Skipped, reported as excluded by the configuration.
func (s Set) Exclude(exclude []string) Set {
	if len(exclude) == 0 {
		return s
	}
	drop := map[string]bool{}
	for _, r := range exclude {
		drop[r] = true
	}
	out := Set{OptIn: s.OptIn}
	for _, r := range s.Enabled {
		if drop[r] {
			out.Skipped = append(out.Skipped, Skip{Region: r, Reason: "excluded by the configuration (regions.exclude or --exclude-regions)"})
			continue
		}
		out.Enabled = append(out.Enabled, r)
	}
	for _, sk := range s.Skipped {
		if !drop[sk.Region] {
			out.Skipped = append(out.Skipped, sk)
		}
	}
	sort.Slice(out.Skipped, func(i, j int) bool { return out.Skipped[i].Region < out.Skipped[j].Region })
	return out
}
