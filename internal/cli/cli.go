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
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/config"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/run"
	"github.com/harden-dev/harden/internal/validate"
	"github.com/harden-dev/harden/internal/version"
)

// IO is where a command reads and writes, and what it knows of the
// terminal and environment.
type IO struct {
	In        io.Reader
	Out, Err  io.Writer
	StdinTTY  bool
	StdoutTTY bool
	// StderrTTY shows progress on stderr.
	StderrTTY bool
	Width     int
	// StderrWidth is stderr's width when it is a terminal, for the
	// progress line; 0 means Width.
	StderrWidth int
	Getenv      func(string) string
	// Now is the clock exceptions expire against; nil means time.Now.
	Now func() time.Time

	// ctx is the run's context, set by Main: a prompt stops waiting for
	// an answer when it is cancelled (Ctrl-C).
	ctx context.Context
}

// context returns the run's context.
func (stdio IO) context() context.Context {
	if stdio.ctx != nil {
		return stdio.ctx
	}
	return context.Background()
}

// SystemIO is the process's own standard streams.
func SystemIO() IO {
	width, errWidth := 0, 0
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
		width = w
	}
	if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil {
		errWidth = w
	}
	return IO{
		In:          os.Stdin,
		Out:         os.Stdout,
		Err:         os.Stderr,
		StdinTTY:    term.IsTerminal(int(os.Stdin.Fd())),
		StdoutTTY:   term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY:   term.IsTerminal(int(os.Stderr.Fd())),
		Width:       width,
		StderrWidth: errWidth,
		Getenv:      os.Getenv,
	}
}

// globals are the flags every command takes.
type globals struct {
	profile     string
	region      string
	regions     listFlag
	allRegions  bool
	only        listFlag
	skip        listFlag
	output      string
	noColor     bool
	endpointURL string
	stateDir    string
	concurrency int
	// settingFlags hold the values of the flags that override a
	// control's setting (see settingFlags).
	settingFlags map[string]*string
	flags        *pflag.FlagSet
	timeout      time.Duration
	exclude      listFlag
	configPath   string
	// reports are the --report FORMAT=PATH flags; detail shows every
	// target on its own row; failOn is audit's --fail-on.
	reports []string
	detail  bool
	failOn  string

	getenv func(string) string
	// clock is the time exceptions expire against; nil means time.Now.
	clock func() time.Time
	cfg   *config.Config // loaded by loadConfig
}

// listFlag is a repeatable comma-separated flag: items are trimmed, and an
// empty item ("", "a,,b") is a usage error naming the flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Type() string   { return "strings" }
func (l *listFlag) Set(v string) error {
	items, err := validate.List([]string{v})
	if err != nil {
		return err
	}
	*l = append(*l, items...)
	return nil
}

// Main runs harden with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdio IO) int {
	stdio.ctx = ctx
	root := newRoot(stdio)
	root.SetArgs(terraformStyle(args))
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if ctx.Err() != nil && code != ExitOK {
		code = ExitInterrupted
	}
	var ee *exitError
	var ces config.Errors
	if errors.As(err, &ces) {
		// A configuration file's problems: one line each, file:line:col.
		for _, e := range ces {
			fmt.Fprintln(stdio.Err, "harden: "+oneLine(e.Error()))
		}
		fmt.Fprintln(stdio.Err, "Run 'harden config schema' for the file's schema.")
		return code
	}
	if err != nil && (!errors.As(err, &ee) || ee.err != nil) {
		fmt.Fprintln(stdio.Err, "harden: "+oneLine(err.Error()))
		if code == ExitUsage {
			fmt.Fprintln(stdio.Err, "Run 'harden --help' for usage.")
		}
	}
	return code
}

