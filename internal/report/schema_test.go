package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles the JSON Schema at path.
func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// validateGolden validates every golden file matching suffix, here and in
// the CLI's testdata, against schema.
func validateGolden(t *testing.T, schema *jsonschema.Schema, suffix string) {
	t.Helper()
	var files []string
	for _, dir := range []string{"testdata", filepath.Join("..", "..", "testdata")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
		for _, f := range m {
			if !strings.HasPrefix(filepath.Base(f), "controls_") { // harden.controls/v1
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Fatalf("no golden files *%s", suffix)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s does not match its schema: %v", f, err)
		}
	}
}

// The report JSON of every golden file matches docs/report-schema.json.
func TestReportJSONSchema(t *testing.T) {
	s := compileSchema(t, filepath.Join("..", "..", "docs", "report-schema.json"))
	validateGolden(t, s, "_json.golden")
	// The schema's version is the one harden writes.
	b, _ := os.ReadFile(filepath.Join("..", "..", "docs", "report-schema.json"))
	if !strings.Contains(string(b), `"const": "`+Schema+`"`) {
		t.Errorf("docs/report-schema.json does not pin schema %s", Schema)
	}
}

// SARIF golden files match the official SARIF 2.1.0 JSON schema (OASIS
// errata01, vendored in testdata from the go-sarif module, which embeds
// it; byte for byte the text of oasis-tcs/sarif-spec
// Schemata/sarif-schema-2.1.0.json).
func TestSARIFSchema(t *testing.T) {
	s := compileSchema(t, filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	validateGolden(t, s, "_sarif.golden")
}
