package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/harden-dev/harden/internal/control"
)

// field is one setting of a control, read from its settings struct's tags.
type field struct {
	Name string // the yaml name
	Doc  string
	Kind reflect.Kind
	// Elem is the element kind of a slice.
	Elem  reflect.Kind
	Enum  []string
	Value reflect.Value // the current (default) value
}

// fields lists the settings of a settings struct pointer, in declaration
// order. A field without a yaml tag is not a setting; one without a doc
// tag is a programming error, reported as a panic by the registry test.
func fields(settings any) ([]field, error) {
	v := reflect.ValueOf(settings)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("settings must be a pointer to a struct, got %T", settings)
	}
	v = v.Elem()
	t := v.Type()
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		doc := sf.Tag.Get("doc")
		if doc == "" {
			return nil, fmt.Errorf("setting %s of %T has no doc tag", name, settings)
		}
		f := field{Name: name, Doc: doc, Kind: sf.Type.Kind(), Value: v.Field(i)}
		switch f.Kind {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		case reflect.Slice:
			f.Elem = sf.Type.Elem().Kind()
			if f.Elem != reflect.String && f.Elem != reflect.Int {
				return nil, fmt.Errorf("setting %s of %T: slices of %s are not supported", name, settings, f.Elem)
			}
		default:
			return nil, fmt.Errorf("setting %s of %T: type %s is not supported", name, settings, sf.Type)
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, "|")
		}
		out = append(out, f)
	}
	return out, nil
}

// jsonType is the JSON Schema type of a kind.
func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	}
	return "string"
}

// Set sets the setting named name (its yaml name) of settings from a
// flag's text value, then validates the whole settings: it is how a
// command-line flag overrides the file.
func Set(settings control.ControlSettings, name, value string) error {
	fs, err := fields(settings)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Name != name {
			continue
		}
		switch f.Kind {
		case reflect.String:
			f.Value.SetString(value)
		case reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", name, value)
			}
			f.Value.SetBool(b)
		case reflect.Int, reflect.Int32, reflect.Int64:
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a whole number", name, value)
			}
			f.Value.SetInt(n)
		default:
			return fmt.Errorf("%s: a %s setting cannot be set from a flag", name, f.Kind)
		}
		return settings.Validate()
	}
	return fmt.Errorf("no setting %q", name)
}
