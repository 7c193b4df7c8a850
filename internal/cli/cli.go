// Package cli is harden's command line: the cobra commands, their flags,
// and the mapping from outcomes to exit codes.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/regions"
	"github.com/harden-dev/harden/internal/report"
)

// IO is where a command reads and writes, and what it knows of the
// terminal and environment.
type IO struct {
	In        io.Reader
	Out, Err  io.Writer
	StdinTTY  bool
	StdoutTTY bool
	Width     int
	Getenv    func(string) string
}

// SystemIO is the process's own standard streams.
func SystemIO() IO {
	width := 0
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
		width = w
	}
	return IO{
		In:        os.Stdin,
		Out:       os.Stdout,
		Err:       os.Stderr,
		StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		Width:     width,
		Getenv:    os.Getenv,
	}
}

// globals are the flags every command takes.
type globals struct {
	profile     string
	region      string
	regions     []string
	allRegions  bool
	only        []string
	skip        []string
	output      string
	noColor     bool
	endpointURL string
	stateDir    string
	concurrency int
	logBucket   string
	retention   int
}

// Main runs harden with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdio IO) int {
	root := newRoot(stdio)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if ctx.Err() != nil && code != ExitOK {
		code = ExitInterrupted
	}
	var ee *exitError
	if err != nil && (!errors.As(err, &ee) || ee.err != nil) {
		fmt.Fprintln(stdio.Err, "harden: "+oneLine(err.Error()))
		if code == ExitUsage {
			fmt.Fprintln(stdio.Err, "Run 'harden --help' for usage.")
		}
	}
	return code
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

