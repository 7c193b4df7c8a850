package fakeaws

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// analyzerRegion is one region's IAM Access Analyzer state.
type analyzerRegion struct {
	Analyzers map[string]*analyzer
	// lastCreated is the newest createdAt handed out, so that an analyzer
	// recreated under the same name (and so the same ARN, as in AWS) is
	// told apart by its creation time even within a millisecond.
	lastCreated time.Time
}

// nextCreatedAt returns the creation time of a new analyzer: now, at the
// millisecond precision AWS shows, and after every earlier one.
func (r *analyzerRegion) nextCreatedAt() string {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(r.lastCreated) {
		t = r.lastCreated.Add(time.Millisecond)
	}
	r.lastCreated = t
	return t.Format("2006-01-02T15:04:05.000Z")
}

type analyzer struct {
	Arn       string            `json:"arn"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	CreatedAt string            `json:"createdAt"`
	Status    string            `json:"status"`
	Tags      map[string]string `json:"tags,omitempty"`
}

func accessAnalyzerService() *service {
	return &service{
		name:          "access-analyzer",
		signingName:   "access-analyzer",
		protocol:      protoRESTJSON,
		throttleErr:   APIError{Status: 429, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "ListAnalyzers", method: http.MethodGet, path: "/analyzer", handle: aaListAnalyzers},
			{name: "CreateAnalyzer", write: true, method: http.MethodPut, path: "/analyzer", handle: aaCreateAnalyzer},
			{name: "GetAnalyzer", method: http.MethodGet, path: "/analyzer/{analyzerName}", handle: aaGetAnalyzer},
			{name: "DeleteAnalyzer", write: true, method: http.MethodDelete, path: "/analyzer/{analyzerName}", handle: aaDeleteAnalyzer},
		},
	}
}

var (
	analyzerNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,254}$`)
	analyzerTypes       = map[string]bool{
		"ACCOUNT": true, "ORGANIZATION": true,
		"ACCOUNT_UNUSED_ACCESS": true, "ORGANIZATION_UNUSED_ACCESS": true,
		"ACCOUNT_INTERNAL_ACCESS": true, "ORGANIZATION_INTERNAL_ACCESS": true,
	}
)

func aaValidation(msg string) *APIError {
	return &APIError{Status: 400, Code: "ValidationException", Message: msg}
}

func aaListAnalyzers(c *call) (any, error) {
	r := c.regionState().AccessAnalyzer
	typ := c.query.Get("type")
	if typ != "" && !analyzerTypes[typ] {
		return nil, aaValidation(fmt.Sprintf("Invalid type: %s", typ))
	}
	var all []*analyzer
	for _, name := range sortedKeys(r.Analyzers) {
		if a := r.Analyzers[name]; typ == "" || a.Type == typ {
			all = append(all, a)
		}
	}
	start, max := 0, len(all)
	if tok := c.query.Get("nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(all) {
			return nil, aaValidation("Invalid nextToken")
		}
		start = n
	}
	if m := c.query.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			return nil, aaValidation("Invalid maxResults")
		}
		max = n
	}
	end := min(len(all), start+max)
	out := struct {
		Analyzers []*analyzer `json:"analyzers"`
		NextToken string      `json:"nextToken,omitempty"`
	}{Analyzers: append([]*analyzer{}, all[start:end]...)}
	if end < len(all) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

func aaCreateAnalyzer(c *call) (any, error) {
	var in struct {
		AnalyzerName string            `json:"analyzerName"`
		Type         string            `json:"type"`
		Tags         map[string]string `json:"tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !analyzerNamePattern.MatchString(in.AnalyzerName) {
		return nil, aaValidation("1 validation error detected: Value at 'analyzerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z][A-Za-z0-9_.-]*")
	}
	if !analyzerTypes[in.Type] {
		return nil, aaValidation(fmt.Sprintf("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set", in.Type))
	}
	if in.Type == "ORGANIZATION" || in.Type == "ORGANIZATION_UNUSED_ACCESS" || in.Type == "ORGANIZATION_INTERNAL_ACCESS" {
		return nil, aaValidation("You must be the management account or a delegated administrator of an organization to create an organization analyzer.")
	}
	r := &c.regionState().AccessAnalyzer
	if _, ok := r.Analyzers[in.AnalyzerName]; ok {
		return nil, &APIError{Status: 409, Code: "ConflictException",
			Message: fmt.Sprintf("Analyzer %s already exists", in.AnalyzerName)}
	}
	for _, a := range r.Analyzers {
		if a.Type == in.Type {
			return nil, &APIError{Status: 402, Code: "ServiceQuotaExceededException",
				Message: fmt.Sprintf("You have reached the quota of 1 analyzer of type %s in this region", in.Type)}
		}
	}
	// An analyzer's ARN is made of its name, as in AWS: one recreated
	// under the same name has the same ARN.
	a := &analyzer{
		Arn:       fmt.Sprintf("arn:aws:access-analyzer:%s:%s:analyzer/%s", c.region, c.acct.ID, in.AnalyzerName),
		Name:      in.AnalyzerName,
		Type:      in.Type,
		CreatedAt: r.nextCreatedAt(),
		Status:    "ACTIVE",
		Tags:      in.Tags,
	}
	r.Analyzers[a.Name] = a
	return struct {
		Arn string `json:"arn"`
	}{a.Arn}, nil
}

func aaNotFound(name string) *APIError {
	return &APIError{Status: 404, Code: "ResourceNotFoundException",
		Message: fmt.Sprintf("Analyzer %s not found", name)}
}

func aaGetAnalyzer(c *call) (any, error) {
	name := c.path["analyzerName"]
	a, ok := c.regionState().AccessAnalyzer.Analyzers[name]
	if !ok {
		return nil, aaNotFound(name)
	}
	return struct {
		Analyzer *analyzer `json:"analyzer"`
	}{a}, nil
}

func aaDeleteAnalyzer(c *call) (any, error) {
	name := c.path["analyzerName"]
	r := c.regionState().AccessAnalyzer
	if _, ok := r.Analyzers[name]; !ok {
		return nil, aaNotFound(name)
	}
	delete(r.Analyzers, name)
	return nil, nil
}

// SetAnalyzerStatus puts an existing analyzer into status (ACTIVE,
// CREATING, DISABLED or FAILED), for tests of a resource in an unexpected
// state.
func (s *Server) SetAnalyzerStatus(region, name, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acct.region(region).AccessAnalyzer.Analyzers[name]
	if !ok {
		return fmt.Errorf("fakeaws: no analyzer %q in %s", name, region)
	}
	a.Status = status
	return nil
}
