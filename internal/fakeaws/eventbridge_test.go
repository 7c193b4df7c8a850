package fakeaws

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEventPatternMatching(t *testing.T) {
	event := map[string]any{}
	_ = json.Unmarshal([]byte(`{"source":"aws.guardduty","detail-type":"GuardDuty Finding","region":"ap-south-1",
		"detail":{"severity":5.5,"type":"Recon:EC2/Port","findings":[{"Severity":{"Label":"LOW"}},{"Severity":{"Label":"HIGH"}}]}}`), &event)
	cases := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["aws.guardduty"]}`, true},
		{`{"source":["aws.securityhub"]}`, false},
		{`{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",4]}]}}`, true},
		{`{"detail":{"severity":[{"numeric":[">=",7]}]}}`, false},
		{`{"detail":{"severity":[{"numeric":[">",5,"<",6]}]}}`, true},
		{`{"detail":{"type":[{"prefix":"Recon:"}]}}`, true},
		{`{"detail":{"type":[{"suffix":"/Port"}]}}`, true},
		{`{"region":[{"anything-but":["us-east-1"]}]}`, true},
		{`{"region":[{"anything-but":"ap-south-1"}]}`, false},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"type":[{"exists":false}]}}`, false},
		{`{"detail":{"findings":{"Severity":{"Label":["HIGH","CRITICAL"]}}}}`, true},
		{`{"detail":{"findings":{"Severity":{"Label":["CRITICAL"]}}}}`, false},
		{`{"detail-type":[{"equals-ignore-case":"guardduty finding"}]}`, true},
	}
	for _, tc := range cases {
		p, err := parseEventPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.matches(event); got != tc.want {
			t.Errorf("%s matches = %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`[]`, `{"source":"aws.guardduty"}`, `{"detail":{"severity":[{"numeric":[">=","x"]}]}}`, `{"a":[{"wildcard-ish":1}]}`} {
		if _, err := parseEventPattern(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestRenderTemplate(t *testing.T) {
	env := map[string]any{}
	_ = json.Unmarshal([]byte(`{"region":"eu-west-1","detail":{"severity":8,"title":"Bad","findings":[{"Title":"First"}]}}`), &env)
	tr := &inputTransformer{InputPathsMap: map[string]string{"t": "$.detail.title", "s": "$.detail.severity", "f": "$.detail.findings[0].Title", "m": "$.detail.nope"},
		InputTemplate: `"<t> (<s>) <f> [<m>] <unknown>"`}
	if got := renderTemplate(tr, env); got != `"Bad (8) First [] <unknown>"` {
		t.Fatalf("rendered %s", got)
	}
}

func TestInjectEventAdminEndpoint(t *testing.T) {
	s := New(Options{})
	hs := httptest.NewServer(s)
	defer hs.Close()
	resp, err := http.Post(hs.URL+"/_fakeaws/events?region=eu-west-1", "application/json",
		strings.NewReader(`{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"severity":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Deliveries []Delivery }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Deliveries == nil {
		t.Fatalf("status %d, %+v, %v", resp.StatusCode, out, err)
	}
	bad, err := http.Post(hs.URL+"/_fakeaws/events", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Fatalf("no region: status %d", bad.StatusCode)
	}
}

// A Security Hub finding event of a linked region, where Security Hub is
// enabled, is also Security Hub's event in the aggregation region; any
// other event, an unlinked region or a region without the hub is not.
func TestSecurityHubAggregationRegion(t *testing.T) {
	finding := Event{Source: "aws.securityhub", DetailType: "Security Hub Findings - Imported"}
	for _, tc := range []struct {
		mode    string
		regions []string
		region  string
		ev      Event
		want    string
	}{
		{"ALL_REGIONS", nil, "eu-west-1", finding, "us-east-1"},
		{"ALL_REGIONS", nil, "us-east-1", finding, ""},  // the aggregation region itself
		{"ALL_REGIONS", nil, "ap-south-1", finding, ""}, // no hub there
		{"ALL_REGIONS", nil, "eu-west-1", Event{Source: "aws.guardduty", DetailType: "GuardDuty Finding"}, ""},
		{"SPECIFIED_REGIONS", []string{"eu-west-1"}, "eu-west-1", finding, "us-east-1"},
		{"SPECIFIED_REGIONS", []string{"eu-west-2"}, "eu-west-1", finding, ""},
		{"ALL_REGIONS_EXCEPT_SPECIFIED", []string{"eu-west-1"}, "eu-west-1", finding, ""},
		{"ALL_REGIONS_EXCEPT_SPECIFIED", []string{"eu-west-2"}, "eu-west-1", finding, "us-east-1"},
		{"NO_REGIONS", nil, "eu-west-1", finding, ""},
	} {
		a := newAccount(DefaultAccountID)
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			a.region(r).SecurityHub.Hub = &shHub{}
		}
		if got := a.securityHubAggregation(tc.region, tc.ev); got != "" {
			t.Fatalf("without an aggregator %s's event went to %s", tc.region, got)
		}
		a.SecurityHub.Aggregator = &shAggregator{Region: "us-east-1", RegionLinkingMode: tc.mode, Regions: tc.regions}
		if got := a.securityHubAggregation(tc.region, tc.ev); got != tc.want {
			t.Errorf("%s %v, %s event from %s: %q, want %q", tc.mode, tc.regions, tc.ev.Source, tc.region, got, tc.want)
		}
	}
}
