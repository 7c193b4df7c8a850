package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/harden-dev/harden/internal/control"
)

// dateLayout is how an exception's expiry is written.
const dateLayout = "2006-01-02"

// Exception accepts a finding: a control, optionally limited to regions
// and resource ids, with the reason, the owner and the last day it holds.
type Exception struct {
	Control   string   `yaml:"control" json:"control"`
	Regions   []string `yaml:"regions,omitempty" json:"regions,omitempty"`
	Resources []string `yaml:"resources,omitempty" json:"resources,omitempty"`
	Reason    string   `yaml:"reason" json:"reason"`
	Owner     string   `yaml:"owner" json:"owner"`
	// Expires is the last day (UTC) the exception holds, as YYYY-MM-DD.
	Expires string `yaml:"expires" json:"expires"`
	// Line and Col locate the exception in the file, for reports.
	Line int `yaml:"-" json:"line"`
	Col  int `yaml:"-" json:"-"`

	until time.Time // the first instant it no longer holds
}

// Expired reports whether the exception no longer holds at now.
func (e *Exception) Expired(now time.Time) bool { return !now.Before(e.until) }

// Where names the exception in a report: "harden.yaml:12".
func (e *Exception) Where(path string) string { return fmt.Sprintf("%s:%d", path, e.Line) }

func (p *parse) exceptions(n ast.Node, known map[string]control.Control, ids []string, now time.Time) []Exception {
	if isNull(n) {
		return nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		p.add(p.at(n, "exceptions must be a list"))
		return nil
	}
	var out []Exception
	for i, item := range seq.Values {
		var e Exception
		if err := yaml.NodeToValue(item, &e, yaml.DisallowUnknownField()); err != nil {
			pe := p.fromYAML(err)
			pe.Msg = fmt.Sprintf("exceptions[%d]: %s", i, pe.Msg)
			p.add(pe)
			continue
		}
		pos := p.at(item, "")
		if kvs := mapping(item); len(kvs) > 0 {
			pos = p.at(kvs[0].Key, "")
		}
		e.Line, e.Col = pos.Line, pos.Col
		bad := func(key, format string, args ...any) {
			msg := fmt.Sprintf("exceptions[%d]: ", i) + fmt.Sprintf(format, args...)
			if mappingValue(item, key) != nil {
				p.add(p.atKey(item, key, msg))
			} else {
				p.add(&PosError{Path: p.path, Line: e.Line, Col: e.Col, Msg: msg})
			}
		}
		switch {
		case e.Control == "":
			bad("control", "needs 'control': the id of the control whose finding it accepts")
		case known[e.Control] == nil:
			bad("control", "%s", unknownControl(e.Control, ids))
		}
		if strings.TrimSpace(e.Reason) == "" {
			bad("reason", "needs a 'reason': why the finding is accepted")
		}
		if strings.TrimSpace(e.Owner) == "" {
			bad("owner", "needs an 'owner': who answers for it")
		}
		for _, r := range e.Regions {
			if !isRegion(r) {
				bad("regions", "%q is not a region name", r)
			}
		}
		for _, r := range e.Resources {
			if strings.TrimSpace(r) == "" {
				bad("resources", "an empty resource id")
			}
		}
		if e.Expires == "" {
			bad("expires", "needs 'expires: YYYY-MM-DD': the last day it holds (an exception never lasts for ever)")
		} else if d, err := time.Parse(dateLayout, e.Expires); err != nil {
			bad("expires", "expires %q is not a date written YYYY-MM-DD", e.Expires)
		} else {
			e.until = d.AddDate(0, 0, 1)
		}
		out = append(out, e)
	}
	return out
}

// Match is how an exception applies to one target.
type Match struct {
	// Accepted is the exception that accepts the target's finding.
	Accepted *Exception
	// Expired is an exception that would have accepted it but expired.
	Expired *Exception
}

// Match finds the exception for a target of controlID in region whose
// non-compliant resources are resources (empty when the control does not
// name them). An exception with resources applies only when it lists every
// one of them. The first exception in file order wins.
func (c *Config) Match(controlID, region string, resources []string, now time.Time) Match {
	var m Match
	for i := range c.Exceptions {
		e := &c.Exceptions[i]
		if e.Control != controlID || !covers(e.Regions, []string{region}) {
			continue
		}
		if len(e.Resources) > 0 && (len(resources) == 0 || !covers(e.Resources, resources)) {
			continue
		}
		if e.Expired(now) {
			if m.Expired == nil {
				m.Expired = e
			}
			continue
		}
		m.Accepted = e
		return m
	}
	return m
}

// covers reports whether every item of want is in list; an empty list
// covers everything.
func covers(list, want []string) bool {
	if len(list) == 0 {
		return true
	}
	set := map[string]bool{}
	for _, x := range list {
		set[x] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// ExceptedResources lists the resource ids that the exceptions of
// controlID holding in region at now name (their `resources`), in file
// order without repeats: what control.Target.Excepted carries.
func (c *Config) ExceptedResources(controlID, region string, now time.Time) []string {
	var out []string
	seen := map[string]bool{}
	for i := range c.Exceptions {
		e := &c.Exceptions[i]
		if e.Control != controlID || !covers(e.Regions, []string{region}) || e.Expired(now) {
			continue
		}
		for _, r := range e.Resources {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// ResourceException is the first exception of controlID in region that
// names resource and holds at now; nil when none does.
func (c *Config) ResourceException(controlID, region, resource string, now time.Time) *Exception {
	for i := range c.Exceptions {
		e := &c.Exceptions[i]
		if e.Control == controlID && covers(e.Regions, []string{region}) && !e.Expired(now) && covers(e.Resources, []string{resource}) && len(e.Resources) > 0 {
			return e
		}
	}
	return nil
}
