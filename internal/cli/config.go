package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/config"
	"github.com/harden-dev/harden/internal/controls"
)

// loadConfig reads the configuration file (--config, else HARDEN_CONFIG,
// else ./harden.yaml if present) once; every problem in it is a usage
// error with its position.
func (g *globals) loadConfig() (*config.Config, error) {
	if g.cfg != nil {
		return g.cfg, nil
	}
	path, required := config.Find(g.configPath, g.getenv)
	cfg, err := config.Load(path, required, controls.All(), g.now())
	var es config.Errors
	if errors.As(err, &es) {
		return nil, &usageError{err}
	}
	if err != nil {
		return nil, &usageError{fmt.Errorf("%w (--config or HARDEN_CONFIG names it)", err)}
	}
	for _, sf := range settingFlags {
		if g.flags == nil || !g.flags.Changed(sf.flag) {
			continue
		}
		settings, ok := cfg.Settings[sf.control]
		if !ok {
			return nil, usagef("--%s: control %s has no setting %s", sf.flag, sf.control, sf.setting)
		}
		if err := config.Set(settings, sf.setting, *g.settingFlags[sf.flag]); err != nil {
			return nil, usagef("--%s: %v", sf.flag, err)
		}
	}
	g.cfg = cfg
	return cfg, nil
}

// settingFlags are the flags that override one control's setting from the
// configuration file: documented shortcuts for the settings people change
// most. The cli knows their names, never their types.
var settingFlags = []struct{ flag, control, setting, usage string }{
	{"log-bucket", "log-archive", "bucket", "log-archive bucket name (default harden-logs-<account>-<home-region>) (controls.log-archive.bucket)"},
	{"log-retention-days", "log-archive", "retention_days", "days the log archive keeps log objects under AWSLogs/ and their old versions (default 365; controls.log-archive.retention_days)"},
}

func (g *globals) now() time.Time {
	if g.clock != nil {
		return g.clock()
	}
	return time.Now()
}

// effectiveConfig is the configuration after the flags that override it.
func (g *globals) effectiveConfig() (*config.Config, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	eff := *cfg
	if g.region != "" {
		eff.HomeRegion = g.region
	}
	switch {
	case g.allRegions:
		eff.Include = nil
	case len(g.regions) > 0:
		eff.Include = g.regions
	}
	eff.Exclude = append(append([]string(nil), cfg.Exclude...), g.exclude...)
	eff.Enabled = map[string]bool{}
	for id, on := range cfg.Enabled {
		eff.Enabled[id] = on
	}
	for _, id := range g.only {
		eff.Enabled[id] = true
	}
	for _, id := range g.skip {
		eff.Enabled[id] = false
	}
	return &eff, nil
}

// disabled lists the controls the file turns off and --controls does not
// name.
func (g *globals) disabled(cfg *config.Config) []string {
	var out []string
	for _, c := range controls.All() {
		id := c.Info().ID
		if on, set := cfg.Enabled[id]; set && !on && !contains(g.only, id) {
			out = append(out, id)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newConfigCmd(g *globals, stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Write, show or describe harden.yaml",
		Example: configExample,
		Long: `harden reads its configuration from --config PATH, else HARDEN_CONFIG, else
./harden.yaml when it exists. Flags override the file; the file overrides the defaults.`,
		Args: noArgs,
	}
	var force bool
	initCmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write a commented starter harden.yaml with every setting",
		Example: `  harden config init              # writes ./harden.yaml
  harden config init - > h.yaml    # to stdout`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := config.DefaultFile
			if len(args) == 1 {
				path = args[0]
			}
			all := controls.All()
			if path == "-" {
				return config.WriteYAML(stdio.Out, config.Defaults(all), all, true)
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usagef("%s exists: pass --force to replace it", path)
			}
			if err != nil {
				return err
			}
			if err := config.WriteYAML(f, config.Defaults(all), all, true); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Err, "Wrote %s\n", path)
			return nil
		},
	}
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	showCmd := &cobra.Command{
		Use:     "show",
		Short:   "Print the configuration in effect (file, environment, flags)",
		Example: "  harden config show\n  harden config show --config prod.yaml --log-retention-days 400",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.validate(); err != nil {
				return err
			}
			eff, err := g.effectiveConfig()
			if err != nil {
				return err
			}
			if eff.Path != "" {
				fmt.Fprintf(stdio.Out, "# from %s, with the flags applied\n", eff.Path)
			} else {
				fmt.Fprintln(stdio.Out, "# no configuration file: the defaults, with the flags applied")
			}
			return config.WriteYAML(stdio.Out, eff, controls.All(), false)
		},
	}
	schemaCmd := &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON Schema of harden.yaml (for editors)",
		Example: "  harden config schema > harden.schema.json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return config.WriteSchema(stdio.Out, controls.All())
		},
	}
	cmd.AddCommand(initCmd, showCmd, schemaCmd)
	return cmd
}
