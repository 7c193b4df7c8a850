package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/harden-dev/harden/internal/config"
	"github.com/harden-dev/harden/internal/control"
)

// archive is a fake control with settings, shaped like log-archive's.
type archive struct{}

type archiveSettings struct {
	Bucket        string   `yaml:"bucket" doc:"the bucket name (default: harden-logs-<account>-<home region>)"`
	RetentionDays int      `yaml:"retention_days" doc:"days log objects are kept"`
	Mode          string   `yaml:"mode" doc:"how strict" enum:"strict|lax"`
	Emails        []string `yaml:"emails" doc:"who is told"`
}

func (s *archiveSettings) Validate() error {
	if s.RetentionDays < 1 {
		return control.FieldErrorf("retention_days", "must be at least 1, got %d", s.RetentionDays)
	}
	if s.Mode != "strict" && s.Mode != "lax" {
		return control.FieldErrorf("mode", "must be strict or lax, got %q", s.Mode)
	}
	return nil
}

func (archive) Info() control.Info {
	return control.Info{ID: "log-archive", Title: "Log archive", Scope: control.Account}
}
func (archive) Check(context.Context, *control.Env, control.Target) (control.Finding, error) {
	return control.Finding{}, nil
}
func (archive) Apply(context.Context, *control.Env, control.Target, control.Journal) ([]control.Change, error) {
	return nil, nil
}
func (archive) Steps() control.Steps { return nil }
func (archive) NewSettings() control.ControlSettings {
	return &archiveSettings{RetentionDays: 365, Mode: "strict"}
}

// ebs is a fake control without settings.
type ebs struct{}

func (ebs) Info() control.Info {
	return control.Info{ID: "ebs-default-encryption", Title: "EBS encryption by default", Scope: control.Regional}
}
func (ebs) Check(context.Context, *control.Env, control.Target) (control.Finding, error) {
	return control.Finding{}, nil
}
func (ebs) Apply(context.Context, *control.Env, control.Target, control.Journal) ([]control.Change, error) {
	return nil, nil
}
func (ebs) Steps() control.Steps { return nil }

var ctls = []control.Control{archive{}, ebs{}}

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestParseValid(t *testing.T) {
	cfg, err := config.Parse("h.yaml", []byte(`version: 1
home_region: eu-west-1
regions:
  exclude: [sa-east-1]
controls:
  log-archive:
    bucket: my-logs
    retention_days: 30
  ebs-default-encryption:
    enabled: false
exceptions:
  - control: ebs-default-encryption
    regions: [sa-east-1]
    reason: legacy AMIs
    owner: platform team
    expires: 2027-03-31
`), ctls, now)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Settings["log-archive"].(*archiveSettings)
	if s.Bucket != "my-logs" || s.RetentionDays != 30 || s.Mode != "strict" {
		t.Errorf("settings %+v: file values over defaults", s)
	}
	if cfg.HomeRegion != "eu-west-1" || !reflect.DeepEqual(cfg.Exclude, []string{"sa-east-1"}) {
		t.Errorf("regions %+v", cfg)
	}
	if on, set := cfg.Enabled["ebs-default-encryption"]; on || !set {
		t.Errorf("enabled %v", cfg.Enabled)
	}
	if len(cfg.Exceptions) != 1 || cfg.Exceptions[0].Line != 12 {
		t.Errorf("exceptions %+v", cfg.Exceptions)
	}
}

func TestParseErrorsHavePositions(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown top key", "version: 1\nregion: x\n", "h.yaml:2:1:"},
		{"missing version", "home_region: us-east-1\n", "missing 'version: 1'"},
		{"wrong version", "version: 2\n", "h.yaml:1:1: version 2"},
		{"bad home region", "version: 1\nhome_region: Mars\n", "h.yaml:2:1: \"Mars\" is not a region name"},
		{"unknown control", "version: 1\ncontrols:\n  log-archve:\n    bucket: x\n", "h.yaml:3:3: unknown control \"log-archve\" (did you mean \"log-archive\"?)"},
		{"unknown setting", "version: 1\ncontrols:\n  log-archive:\n    buckt: x\n", "h.yaml:4:5:"},
		{"wrong type", "version: 1\ncontrols:\n  log-archive:\n    retention_days: soon\n", "h.yaml:4:"},
		{"bad value", "version: 1\ncontrols:\n  log-archive:\n    retention_days: 0\n", "h.yaml:4:5: controls.log-archive.retention_days: must be at least 1"},
		{"enabled not bool", "version: 1\ncontrols:\n  ebs-default-encryption:\n    enabled: maybe\n", "h.yaml:4:14: controls.ebs-default-encryption.enabled"},
		{"settings on a control without", "version: 1\ncontrols:\n  ebs-default-encryption:\n    kms: x\n", "h.yaml:4:5: control ebs-default-encryption has no settings"},
		{"exception without reason", "version: 1\nexceptions:\n  - control: ebs-default-encryption\n    owner: me\n    expires: 2027-01-01\n", "h.yaml:3:5: exceptions[0]: needs a 'reason'"},
		{"exception bad expiry", "version: 1\nexceptions:\n  - control: ebs-default-encryption\n    reason: r\n    owner: me\n    expires: 31/03/2027\n", "h.yaml:6:5: exceptions[0]: expires \"31/03/2027\" is not a date"},
		{"exception without expiry", "version: 1\nexceptions:\n  - control: ebs-default-encryption\n    reason: r\n    owner: me\n", "needs 'expires: YYYY-MM-DD'"},
		{"exception unknown key", "version: 1\nexceptions:\n  - control: ebs-default-encryption\n    why: r\n", "h.yaml:4:5:"},
		{"syntax", "version: 1\ncontrols: [\n", "h.yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("h.yaml", []byte(tc.file), ctls, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not config.Errors", err)
			}
			for _, e := range es {
				if strings.Contains(e.Error(), "\n") {
					t.Errorf("error %q spans lines", e.Error())
				}
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := config.Parse("h.yaml", []byte("version: 1\ncontrols:\n  nope: {}\n  log-archive:\n    retention_days: 0\nexceptions:\n  - control: x\n    reason: r\n    owner: o\n    expires: 2027-01-01\n"), ctls, now)
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want 3 errors (unknown control, bad retention, unknown exception control), got %v", err)
	}
	if es[0].Line != 3 || es[1].Line != 5 || es[2].Line != 7 {
		t.Errorf("errors not in file order: %v", err)
	}
}

