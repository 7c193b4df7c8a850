package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/validate"
)

// SchemaID names the JSON Schema of harden.yaml.
const SchemaID = "https://github.com/harden-dev/harden/blob/main/docs/harden.schema.json"

type obj = map[string]any

// Schema returns the JSON Schema (draft 2020-12) of harden.yaml for the
// given controls, generated from each control's settings type.
func Schema(ctls []control.Control) (obj, error) {
	regionList := obj{"type": "array", "items": obj{"type": "string", "pattern": validate.RegionPattern}}
	props := obj{}
	for _, c := range ctls {
		info := c.Info()
		p := obj{"enabled": obj{"type": "boolean", "description": "false leaves the control out of every run (it is reported as not selected)", "default": true}}
		if cf, ok := c.(control.Configurable); ok {
			fs, err := fields(cf.NewSettings())
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				s := obj{"type": jsonType(f.Kind), "description": f.Doc, "default": f.Value.Interface()}
				if f.Kind == reflect.Slice {
					s["items"] = obj{"type": jsonType(f.Elem)}
					if f.Value.IsNil() {
						s["default"] = []any{}
					}
				}
				if len(f.Enum) > 0 {
					s["enum"] = f.Enum
				}
				p[f.Name] = s
			}
		}
		props[info.ID] = obj{"type": "object", "description": info.Title, "additionalProperties": false, "properties": p}
	}
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "harden.yaml",
		"description":          "harden's configuration: flags override it, it overrides the defaults",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"version"},
		"properties": obj{
			"version":     obj{"const": Version, "description": "the configuration format version"},
			"home_region": obj{"type": "string", "pattern": validate.RegionPattern, "description": "where account-wide controls run"},
			"regions": obj{"type": "object", "additionalProperties": false, "properties": obj{
				"include": withDoc(regionList, "regions to cover (default: every region enabled for the account)"),
				"exclude": withDoc(regionList, "regions never to cover"),
			}},
			"allow_destructive": obj{"type": "boolean", "default": false,
				"description": "let 'apply --yes' and 'apply PLANFILE' make destructive changes (delete default VPCs, turn off a protection) as --allow-destructive does; on a terminal apply still asks for them apart"},
			"controls": obj{"type": "object", "additionalProperties": false, "properties": props},
			"exceptions": obj{"type": "array", "items": obj{
				"type": "object", "additionalProperties": false,
				"required": []string{"control", "reason", "owner", "expires"},
				"properties": obj{
					"control":   obj{"type": "string", "enum": controlIDs(ctls)},
					"regions":   withDoc(regionList, "regions it applies to (default: all)"),
					"resources": obj{"type": "array", "items": obj{"type": "string", "minLength": 1}, "description": "resource ids it applies to, for controls with several per region"},
					"reason":    obj{"type": "string", "minLength": 1, "pattern": `\S`},
					"owner":     obj{"type": "string", "minLength": 1, "pattern": `\S`},
					"expires":   obj{"type": "string", "pattern": `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, "description": "the last day it holds, YYYY-MM-DD"},
				},
			}},
		},
	}, nil
}

func withDoc(s obj, doc string) obj {
	out := obj{"description": doc}
	for k, v := range s {
		out[k] = v
	}
	return out
}

func controlIDs(ctls []control.Control) []string {
	ids := make([]string, len(ctls))
	for i, c := range ctls {
		ids[i] = c.Info().ID
	}
	return ids
}

// WriteSchema writes the schema as indented JSON.
func WriteSchema(w io.Writer, ctls []control.Control) error {
	s, err := Schema(ctls)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// WriteYAML writes cfg as a harden.yaml: every control with its settings
// (each preceded by its one-line doc), and the exceptions. With starter
// set it writes the commented starter file of 'harden config init'.
func WriteYAML(w io.Writer, cfg *Config, ctls []control.Control, starter bool) error {
	var b strings.Builder
	if starter {
		b.WriteString("# harden.yaml: harden's configuration (harden config schema prints its JSON Schema).\n")
		b.WriteString("# Flags override this file; this file overrides the defaults.\n")
	}
	b.WriteString("version: 1\n")
	if cfg.HomeRegion != "" {
		fmt.Fprintf(&b, "home_region: %s\n", cfg.HomeRegion)
	} else {
		b.WriteString("# home_region: us-east-1   # where account-wide controls run (default: the AWS config's region)\n")
	}
	b.WriteString("regions:\n")
	b.WriteString("  # regions to cover (default: every region enabled for the account)\n")
	fmt.Fprintf(&b, "  include: %s\n", yamlList(cfg.Include))
	b.WriteString("  # regions never to cover\n")
	fmt.Fprintf(&b, "  exclude: %s\n", yamlList(cfg.Exclude))
	b.WriteString("# Let 'apply --yes' and 'apply PLANFILE' make destructive changes (delete default VPCs, turn off\n")
	b.WriteString("# a protection that is on), as --allow-destructive does. Without it they are left out and apply\n")
	b.WriteString("# exits 2. On a terminal apply asks for them apart, whatever this says.\n")
	fmt.Fprintf(&b, "allow_destructive: %t\n", cfg.AllowDestructive)
	b.WriteString("controls:\n")
	for _, c := range ctls {
		id := c.Info().ID
		fmt.Fprintf(&b, "  # %s\n  %s:\n", c.Info().Title, id)
		on, set := cfg.Enabled[id]
		if !set {
			on = true
		}
		fmt.Fprintf(&b, "    enabled: %t\n", on)
		s, ok := cfg.Settings[id]
		if !ok {
			continue
		}
		fs, err := fields(s)
		if err != nil {
			return err
		}
		for _, f := range fs {
			fmt.Fprintf(&b, "    # %s\n    %s: %s\n", f.Doc, f.Name, yamlValue(f.Value))
		}
	}
	if len(cfg.Exceptions) == 0 {
		b.WriteString("# Accepted findings: each needs a reason, an owner and the last day it holds.\n")
		b.WriteString("exceptions: []\n")
		if starter {
			b.WriteString("#  - control: ebs-default-encryption\n#    regions: [sa-east-1]\n")
			b.WriteString("#    reason: legacy AMIs need unencrypted volumes until they are rebuilt\n")
			b.WriteString("#    owner: platform team\n#    expires: 2027-03-31\n")
		}
	} else {
		b.WriteString("exceptions:\n")
		for _, e := range cfg.Exceptions {
			fmt.Fprintf(&b, "  - control: %s\n", e.Control)
			if len(e.Regions) > 0 {
				fmt.Fprintf(&b, "    regions: %s\n", yamlList(e.Regions))
			}
			if len(e.Resources) > 0 {
				fmt.Fprintf(&b, "    resources: %s\n", yamlList(e.Resources))
			}
			fmt.Fprintf(&b, "    reason: %s\n    owner: %s\n    expires: %s\n", strconv.Quote(e.Reason), strconv.Quote(e.Owner), e.Expires)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yamlList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func yamlValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = yamlValue(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}