// terraformStyle accepts Terraform's single-dash "-out FILE" for --out:
// pflag would read it as -o with the value "ut".
func terraformStyle(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "-out" || strings.HasPrefix(a, "-out=") {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// oneLine makes s one line without tabs.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.TrimSpace(s)), " ")
}

func newRoot(stdio IO) *cobra.Command {
	g := &globals{getenv: stdio.Getenv}
	if stdio.Now != nil {
		g.clock = stdio.Now
	}
	root := &cobra.Command{
		Use:   "harden",
		Short: "Bring an AWS account to a secure baseline, audit it, and roll back what changed",
		Long: `harden checks an AWS account against a security baseline, applies the smallest
changes that reach it (journaling each one first), audits it in CI, and rolls back
exactly what it changed.

Exit codes: 0 compliant/no changes, 2 changes pending (plan) or findings (audit),
1 an error or a target not checked (wins over 2), 64 usage error, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.SetVersionTemplate("harden {{.Version}}\n")
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	root.Example = rootExample

	f := root.PersistentFlags()
	defaultStateDir := stdio.Getenv("HARDEN_STATE_DIR")
	f.StringVar(&g.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	f.StringVar(&g.region, "region", "", "home region, where account-wide controls run (default: the AWS config's region, else us-east-1)")
	f.Var(&g.regions, "regions", "regions to cover, comma-separated (default: every region enabled for the account)")
	f.Var(&g.exclude, "exclude-regions", "regions never to cover, comma-separated (added to the file's regions.exclude)")
	f.StringVar(&g.configPath, "config", "", "configuration file (default: $HARDEN_CONFIG, else ./harden.yaml when it exists)")
	f.BoolVar(&g.allRegions, "all-regions", false, "cover every region enabled for the account (the default; exclusive with --regions)")
	f.Var(&g.only, "controls", "run only these controls, comma-separated (see 'harden controls')")
	f.Var(&g.skip, "skip", "skip these controls, comma-separated")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table, text, json, sarif, junit or markdown (table is plain text when piped)")
	f.StringArrayVar(&g.reports, "report", nil, "also write a report, FORMAT=PATH (repeatable): --report sarif=harden.sarif")
	f.BoolVar(&g.detail, "detail", false, "one row per target: do not group regions with the same result")
	f.BoolVar(&g.noColor, "no-color", false, "no colour or styling (also when NO_COLOR is set or TERM=dumb)")
	f.StringVar(&g.endpointURL, "endpoint-url", "", "send every AWS call to this endpoint (overrides AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>)")
	f.StringVar(&g.stateDir, "state-dir", defaultStateDir, "where apply journals are kept (default: $HARDEN_STATE_DIR, else $XDG_STATE_HOME/harden or ~/.local/state/harden)")
	f.IntVar(&g.concurrency, "concurrency", engine.DefaultConcurrency, "how many control-region targets run at once")
	g.flags, g.settingFlags = f, map[string]*string{}
	for _, sf := range settingFlags {
		g.settingFlags[sf.flag] = f.String(sf.flag, "", sf.usage)
	}
	f.DurationVar(&g.timeout, "timeout", awsclient.DefaultTimeouts.Call,
		fmt.Sprintf("overall deadline of each AWS call, retries included, not counting its wait in a moving throttling queue (each attempt: at most %s, connecting: %s)",
			awsclient.DefaultTimeouts.Attempt, awsclient.DefaultTimeouts.Connect))

	registerCompletions(root, g)
	root.AddCommand(
		newPlanCmd(g, stdio),
		newAuditCmd(g, stdio),
		newApplyCmd(g, stdio),
		newRollbackCmd(g, stdio),
		newControlsCmd(g, stdio),
		newIAMPolicyCmd(g, stdio),
		newConfigCmd(g, stdio),
		newAlertsCmd(g, stdio),
		newVersionCmd(g, stdio),
	)
	return root
}

// unknownCommand is a usage error that suggests the nearest command.
func unknownCommand(root *cobra.Command, name string) error {
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", s[0])
	} else if near := validate.Nearest(name, names); near != "" {
		msg += fmt.Sprintf(": did you mean %s?", near)
	}
	return usagef("%s (commands: %s)", msg, strings.Join(names, ", "))
}

// validate checks the flags that need no AWS call.
func (g *globals) validate() error {
	if g.allRegions && len(g.regions) > 0 {
		return usagef("--regions and --all-regions cannot be used together")
	}
	if g.concurrency < 1 {
		return usagef("--concurrency must be at least 1, got %d", g.concurrency)
	}
	if g.timeout <= 0 {
		return usagef("--timeout must be more than 0, got %s", g.timeout)
	}
	if _, err := report.ParseFormat(g.output); err != nil {
		return &usageError{err}
	}
	if _, err := parseReports(g.reports); err != nil {
		return err
	}
	if _, err := g.failOnSeverity(); err != nil {
		return err
	}
	if _, err := g.loadConfig(); err != nil {
		return err
	}
	if err := g.options(false).Check(); err != nil {
		return &usageError{err}
	}
	return nil
}

// options are the run options the flags and the configuration file ask
// for; the flags win. loadConfig must have succeeded.
func (g *globals) options(accountOnly bool) run.Options {
	cfg := g.cfg
	if cfg == nil {
		cfg = config.Defaults(controls.All())
	}
	o := run.Options{
		Profile:         g.profile,
		HomeRegion:      g.region,
		Regions:         g.regions,
		ExcludeRegions:  append(append([]string(nil), cfg.Exclude...), g.exclude...),
		Controls:        g.only,
		Skip:            append(append([]string(nil), g.skip...), g.disabled(cfg)...),
		EndpointURL:     g.endpointURL,
		Concurrency:     g.concurrency,
		Timeouts:        awsclient.Timeouts{Call: g.timeout},
		ControlSettings: cfg.Settings,
		Exceptions:      cfg,
		Now:             g.now(),
		AccountOnly:     accountOnly,
	}
	if o.HomeRegion == "" {
		o.HomeRegion = cfg.HomeRegion
	}
	if len(o.Regions) == 0 && !g.allRegions {
		o.Regions = cfg.Include
	}
	return o
}

func (g *globals) selectControls() ([]control.Control, error) {
	sel, err := run.SelectControls(g.only, g.skip)
	if err != nil {
		return nil, &usageError{err}
	}
	return sel, nil
}

func (g *globals) reportOptions(stdio IO) report.Options {
	format, _ := report.ParseFormat(g.output)
	return report.Options{Format: format, Styled: colour(stdio, g.noColor), Width: stdio.Width,
		Detail: g.detail, Version: version.String()}
}

// session is a connected run.Session, as the commands use it.
type session struct {
	*run.Session
	account string
}

func (s *session) env() *control.Env { return s.Env }

// connect validates the flags, then connects to the account and, when
// withRegions is set, finds the regions to cover.
func (g *globals) connect(ctx context.Context, withRegions bool) (*session, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	s, err := run.Connect(ctx, g.options(!withRegions))
	var ie *run.InputError
	if errors.As(err, &ie) {
		return nil, &usageError{err}
	}
	if err != nil {
		return nil, err
	}
	return &session{Session: s, account: s.AccountID}, nil
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

// errPromptInterrupted ends harden at the prompt: Ctrl-C, or Ctrl-D (end
// of input), changes nothing and exits 130.
var errPromptInterrupted = &exitError{code: ExitInterrupted, err: errors.New("interrupted at the prompt: nothing was changed")}

// confirm asks on a terminal; without one it refuses unless --yes. It
// stops waiting as soon as the run's context is cancelled (Ctrl-C) or the
// input ends (Ctrl-D).
func confirm(stdio IO, yes bool, question string) error {
	return confirmWith(stdio, newLineReader(stdio.In), yes, question)
}

// confirmWith is confirm reading the answer from lines.
func confirmWith(stdio IO, lines *lineReader, yes bool, question string) error {
	if yes {
		return nil
	}
	if !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	answer, err := ask(stdio, lines, fmt.Sprintf("\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question))
	if err != nil {
		return err
	}
	if answer != "yes" {
		return &exitError{code: ExitError, err: errors.New("cancelled: nothing was changed")}
	}
	return nil
}

// ask writes prompt and returns the next line of input, trimmed. Ctrl-C
// (the run's context cancelled) and Ctrl-D (the input ends) are
// errPromptInterrupted.
func ask(stdio IO, lines *lineReader, prompt string) (string, error) {
	fmt.Fprint(stdio.Err, prompt)
	ctx := stdio.context()
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdio.Err)
		return "", errPromptInterrupted
	case a := <-lines.next():
		if ctx.Err() != nil || (a.err != nil && a.line == "") {
			fmt.Fprintln(stdio.Err)
			return "", errPromptInterrupted
		}
		return strings.TrimSpace(a.line), nil
	}
}

// lineReader reads the input's lines in one goroutine, started at the
// first prompt, so that a second prompt gets the next line even when the
// first read buffered more. The goroutine is abandoned if a prompt is
// interrupted: harden is about to exit, and nothing else reads stdin.
type lineReader struct {
	in   io.Reader
	once sync.Once
	ch   chan lineAnswer
}

type lineAnswer struct {
	line string
	err  error
}

func newLineReader(in io.Reader) *lineReader {
	return &lineReader{in: in, ch: make(chan lineAnswer)}
}

func (l *lineReader) next() <-chan lineAnswer {
	l.once.Do(func() {
		go func() {
			r := bufio.NewReader(l.in)
			for {
				line, err := r.ReadString('\n')
				l.ch <- lineAnswer{line, err}
				if err != nil {
					return
				}
			}
		}()
	})
	return l.ch
}