func newRoot(stdio IO) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "harden",
		Short: "Bring an AWS account to a secure baseline, audit it, and roll back what changed",
		Long: `harden checks an AWS account against a security baseline, applies the smallest
changes that reach it (journaling each one first), audits it in CI, and rolls back
exactly what it changed.

Exit codes: 0 compliant/no changes, 2 changes pending (plan) or findings (audit),
1 an error (wins over 2), 64 usage error, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	f := root.PersistentFlags()
	defaultStateDir := stdio.Getenv("HARDEN_STATE_DIR")
	f.StringVar(&g.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	f.StringVar(&g.region, "region", "", "home region, where account-wide controls run (default: the AWS config's region, else us-east-1)")
	f.StringSliceVar(&g.regions, "regions", nil, "regions to cover, comma-separated (default: every region enabled for the account)")
	f.BoolVar(&g.allRegions, "all-regions", false, "cover every region enabled for the account (the default; exclusive with --regions)")
	f.StringSliceVar(&g.only, "controls", nil, "run only these controls, comma-separated (see 'harden controls')")
	f.StringSliceVar(&g.skip, "skip", nil, "skip these controls, comma-separated")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table, text or json (table is plain text when not on a terminal)")
	f.BoolVar(&g.noColor, "no-color", false, "no colour or styling (also when NO_COLOR or CI is set)")
	f.StringVar(&g.endpointURL, "endpoint-url", "", "send every AWS call to this endpoint (overrides AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>)")
	f.StringVar(&g.stateDir, "state-dir", defaultStateDir, "where apply journals are kept (default: $HARDEN_STATE_DIR, else $XDG_STATE_HOME/harden or ~/.local/state/harden)")
	f.IntVar(&g.concurrency, "concurrency", 64, "how many control-region targets run at once")
	f.StringVar(&g.logBucket, "log-bucket", "", "log-archive bucket name (default harden-logs-<account-id>-<home-region>)")
	f.IntVar(&g.retention, "log-retention-days", 365, "days the log archive keeps log objects and their old versions")

	root.AddCommand(
		newPlanCmd(g, stdio),
		newAuditCmd(g, stdio),
		newApplyCmd(g, stdio),
		newRollbackCmd(g, stdio),
		newControlsCmd(g, stdio),
		newVersionCmd(stdio),
	)
	return root
}

// validate checks the flags that need no AWS call.
func (g *globals) validate() error {
	if g.allRegions && len(g.regions) > 0 {
		return usagef("--regions and --all-regions cannot be used together")
	}
	if g.retention < 1 {
		return usagef("--log-retention-days must be at least 1, got %d", g.retention)
	}
	if g.concurrency < 1 {
		return usagef("--concurrency must be at least 1, got %d", g.concurrency)
	}
	if _, err := report.ParseFormat(g.output); err != nil {
		return &usageError{err}
	}
	for _, r := range g.regions {
		if strings.TrimSpace(r) == "" {
			return usagef("--regions has an empty region name")
		}
	}
	if _, err := g.selectControls(); err != nil {
		return err
	}
	return nil
}

func (g *globals) selectControls() ([]control.Control, error) {
	sel, err := controls.Select(controls.All(), g.only, g.skip)
	if err != nil {
		return nil, &usageError{err}
	}
	return engine.Order(sel)
}

func (g *globals) reportOptions(stdio IO) report.Options {
	format, _ := report.ParseFormat(g.output)
	styled := stdio.StdoutTTY && !g.noColor && stdio.Getenv("NO_COLOR") == "" &&
		stdio.Getenv("CI") == "" && stdio.Getenv("TERM") != "dumb"
	return report.Options{Format: format, Styled: styled, Width: stdio.Width}
}

// session is what a command that talks to AWS has set up.
type session struct {
	clients  *awsclient.Clients
	account  string
	home     string
	regions  regions.Set
	controls []control.Control
	settings control.Settings
}

func (s *session) env() *control.Env {
	return &control.Env{AWS: s.clients, Settings: s.settings}
}

func (s *session) run(concurrency int) *engine.Run {
	return &engine.Run{
		Controls:    s.controls,
		Env:         s.env(),
		AccountID:   s.account,
		HomeRegion:  s.home,
		Regions:     s.regions.Enabled,
		Concurrency: concurrency,
	}
}

// connect loads credentials, finds the account and, when withRegions is
// set, the regions to cover.
func (g *globals) connect(ctx context.Context, withRegions bool) (*session, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	sel, _ := g.selectControls()
	clients, err := awsclient.Load(ctx, awsclient.Options{Profile: g.profile, Region: g.region, EndpointURL: g.endpointURL})
	if err != nil {
		return nil, err
	}
	account, err := clients.AccountID(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w (check the credentials and network access to AWS)", err)
	}
	s := &session{clients: clients, account: account, home: clients.HomeRegion(), controls: sel,
		settings: control.Settings{LogBucket: g.logBucket, LogRetentionDays: g.retention}}
	if withRegions {
		s.regions, err = regions.Discover(ctx, clients.EC2(s.home), s.home, g.regions)
		var unknown *regions.UnknownRegionError
		if errors.As(err, &unknown) {
			return nil, &usageError{err}
		}
		if err != nil {
			return nil, err
		}
		if _, known := s.regions.OptIn[s.home]; !known {
			return nil, &usageError{&regions.UnknownRegionError{Region: s.home}}
		}
		if !s.regions.IsEnabled(s.home) && needsHome(sel) {
			return nil, usagef("home region %s is not enabled for account %s: choose another with --region", s.home, account)
		}
	}
	return s, nil
}

func needsHome(cs []control.Control) bool {
	for _, c := range cs {
		if c.Info().Scope == control.Account {
			return true
		}
	}
	return false
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// openJournal opens the account's journal store.
func (g *globals) openJournal(account string) (*journal.Store, error) {
	dir := g.stateDir
	if dir == "" {
		var err error
		if dir, err = journal.DefaultStateDir(); err != nil {
			return nil, fmt.Errorf("find the state directory: %w (set --state-dir)", err)
		}
	}
	return journal.Open(dir, account)
}

// confirm asks on a terminal; without one it refuses unless --yes.
func confirm(stdio IO, yes bool, question string) error {
	if yes {
		return nil
	}
	if !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	fmt.Fprintf(stdio.Err, "\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
	line, err := bufio.NewReader(stdio.In).ReadString('\n')
	if err != nil && line == "" {
		return &exitError{code: ExitError, err: errors.New("no answer read: nothing was changed")}
	}
	if strings.TrimSpace(line) != "yes" {
		return &exitError{code: ExitError, err: errors.New("cancelled: nothing was changed")}
	}
	return nil
}
