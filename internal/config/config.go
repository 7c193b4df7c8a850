// Package config reads harden.yaml: the home region, the regions to cover,
// each control's own typed settings, and the exceptions (accepted findings
// with a reason, an owner and an expiry). Every error names its file, line
// and column; nothing in the file is trusted before it is all validated.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/validate"
)

// Version is the only configuration file version harden reads.
const Version = 1

// DefaultFile is the configuration file looked for in the working
// directory when neither --config nor HARDEN_CONFIG names one.
const DefaultFile = "harden.yaml"

// Config is the effective configuration from the file (or the defaults).
type Config struct {
	// Path is the file read, "" when there was none.
	Path       string
	HomeRegion string
	Include    []string
	Exclude    []string
	// Enabled holds the controls whose `enabled` the file sets.
	Enabled map[string]bool
	// Settings holds every configurable control's settings: defaults,
	// overridden by the file.
	Settings   map[string]control.ControlSettings
	Exceptions []Exception
	// AllowDestructive lets 'apply --yes' (and 'apply PLANFILE') make
	// destructive changes, as --allow-destructive does. On a terminal
	// apply still asks for them apart.
	AllowDestructive bool
}

// PosError is one problem in the file, at a line and column.
type PosError struct {
	Path      string
	Line, Col int
	Msg       string
}

func (e *PosError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Col, e.Msg)
}

// Errors are all the problems found in a file, in file order.
type Errors []*PosError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Find returns the configuration file to read: flag, else HARDEN_CONFIG,
// else ./harden.yaml. required is false only for the default file, which
// may be absent.
func Find(flag string, getenv func(string) string) (path string, required bool) {
	if flag != "" {
		return flag, true
	}
	if env := getenv("HARDEN_CONFIG"); env != "" {
		return env, true
	}
	return DefaultFile, false
}

// Defaults returns the configuration without a file.
func Defaults(ctls []control.Control) *Config {
	c := &Config{Enabled: map[string]bool{}, Settings: map[string]control.ControlSettings{}}
	for _, ctl := range ctls {
		if cf, ok := ctl.(control.Configurable); ok {
			c.Settings[ctl.Info().ID] = cf.NewSettings()
		}
	}
	return c
}

// Load reads the file at path; a missing file that is not required gives
// the defaults.
func Load(path string, required bool, ctls []control.Control, now time.Time) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return Defaults(ctls), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, data, ctls, now)
}

// top is the file's shape; the controls and exceptions are decoded node by
// node so that every error has a position.
type top struct {
	Version    *int          `yaml:"version"`
	HomeRegion string        `yaml:"home_region"`
	Regions    regionsConfig `yaml:"regions"`
	Controls   ast.Node      `yaml:"controls"`
	Exceptions ast.Node      `yaml:"exceptions"`
	// AllowDestructive is decoded from its node, for a positioned error.
	AllowDestructive ast.Node `yaml:"allow_destructive"`
}

type regionsConfig struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
}

// isRegion reports whether s has the shape of a region name.
func isRegion(s string) bool { return validate.RegionName(s) == nil }

// Parse validates and decodes a configuration file's content.
func Parse(path string, data []byte, ctls []control.Control, now time.Time) (*Config, error) {
	p := &parse{path: path}
	cfg := Defaults(ctls)
	cfg.Path = path
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{p.fromYAML(err)}
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return nil, Errors{{Path: path, Msg: "empty file: it needs at least 'version: 1'"}}
	}
	if len(file.Docs) > 1 {
		return nil, Errors{p.at(file.Docs[1], "one YAML document only")}
	}
	body := file.Docs[0].Body
	var t top
	if err := yaml.NodeToValue(body, &t, yaml.DisallowUnknownField()); err != nil {
		return nil, Errors{p.fromYAML(err)}
	}
	switch {
	case t.Version == nil:
		p.add(p.at(body, "missing 'version: 1'"))
	case *t.Version != Version:
		p.add(p.atKey(body, "version", fmt.Sprintf("version %d is not one this harden reads (it reads %d)", *t.Version, Version)))
	}
	if t.HomeRegion != "" && !isRegion(t.HomeRegion) {
		p.add(p.atKey(body, "home_region", fmt.Sprintf("%q is not a region name", t.HomeRegion)))
	}
	cfg.HomeRegion = t.HomeRegion
	for _, list := range []struct {
		name string
		vals []string
	}{{"include", t.Regions.Include}, {"exclude", t.Regions.Exclude}} {
		for _, r := range list.vals {
			if !isRegion(r) {
				p.add(p.atKey(body, "regions", fmt.Sprintf("regions.%s: %q is not a region name", list.name, r)))
			}
		}
	}
	cfg.Include, cfg.Exclude = t.Regions.Include, t.Regions.Exclude
	if !isNull(t.AllowDestructive) {
		if err := yaml.NodeToValue(t.AllowDestructive, &cfg.AllowDestructive); err != nil || !isBool(t.AllowDestructive) {
			p.add(p.atKey(body, "allow_destructive", "allow_destructive must be true or false"))
		}
	}
	known := map[string]control.Control{}
	var ids []string
	for _, c := range ctls {
		known[c.Info().ID] = c
		ids = append(ids, c.Info().ID)
	}
	if t.Controls != nil {
		p.controls(t.Controls, known, ids, cfg)
	}
	if t.Exceptions != nil {
		cfg.Exceptions = p.exceptions(t.Exceptions, known, ids, now)
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			if p.errs[i].Line != p.errs[j].Line {
				return p.errs[i].Line < p.errs[j].Line
			}
			return p.errs[i].Col < p.errs[j].Col
		})
		return nil, p.errs
	}
	return cfg, nil
}

