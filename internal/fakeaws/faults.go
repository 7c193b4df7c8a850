package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error kinds a Fault can name instead of a literal code; each service
// answers with its own code for them, as AWS does.
const (
	// AccessDenied answers with the service's access-denied error
	// (UnauthorizedOperation for EC2, AccessDenied for IAM and S3,
	// AccessDeniedException for the JSON services).
	AccessDenied = "access-denied"
	// Throttle answers with the service's throttling error
	// (RequestLimitExceeded for EC2, Throttling for IAM/STS, SlowDown for
	// S3, ThrottlingException for the JSON services).
	Throttle = "throttle"
)

// Fault makes matching calls fail. Empty Service, Action or Region match
// any. Error is AccessDenied, Throttle or a literal error code; a literal
// code takes Status (default 400) and Message.
type Fault struct {
	Service string `json:"service,omitempty"`
	Action  string `json:"action,omitempty"`
	Region  string `json:"region,omitempty"`
	Error   string `json:"error"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Times is how many calls fail; 0 means every matching call.
	Times int `json:"times,omitempty"`
	fired int
}

// AddFault installs a fault.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault and throttle.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.buckets = map[string]*tokenBucket{}
}

// SetThrottle limits calls to service in region to rate calls a second
// with the given burst; calls over it get the service's throttling error.
// An empty region limits each region separately; AllRegions sets one limit
// shared by every region (an account-wide quota).
func (s *Server) SetThrottle(service, region string, rate float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if burst < 1 {
		burst = 1
	}
	if region == "" {
		// Forget the per-region copies of an earlier service-wide limit.
		for k := range s.buckets {
			if strings.HasPrefix(k, service+"/*/") {
				delete(s.buckets, k)
			}
		}
	}
	s.buckets[service+"/"+region] = &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// SetRegionOptIn sets a region's opt-in status: "opt-in-not-required",
// "opted-in" or "not-opted-in". Calls to a not-opted-in region fail as AWS
// fails them (UnrecognizedClientException, AuthFailure for EC2).
func (s *Server) SetRegionOptIn(region, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch status {
	case "opt-in-not-required", "opted-in", "not-opted-in":
	default:
		return fmt.Errorf("fakeaws: unknown opt-in status %q", status)
	}
	if _, ok := s.acct.OptIn[region]; !ok {
		return fmt.Errorf("fakeaws: unknown region %q", region)
	}
	s.acct.OptIn[region] = status
	return nil
}

// SetServiceAbsent marks service (its fakeaws name: "guardduty",
// "securityhub", "detective", …) as not offered in region, or offered
// again when absent is false.
//
// In AWS a service not offered in a region has no endpoint there: the
// SDK's DNS lookup of <service>.<region>.amazonaws.com fails with "no such
// host" and no request is sent. fakeaws serves every service on one
// address and cannot fail a lookup, so it answers the way the AWS SDKs
// report that failure: error code UnknownEndpoint, "Inaccessible host: …
// This service may not be available in the … region." harden treats both
// the DNS failure and this answer as "service not offered".
func (s *Server) SetServiceAbsent(service, region string, absent bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.services[service]; !ok {
		return fmt.Errorf("fakeaws: unknown service %q", service)
	}
	if _, ok := s.acct.OptIn[region]; !ok {
		return fmt.Errorf("fakeaws: unknown region %q", region)
	}
	if absent {
		s.absent[service+"/"+region] = true
	} else {
		delete(s.absent, service+"/"+region)
	}
	return nil
}

// serviceAbsent is the answer to a call to a service marked absent from
// the call's region.
func serviceAbsent(c *call) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: "UnknownEndpoint",
		Message: fmt.Sprintf("Inaccessible host: `%s.%s.amazonaws.com'. This service may not be available in the `%s' region.",
			c.svc.signingName, c.region, c.region)}
}

// AllRegions, as SetThrottle's region, makes one budget that all regions
// share.
const AllRegions = "*"

