package report

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/harden-dev/harden/internal/engine"
)

// JUnit XML, as CI systems read it (Jenkins, GitLab, GitHub test
// reporters): one suite per control, one case per target.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes r as JUnit XML: a finding (noncompliant, unmanaged) is
// a failure, an error or a blocked target an error, a target not checked
// or accepted by an exception is skipped with the reason; a compliant
// target passes.
func writeJUnit(w io.Writer, r Report) error {
	doc := junitSuites{Name: "harden " + string(r.Command)}
	if r.Error != "" {
		doc.Suites = []junitSuite{{Name: "harden", Tests: 1, Errors: 1, Cases: []junitCase{{
			Name: string(r.Command), ClassName: "harden",
			Error: &junitProblem{Message: clean(r.Error), Type: "run-failed", Text: clean(r.Error)},
		}}}}
	} else {
		index := map[string]int{}
		for _, in := range r.controls {
			index[in.ID] = len(doc.Suites)
			doc.Suites = append(doc.Suites, junitSuite{Name: in.ID})
		}
		for _, res := range r.Results {
			i, ok := index[res.Control]
			if !ok {
				index[res.Control] = len(doc.Suites)
				i = len(doc.Suites)
				doc.Suites = append(doc.Suites, junitSuite{Name: res.Control})
			}
			s := &doc.Suites[i]
			if len(s.Properties) == 0 {
				s.Properties = []junitProperty{
					{"title", res.Title}, {"severity", string(res.Severity)}, {"doc_url", res.DocURL},
				}
			}
			s.Cases = append(s.Cases, junitTestCase(res, s))
			s.Tests++
		}
		if len(r.StaleExceptions) > 0 {
			// A warning, not a failure: skipped cases that say so.
			st := junitSuite{Name: "harden.yaml exceptions"}
			for _, e := range r.StaleExceptions {
				st.Cases = append(st.Cases, junitCase{Name: "exception at " + e.Source, ClassName: "harden.exceptions",
					Skipped: &junitSkipped{Message: clean(fmt.Sprintf("matches no finding (%s, expires %s): remove it, or fix what it names", e.Owner, e.Expires))}})
				st.Tests++
				st.Skipped++
			}
			doc.Suites = append(doc.Suites, st)
		}
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode junit: %w", err)
	}
	_, err = io.WriteString(w, xml.Header+string(out)+"\n")
	return err
}

func junitTestCase(res Result, s *junitSuite) junitCase {
	c := junitCase{Name: res.Control + " in " + res.Region, ClassName: "harden." + res.Control}
	detail := targetRow(res).detail
	switch engine.Status(res.Status) {
	case engine.Compliant:
		if detail != "" {
			c.SystemOut = detail
		}
	case engine.NonCompliant, engine.Unmanaged:
		s.Failures++
		msg := fmt.Sprintf("%s (%s severity)", res.Status, orNone(string(res.Severity)))
		c.Failure = &junitProblem{Message: msg, Type: res.Status, Text: join(detail, res.Remediation, res.DocURL)}
	case engine.Error, engine.Blocked:
		s.Errors++
		c.Error = &junitProblem{Message: detail, Type: res.Status, Text: join(detail, res.DocURL)}
	case engine.NotChecked, engine.Accepted:
		s.Skipped++
		c.Skipped = &junitSkipped{Message: res.Status + ": " + detail}
	default:
		s.Errors++
		c.Error = &junitProblem{Message: detail, Type: res.Status}
	}
	return c
}

func orNone(s string) string {
	if s == "" {
		return "no"
	}
	return s
}
