// Package fakeaws is an in-memory, multi-region AWS account served over HTTP.
//
// It speaks the real wire protocols of the operations harden calls (EC2 and
// IAM/STS query, S3 Control REST-XML, REST-JSON and JSON 1.1), so the real
// aws-sdk-go-v2 clients talk to it unchanged. Requests are routed by the
// SigV4 credential scope in the Authorization header (region and signing
// name), exactly the information AWS itself routes on.
//
// Besides the account, a Server keeps a request log (service, action, region,
// read or write) and a fault table (latency, throttling, injected errors,
// regions that are not enabled) that tests set from Go or, for the
// stand-alone binary, over the /_fakeaws/ admin endpoints.
package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultAccountID is the account id of a Server created without one.
const DefaultAccountID = "123456789012"

// Options configure a new Server.
type Options struct {
	// AccountID of the fake account; DefaultAccountID when empty.
	AccountID string
	// Latency is added to every AWS call (not to admin calls).
	Latency time.Duration
}

// Server is one fake AWS account. It is safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	acct    *account
	log     []Request
	faults  []*Fault
	buckets map[string]*tokenBucket
	latency time.Duration
	// held holds the resources a write in progress keeps from other
	// writes (conflict.go).
	held     map[string]bool
	services map[string]*service
	// alias is the account alias (iamaccount.go); "" means none.
	alias string
	// absent holds "service/region" for each service marked as not
	// offered in a region (see SetServiceAbsent).
	absent map[string]bool
	// standardsReadyAfter is how many GetEnabledStandards answers show a
	// new Security Hub standard PENDING (securityhub.go).
	standardsReadyAfter int
	// dtGuardDutyAge, when set, is how long GuardDuty must have been
	// enabled before Detective's CreateGraph accepts (detective.go).
	dtGuardDutyAge *time.Duration
}

// Request is one entry of the request log.
type Request struct {
	Seq     int    `json:"seq"`
	Service string `json:"service"`
	Action  string `json:"action"`
	Region  string `json:"region"`
	Write   bool   `json:"write"`
	Status  int    `json:"status"`
	Error   string `json:"error,omitempty"`
}

// New returns a Server holding a fresh account: every region looks like a
// newly created AWS account's.
func New(opts Options) *Server {
	id := opts.AccountID
	if id == "" {
		id = DefaultAccountID
	}
	s := &Server{
		acct:     newAccount(id),
		buckets:  map[string]*tokenBucket{},
		latency:  opts.Latency,
		held:     map[string]bool{},
		services: map[string]*service{},
		absent:   map[string]bool{},

		standardsReadyAfter: 1,
	}
	for _, svc := range allServices() {
		s.services[svc.name] = svc
	}
	return s
}

// AccountID is the id of the fake account.
func (s *Server) AccountID() string { return s.acct.ID }

// Start serves on addr (for example "127.0.0.1:0") in a goroutine and returns
// the base URL and a function that stops the server.
func (s *Server) Start(addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when stopped.
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// SetLatency changes the delay added to every AWS call.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Writes returns the logged write calls that AWS accepted (status < 300).
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Write && r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	region, signingName, ok := credentialScope(r.Header.Get("Authorization"))
	if !ok {
		writeBareError(w, http.StatusForbidden, "MissingAuthenticationToken",
			"Request is missing Authentication Token")
		return
	}
	svc := s.serviceFor(signingName, r)
	if svc == nil {
		writeBareError(w, http.StatusBadRequest, "UnknownService",
			fmt.Sprintf("fakeaws does not implement the service signed as %q", signingName))
		return
	}
	c := &call{
		server:  s,
		svc:     svc,
		region:  region,
		header:  r.Header,
		query:   r.URL.Query(),
		body:    body,
		reqID:   newRequestID(),
		rawPath: r.URL.EscapedPath(),
	}
	o, perr := svc.route(c, r)
	if perr != nil {
		s.record(c, "", false, perr.Status, perr.Code)
		svc.writeError(w, c, perr)
		return
	}
	c.op = o

	if key := c.conflictKey(); key != "" {
		release, perr := s.hold(c, key)
		if perr != nil {
			s.record(c, o.name, o.write, perr.Status, perr.Code)
			svc.writeError(w, c, perr)
			return
		}
		defer release()
	}

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	resp, err := s.handle(c)
	s.mu.Unlock()
	if err != nil {
		ae := asAPIError(err)
		s.record(c, o.name, o.write, ae.Status, ae.Code)
		svc.writeError(w, c, ae)
		return
	}
	s.record(c, o.name, o.write, http.StatusOK, "")
	svc.writeResponse(w, c, resp)
}

// handle runs one call with s.mu held: faults first, then the operation.
func (s *Server) handle(c *call) (any, error) {
	if s.absent[c.svc.name+"/"+c.region] {
		return nil, serviceAbsent(c)
	}
	if err := s.injectedError(c); err != nil {
		return nil, err
	}
	if !c.svc.global && !s.acct.regionEnabled(c.region) {
		return nil, c.svc.notEnabled()
	}
	c.acct = s.acct
	return c.op.handle(c)
}

func (s *Server) record(c *call, action string, write bool, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{
		Seq:     len(s.log) + 1,
		Service: c.svc.name,
		Action:  action,
		Region:  c.region,
		Write:   write,
		Status:  status,
		Error:   code,
	})
}

// serviceFor maps a SigV4 signing name to a service. S3 and S3 Control share
// the signing name "s3"; S3 Control's paths all start with /v20180820/.
func (s *Server) serviceFor(signingName string, r *http.Request) *service {
	if signingName == "s3" {
		if strings.HasPrefix(r.URL.Path, "/v20180820/") {
			return s.services["s3control"]
		}
		return s.services["s3"]
	}
	for _, svc := range s.services {
		if svc.signingName == signingName {
			return svc
		}
	}
	return nil
}

// credentialScope reads region and signing name from a SigV4 Authorization
// header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, ...".
func credentialScope(auth string) (region, service string, ok bool) {
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", "", false
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", "", false
	}
	return parts[2], parts[3], true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// call is one request being served.
type call struct {
	server  *Server
	svc     *service
	op      *op
	acct    *account
	region  string
	header  http.Header
	query   url.Values
	form    url.Values        // query protocols
	path    map[string]string // REST path parameters
	rawPath string
	body    []byte
	reqID   string
}

// regionState returns the state of the call's region.
func (c *call) regionState() *regionState { return c.acct.region(c.region) }

// sortedKeys returns the keys of m in order, for stable listings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