// injectedError returns the fault or throttle answer for c, if any. s.mu is held.
func (s *Server) injectedError(c *call) error {
	for _, f := range s.faults {
		if (f.Service != "" && f.Service != c.svc.name) ||
			(f.Action != "" && f.Action != c.op.name) ||
			(f.Region != "" && f.Region != c.region) ||
			(f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		f.fired++
		switch f.Error {
		case AccessDenied:
			e := c.svc.deniedErr
			return &e
		case Throttle:
			e := c.svc.throttleErr
			return &e
		default:
			status := f.Status
			if status == 0 {
				status = 400
			}
			msg := f.Message
			if msg == "" {
				msg = "injected by fakeaws"
			}
			return &APIError{Status: status, Code: f.Error, Message: msg}
		}
	}
	if b := s.bucketFor(c.svc.name, c.region); b != nil && !b.take(time.Now()) {
		e := c.svc.throttleErr
		return &e
	}
	return nil
}

// bucketFor returns the token bucket that limits service in region: the
// region's own, else the one all regions share, else a copy of the
// service-wide limit made for this region on first use, so that a limit
// set without a region applies to each region separately. s.mu is held.
func (s *Server) bucketFor(service, region string) *tokenBucket {
	if b, ok := s.buckets[service+"/"+region]; ok {
		return b
	}
	if b, ok := s.buckets[service+"/"+AllRegions]; ok {
		return b
	}
	tmpl, ok := s.buckets[service+"/"]
	if !ok {
		return nil
	}
	key := service + "/*/" + region
	b, ok := s.buckets[key]
	if !ok {
		c := *tmpl
		b = &c
		s.buckets[key] = b
	}
	return b
}

type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// The admin API lets tests and demos drive a stand-alone fakeaws:
//
//	GET  /_fakeaws/requests       the request log (JSON array)
//	DELETE /_fakeaws/requests     empty the log
//	GET  /_fakeaws/snapshot       the account state (JSON)
//	POST /_fakeaws/faults         add a Fault (JSON body)
//	DELETE /_fakeaws/faults       remove all faults and throttles
//	POST /_fakeaws/events?region=R  put an event on R's default bus (see Event)
//	GET /_fakeaws/sns/messages?topic=ARN  the messages a topic received
//	POST /_fakeaws/regions        {"region": "...", "status": "not-opted-in"}
//	POST /_fakeaws/services       {"service": "detective", "region": "...", "absent": true}
//	POST /_fakeaws/ec2/place      a Placement (JSON body): answers {"id": "..."}
const adminPrefix = "/_fakeaws/"

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case path == "requests" && r.Method == http.MethodGet:
		writeJSON(w, s.Requests())
	case path == "requests" && r.Method == http.MethodDelete:
		s.ResetLog()
		w.WriteHeader(http.StatusNoContent)
	case path == "snapshot" && r.Method == http.MethodGet:
		w.Write(s.Snapshot())
	case path == "faults" && r.Method == http.MethodPost:
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Error == "" {
			http.Error(w, `{"error":"want a JSON fault with at least \"error\""}`, http.StatusBadRequest)
			return
		}
		s.AddFault(f)
		w.WriteHeader(http.StatusNoContent)
	case path == "events" && r.Method == http.MethodPost:
		s.serveInjectEvent(w, r)
	case path == "sns/messages" && r.Method == http.MethodGet:
		s.servePublished(w, r)
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case path == "regions" && r.Method == http.MethodPost:
		var body struct{ Region, Status string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":"want {\"region\":…,\"status\":…}"}`, http.StatusBadRequest)
			return
		}
		if err := s.SetRegionOptIn(body.Region, body.Status); err != nil {
			http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "services" && r.Method == http.MethodPost:
		var body struct {
			Service, Region string
			Absent          bool
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":"want {\"service\":…,\"region\":…,\"absent\":true}"}`, http.StatusBadRequest)
			return
		}
		if err := s.SetServiceAbsent(body.Service, body.Region, body.Absent); err != nil {
			http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "ec2/place" && r.Method == http.MethodPost:
		var p Placement
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, `{"error":"want a JSON placement"}`, http.StatusBadRequest)
			return
		}
		id, err := s.Place(p)
		if err != nil {
			http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]string{"id": id})
	default:
		http.Error(w, `{"error":"unknown admin endpoint"}`, http.StatusNotFound)
	}
}
