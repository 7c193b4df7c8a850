package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/report/severity"
)

// knownRegions are the AWS region names completion offers for --regions,
// --exclude-regions and --region (the account decides which it has
// enabled; completion makes no AWS call).
var knownRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1",
	"cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
	"sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2",
}

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeList completes the last item of a comma-separated list from
// items, leaving out those already named.
func completeList(items func() []string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		named := map[string]bool{}
		for _, n := range strings.Split(done, ",") {
			named[n] = true
		}
		var out []string
		for _, it := range items() {
			if strings.HasPrefix(it, last) && !named[it] {
				out = append(out, done+it)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func completeWords(items func() []string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, it := range items() {
			if strings.HasPrefix(it, toComplete) {
				out = append(out, it)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func controlIDs() []string {
	var ids []string
	for _, c := range controls.All() {
		ids = append(ids, c.Info().ID)
	}
	return ids
}

func regionNames() []string { return knownRegions }

func formatNames() []string {
	var out []string
	for _, f := range report.Formats {
		out = append(out, string(f))
	}
	return out
}

func severityNames() []string {
	var out []string
	for _, s := range severity.Levels {
		out = append(out, string(s))
	}
	return out
}

// runIDs are the journaled apply runs in the state directory, every
// account's, newest first: completion cannot ask AWS which account it is.
func (g *globals) runIDs() []string {
	dir := g.stateDir
	if dir == "" {
		var err error
		if dir, err = journal.DefaultStateDir(); err != nil {
			return nil
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.jsonl"))
	var ids []string
	for _, f := range files {
		ids = append(ids, strings.TrimSuffix(filepath.Base(f), ".jsonl"))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids
}

// profiles are the profile names of the shared config and credentials
// files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/).
func (g *globals) profiles() []string {
	home, _ := os.UserHomeDir()
	files := []struct{ env, def string }{
		{"AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")},
		{"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials")},
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		path := f.def
		if g.getenv != nil && g.getenv(f.env) != "" {
			path = g.getenv(f.env)
		}
		for _, p := range profileNames(path) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// profileNames reads the section names of a shared config or credentials
// file: "[default]", "[profile dev]" (config) or "[dev]" (credentials).
func profileNames(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
			continue
		}
		name := strings.TrimSpace(line[1 : len(line)-1])
		if strings.HasPrefix(name, "sso-session ") || strings.HasPrefix(name, "services ") {
			continue
		}
		name = strings.TrimSpace(strings.TrimPrefix(name, "profile "))
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

// registerCompletions wires dynamic completion for the global flags.
func registerCompletions(root *cobra.Command, g *globals) {
	reg := func(flag string, f completeFunc) { _ = root.RegisterFlagCompletionFunc(flag, f) }
	reg("controls", completeList(controlIDs))
	reg("skip", completeList(controlIDs))
	reg("regions", completeList(regionNames))
	reg("exclude-regions", completeList(regionNames))
	reg("region", completeWords(regionNames))
	reg("output", completeWords(formatNames))
	reg("profile", completeWords(g.profiles))
	reg("report", completeWords(func() []string {
		var out []string
		for _, f := range formatNames() {
			if f != "table" {
				out = append(out, f+"=")
			}
		}
		return out
	}))
}
