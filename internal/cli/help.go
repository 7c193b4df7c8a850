package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// helpTemplate is cobra's default help template with the long text
// wrapped to 80 columns.
const helpTemplate = `{{with (or .Long .Short)}}{{wrap80 . | trimTrailingWhitespaces}}

{{end}}{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}`

func init() {
	// cobra's template functions are global; wrap80 is harden's only one.
	cobra.AddTemplateFunc("wrap80", wrap80)
}

// wrap80 re-flows each paragraph of s (lines separated by a blank line)
// to 80 columns; a paragraph with indented lines (a list, an example)
// keeps its lines, each wrapped on its own if longer than 80.
func wrap80(s string) string {
	paras := strings.Split(s, "\n\n")
	for i, p := range paras {
		lines := strings.Split(p, "\n")
		indented := false
		for _, l := range lines {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
				indented = true
			}
		}
		if !indented {
			paras[i] = wrapAtSpaces80(strings.Join(strings.Fields(p), " "), "")
			continue
		}
		for j, l := range lines {
			if len([]rune(l)) > 80 {
				indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
				lines[j] = wrapAtSpaces80(strings.TrimSpace(l), indent+"  ")
				lines[j] = indent + strings.TrimPrefix(lines[j], "")
			}
		}
		paras[i] = strings.Join(lines, "\n")
	}
	return strings.Join(paras, "\n\n")
}

// wrapAtSpaces80 wraps s at spaces to 80 columns; continuation lines
// start with indent.
func wrapAtSpaces80(s, indent string) string {
	var b strings.Builder
	col := 0
	for i, w := range strings.Fields(s) {
		n := len([]rune(w))
		switch {
		case i == 0:
		case col+1+n > 80:
			b.WriteString("\n" + indent)
			col = len(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

// usageTemplate is cobra's default usage template with the flag lists
// wrapped to 80 columns (cobra prints them unwrapped).
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}

Available Commands:{{range $cmds}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsagesWrapped 80 | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsagesWrapped 80 | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

// Examples of each command, shown by --help.
const (
	rootExample = `  harden plan                           # what would change, in every region
  harden apply                          # show the plan, ask, apply, re-check
  harden audit -o sarif > harden.sarif  # for GitHub code scanning
  harden rollback                       # undo every pending apply run`
	planExample = `  harden plan
  harden plan --regions eu-west-1,us-east-1 --controls ebs-default-encryption
  harden plan -out plan.json           # then: harden apply plan.json
  harden plan --detail                 # one row per region`
	auditExample = `  harden audit
  harden audit -o json > audit.json
  harden audit --report sarif=harden.sarif --report markdown=summary.md
  harden audit --fail-on high          # exit 2 only for high and critical`
	applyExample = `  harden apply
  harden apply --yes --controls iam-password-policy
  harden apply plan.json               # exactly a saved, reviewed plan`
	rollbackExample = `  harden rollback
  harden rollback --list
  harden rollback --run 20261124T101500Z-3f2a --yes
  harden rollback --controls ebs-default-encryption --regions eu-west-1`
	controlsExample = `  harden controls
  harden controls -o json
  harden controls -o markdown`
	iamPolicyExample = `  harden iam-policy                    # for plan and audit
  harden iam-policy --for apply > harden-apply-policy.json
  harden iam-policy --for rollback --controls log-archive,cloudtrail`
	configExample = `  harden config init
  harden config show
  harden config schema > harden.schema.json`
)