func TestMatch(t *testing.T) {
	cfg, err := config.Parse("h.yaml", []byte(`version: 1
exceptions:
  - control: ebs-default-encryption
    regions: [sa-east-1]
    reason: legacy AMIs
    owner: platform
    expires: 2026-11-24
  - control: log-archive
    resources: [vpc-1, vpc-2]
    reason: r
    owner: o
    expires: 2026-11-01
  - control: log-archive
    resources: [vpc-1]
    reason: r
    owner: o
    expires: 2027-01-01
`), ctls, now)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Match("ebs-default-encryption", "sa-east-1", nil, now); m.Accepted == nil || m.Accepted.Line != 3 {
		t.Errorf("the last day of an exception still holds: %+v", m)
	}
	next := now.Add(12 * time.Hour) // 2026-11-25 00:00 UTC
	if m := cfg.Match("ebs-default-encryption", "sa-east-1", nil, next); m.Accepted != nil || m.Expired == nil {
		t.Errorf("expired exception: %+v", m)
	}
	if m := cfg.Match("ebs-default-encryption", "eu-west-1", nil, now); m.Accepted != nil || m.Expired != nil {
		t.Errorf("other region matched: %+v", m)
	}
	if m := cfg.Match("log-archive", "us-east-1", []string{"vpc-1"}, now); m.Accepted == nil || m.Accepted.Line != 13 {
		t.Errorf("resource exception: %+v", m)
	}
	if m := cfg.Match("log-archive", "us-east-1", []string{"vpc-1", "vpc-2"}, now); m.Accepted != nil || m.Expired == nil {
		t.Errorf("vpc-2 is only in the expired exception: %+v", m)
	}
	if m := cfg.Match("log-archive", "us-east-1", nil, now); m.Accepted != nil {
		t.Errorf("a resource exception must not accept a target without resources: %+v", m)
	}
}

func TestStarterParsesBackToDefaults(t *testing.T) {
	var b bytes.Buffer
	if err := config.WriteYAML(&b, config.Defaults(ctls), ctls, true); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("starter.yaml", b.Bytes(), ctls, now)
	if err != nil {
		t.Fatalf("starter file does not parse: %v\n%s", err, b.String())
	}
	var again, defaults bytes.Buffer
	if err := config.WriteYAML(&again, cfg, ctls, false); err != nil {
		t.Fatal(err)
	}
	if err := config.WriteYAML(&defaults, config.Defaults(ctls), ctls, false); err != nil {
		t.Fatal(err)
	}
	if again.String() != defaults.String() {
		t.Errorf("the starter file parses to\n%s\nwant the defaults\n%s", again.String(), defaults.String())
	}
	if !strings.Contains(b.String(), "# days log objects are kept") {
		t.Errorf("starter lacks the settings' docs:\n%s", b.String())
	}
}

func TestSchemaValidatesStarterAndRejectsWrongFiles(t *testing.T) {
	var sb bytes.Buffer
	if err := config.WriteSchema(&sb, ctls); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(&sb)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(config.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(config.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(y string) any {
		var v any
		if err := yaml.Unmarshal([]byte(y), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var starter bytes.Buffer
	if err := config.WriteYAML(&starter, config.Defaults(ctls), ctls, true); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(asJSON(starter.String())); err != nil {
		t.Errorf("schema rejects the starter file: %v", err)
	}
	for _, bad := range []string{
		"version: 2\n",
		"version: 1\ncontrols:\n  log-archive:\n    buckt: x\n",
		"version: 1\ncontrols:\n  log-archive:\n    mode: loose\n",
		"version: 1\nexceptions:\n  - control: log-archive\n    owner: o\n    expires: 2027-01-01\n",
		"version: 1\nregion: us-east-1\n",
	} {
		if err := schema.Validate(asJSON(bad)); err == nil {
			t.Errorf("schema accepts a wrong file:\n%s", bad)
		}
	}
}

func TestFind(t *testing.T) {
	env := map[string]string{"HARDEN_CONFIG": "/etc/harden.yaml"}
	if p, req := config.Find("x.yaml", func(k string) string { return env[k] }); p != "x.yaml" || !req {
		t.Errorf("flag: %s %v", p, req)
	}
	if p, req := config.Find("", func(k string) string { return env[k] }); p != "/etc/harden.yaml" || !req {
		t.Errorf("env: %s %v", p, req)
	}
	if p, req := config.Find("", func(string) string { return "" }); p != config.DefaultFile || req {
		t.Errorf("default: %s %v", p, req)
	}
	cfg, err := config.Load("/nonexistent/harden.yaml", false, ctls, now)
	if err != nil || cfg.Settings["log-archive"].(*archiveSettings).RetentionDays != 365 {
		t.Errorf("absent default file: %v %+v", err, cfg)
	}
	if _, err := config.Load("/nonexistent/harden.yaml", true, ctls, now); err == nil {
		t.Error("a named file that is absent must be an error")
	}
}
