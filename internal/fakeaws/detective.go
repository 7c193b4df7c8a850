package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// detectiveRegion is one region's Detective state: the behavior graph the
// account administers there, if any (AWS allows one).
type detectiveRegion struct {
	Graphs map[string]*dtGraph
}

type dtGraph struct {
	Arn         string
	CreatedTime string
	Tags        map[string]string `json:",omitempty"`
}

// dtDefaultGuardDutyAge is how long GuardDuty must have been enabled in
// the region before CreateGraph accepts, as older CreateGraph API
// references say (the current one, like detective v1.39.1's doc comment,
// no longer does): SetDetectiveGuardDutyAge switches between the readings.
const dtDefaultGuardDutyAge = 48 * time.Hour

func detectiveService() *service {
	return &service{
		name:          "detective",
		signingName:   "detective",
		protocol:      protoRESTJSON,
		throttleErr:   APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "ListGraphs", method: http.MethodPost, path: "/graphs/list", handle: dtListGraphs},
			{name: "CreateGraph", write: true, method: http.MethodPost, path: "/graph", handle: dtCreateGraph},
			{name: "DeleteGraph", write: true, method: http.MethodPost, path: "/graph/removal", handle: dtDeleteGraph},
			{name: "ListTagsForResource", method: http.MethodGet, path: "/tags/{arn}", handle: dtListTags},
		},
	}
}

func dtListGraphs(c *call) (any, error) {
	type graph struct {
		Arn         string `json:"Arn"`
		CreatedTime string `json:"CreatedTime"`
	}
	out := []graph{}
	graphs := c.regionState().Detective.Graphs
	for _, arn := range sortedKeys(graphs) {
		out = append(out, graph{arn, graphs[arn].CreatedTime})
	}
	return struct {
		GraphList []graph `json:"GraphList"`
	}{out}, nil
}

// dtCreateGraph makes the account's behavior graph. As the API reference
// says, calling it again while the graph exists returns the same graph.
// An account whose GuardDuty detector is missing, suspended or younger
// than 48 hours is refused with ServiceQuotaExceededException, the error
// Detective gives when it cannot verify the account's data volume [the
// code for this case is not documented].
func dtCreateGraph(c *call) (any, error) {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := &c.regionState().Detective
	for arn := range r.Graphs {
		return struct {
			GraphArn string `json:"GraphArn"`
		}{arn}, nil
	}
	if !c.regionState().GuardDuty.enabledFor(c.server.detectiveGuardDutyAge()) {
		return nil, &APIError{Status: 402, Code: "ServiceQuotaExceededException",
			Message: "Detective is unable to verify the data rate for the account: it must be enrolled in Amazon GuardDuty for at least 48 hours"}
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	g := &dtGraph{
		Arn:         fmt.Sprintf("arn:aws:detective:%s:%s:graph:%s", c.region, c.acct.ID, hex.EncodeToString(id[:])),
		CreatedTime: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Tags:        in.Tags,
	}
	r.Graphs[g.Arn] = g
	return struct {
		GraphArn string `json:"GraphArn"`
	}{g.Arn}, nil
}

func dtGraphOf(c *call, arn string) (*dtGraph, error) {
	g, ok := c.regionState().Detective.Graphs[arn]
	if !ok {
		return nil, &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "The request refers to a nonexistent resource: " + arn}
	}
	return g, nil
}

func dtDeleteGraph(c *call) (any, error) {
	var in struct {
		GraphArn string `json:"GraphArn"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := dtGraphOf(c, in.GraphArn)
	if err != nil {
		return nil, err
	}
	delete(c.regionState().Detective.Graphs, g.Arn)
	return nil, nil
}

func dtListTags(c *call) (any, error) {
	g, err := dtGraphOf(c, c.path["arn"])
	if err != nil {
		return nil, err
	}
	tags := g.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return struct {
		Tags map[string]string `json:"Tags"`
	}{tags}, nil
}

// enabledFor reports whether the region has an enabled detector created at
// least d ago.
func (r *guarddutyRegion) enabledFor(d time.Duration) bool {
	for _, det := range r.Detectors {
		at, err := time.Parse("2006-01-02T15:04:05.000Z", det.CreatedAt)
		return err == nil && det.Status == "ENABLED" && time.Since(at) >= d
	}
	return false
}

// SetDetectiveGuardDutyAge sets how long GuardDuty must have been enabled
// before CreateGraph accepts: 48 hours by default (older AWS references),
// 0 for no such rule (the current ones: any enabled detector will do).
func (s *Server) SetDetectiveGuardDutyAge(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dtGuardDutyAge = &d
}

// detectiveGuardDutyAge is the age CreateGraph asks of GuardDuty. The
// caller holds s.mu, as every handler does.
func (s *Server) detectiveGuardDutyAge() time.Duration {
	if s.dtGuardDutyAge == nil {
		return dtDefaultGuardDutyAge
	}
	return *s.dtGuardDutyAge
}

// Backdate moves the creation time of every GuardDuty detector back by d,
// as if the account were seen d later: for tests of what waits on a
// resource's age (Detective waits 48 hours after GuardDuty).
func (s *Server) Backdate(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.acct.Regions {
		for _, det := range r.GuardDuty.Detectors {
			if at, err := time.Parse("2006-01-02T15:04:05.000Z", det.CreatedAt); err == nil {
				det.CreatedAt = at.Add(-d).Format("2006-01-02T15:04:05.000Z")
			}
		}
	}
}