// parse collects the errors of one file.
type parse struct {
	path string
	errs Errors
}

func (p *parse) add(e *PosError) { p.errs = append(p.errs, e) }

func (p *parse) at(n ast.Node, msg string) *PosError {
	e := &PosError{Path: p.path, Msg: msg}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Col = tk.Position.Line, tk.Position.Column
	}
	return e
}

// atKey positions an error at key in mapping m (at m when absent).
func (p *parse) atKey(m ast.Node, key, msg string) *PosError {
	if kv := mappingValue(m, key); kv != nil {
		return p.at(kv.Key, msg)
	}
	return p.at(m, msg)
}

func (p *parse) fromYAML(err error) *PosError {
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &PosError{Path: p.path, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return &PosError{Path: p.path, Msg: err.Error()}
}

// mapping returns the key/value pairs of a mapping node, or nil.
func mapping(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

func mappingValue(n ast.Node, key string) *ast.MappingValueNode {
	for _, kv := range mapping(n) {
		if kv.Key.String() == key {
			return kv
		}
	}
	return nil
}

func isBool(n ast.Node) bool {
	_, ok := n.(*ast.BoolNode)
	return ok
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// controls decodes `controls: {<id>: {enabled: bool, <settings>}}`.
func (p *parse) controls(n ast.Node, known map[string]control.Control, ids []string, cfg *Config) {
	if isNull(n) {
		return
	}
	kvs := mapping(n)
	if kvs == nil {
		p.add(p.at(n, "controls must be a mapping of control id to its settings"))
		return
	}
	for _, kv := range kvs {
		id := kv.Key.String()
		ctl, ok := known[id]
		if !ok {
			p.add(p.at(kv.Key, unknownControl(id, ids)))
			continue
		}
		if isNull(kv.Value) {
			continue
		}
		body := mapping(kv.Value)
		if body == nil {
			p.add(p.at(kv.Value, fmt.Sprintf("controls.%s must be a mapping (enabled and the control's settings)", id)))
			continue
		}
		// Split `enabled` from the settings, then decode the settings
		// strictly into the control's own type.
		rest := &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: kv.Value.GetToken()}
		for _, f := range body {
			if f.Key.String() != "enabled" {
				rest.Values = append(rest.Values, f)
				continue
			}
			var on bool
			if err := yaml.NodeToValue(f.Value, &on); err != nil {
				p.add(p.at(f.Value, fmt.Sprintf("controls.%s.enabled must be true or false", id)))
				continue
			}
			cfg.Enabled[id] = on
		}
		if len(rest.Values) == 0 {
			continue
		}
		settings, ok := cfg.Settings[id]
		if !ok {
			p.add(p.at(rest.Values[0].Key, fmt.Sprintf("control %s has no settings; only 'enabled' is allowed", ctl.Info().ID)))
			continue
		}
		if err := yaml.NodeToValue(rest, settings, yaml.DisallowUnknownField()); err != nil {
			e := p.fromYAML(err)
			e.Msg = fmt.Sprintf("controls.%s: %s", id, e.Msg)
			if names := settingNames(settings); len(names) > 0 && strings.Contains(e.Msg, "unknown field") {
				e.Msg += " (settings: enabled, " + strings.Join(names, ", ") + ")"
			}
			p.add(e)
			continue
		}
		if err := settings.Validate(); err != nil {
			var fe *control.FieldError
			if errors.As(err, &fe) {
				p.add(p.atKey(rest, fe.Field, fmt.Sprintf("controls.%s.%s: %s", id, fe.Field, fe.Msg)))
			} else {
				p.add(p.at(kv.Key, fmt.Sprintf("controls.%s: %v", id, err)))
			}
		}
	}
}

func settingNames(s any) []string {
	fs, err := fields(s)
	if err != nil {
		return nil
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

// unknownControl names an unknown id and the nearest known one.
func unknownControl(id string, ids []string) string {
	msg := fmt.Sprintf("unknown control %q", id)
	if near := validate.Nearest(id, ids); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg + ": run 'harden controls' for the list"
}
