package control

import "fmt"

// ControlSettings is one control's own settings: a pointer to a struct whose
// exported fields each carry a `yaml:"name"` tag and a one-line `doc:"…"`
// tag (and optionally `enum:"a|b"`), so that the configuration file, its
// JSON Schema and the starter file are all generated from the type.
type ControlSettings interface {
	// Validate checks the values; a *FieldError names the field at fault.
	Validate() error
}

// Configurable is a control with settings of its own.
type Configurable interface {
	// NewSettings returns the control's settings holding their defaults.
	NewSettings() ControlSettings
}

// FieldError says which setting is wrong and why.
type FieldError struct {
	// Field is the setting's name in the configuration file.
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrorf returns a *FieldError.
func FieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// SettingsOf returns the settings of control id from env, or def when the
// run has none for it (a test, or a control that is not configured).
func SettingsOf[T ControlSettings](env *Env, id string, def T) T {
	if env != nil && env.ControlSettings != nil {
		if s, ok := env.ControlSettings[id].(T); ok {
			return s
		}
	}
	return def
}
