package fakeaws

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// protocol is an AWS wire protocol.
type protocol int

const (
	protoEC2      protocol = iota // EC2 query: form in, <XResponse> out, <Response><Errors> errors
	protoQuery                    // awsQuery (IAM, STS): form in, <XResponse><XResult>, <ErrorResponse>
	protoRESTXML                  // S3, S3 Control
	protoRESTJSON                 // Access Analyzer, GuardDuty, Security Hub, Detective, Account
	protoJSON                     // JSON 1.1 (CloudTrail, Config, KMS): X-Amz-Target
	protoCBOR                     // Smithy RPC v2 CBOR (CloudWatch): POST /service/<svc>/operation/<op>
)

// service describes one AWS service: how it is addressed, how it encodes
// responses and errors, and its operations.
type service struct {
	name        string // name in the request log and in faults, e.g. "s3control"
	signingName string // SigV4 signing name, e.g. "s3"
	protocol    protocol
	xmlns       string // query and REST-XML response namespace
	target      string // JSON 1.1 X-Amz-Target prefix, e.g. "CloudTrail_20131101"
	// cliTarget is the longer X-Amz-Target prefix that other clients send
	// for the same operations (the AWS CLI v2 sends
	// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"); "" when
	// the service has only one.
	cliTarget string
	global    bool // served for every region (IAM); never "not enabled"
	// throttleErr and deniedErr are the service's own throttling and
	// access-denied errors; notEnabledErr answers calls to a region that
	// is not enabled for the account.
	throttleErr   APIError
	deniedErr     APIError
	notEnabledErr APIError
	ops           []*op
}

// op is one operation of a service.
type op struct {
	name   string
	write  bool
	method string // REST protocols
	path   string // REST path pattern: "/analyzer/{analyzerName}", optional "?query-key"
	handle func(*call) (any, error)
}

// operationName returns the operation a JSON X-Amz-Target names, under
// either of the service's prefixes; "" when it has neither.
func (svc *service) operationName(target string) string {
	for _, prefix := range []string{svc.target, svc.cliTarget} {
		if prefix == "" {
			continue
		}
		if name, ok := strings.CutPrefix(target, prefix+"."); ok {
			return name
		}
	}
	return ""
}

func (svc *service) notEnabled() *APIError { e := svc.notEnabledErr; return &e }

// route finds the operation a request names.
func (svc *service) route(c *call, r *http.Request) (*op, *APIError) {
	switch svc.protocol {
	case protoEC2, protoQuery:
		form, err := url.ParseQuery(string(c.body))
		if err != nil {
			return nil, &APIError{Status: 400, Code: "MalformedQueryString", Message: err.Error()}
		}
		c.form = form
		action := form.Get("Action")
		for _, o := range svc.ops {
			if o.name == action {
				return o, nil
			}
		}
		code := "InvalidAction"
		if svc.protocol == protoEC2 {
			code = "InvalidAction"
		}
		return nil, &APIError{Status: 400, Code: code,
			Message: fmt.Sprintf("The action %s is not valid for this web service.", action)}
	case protoJSON:
		target := r.Header.Get("X-Amz-Target")
		name := svc.operationName(target)
		for _, o := range svc.ops {
			if o.name == name {
				return o, nil
			}
		}
		return nil, &APIError{Status: 400, Code: "UnknownOperationException",
			Message: fmt.Sprintf("fakeaws: unknown operation %q", target)}
	case protoCBOR:
		return svc.routeCBOR(c, r)
	default:
		var best *op
		bestScore := -1
		for _, o := range svc.ops {
			if o.method != r.Method {
				continue
			}
			params, score, ok := matchPath(o.path, c.rawPath, c.query)
			if ok && score > bestScore {
				best, bestScore, c.path = o, score, params
			}
		}
		if best == nil {
			return nil, &APIError{Status: 404, Code: "UnknownOperationException",
				Message: fmt.Sprintf("fakeaws: no %s operation for %s %s", svc.name, r.Method, r.URL.Path)}
		}
		return best, nil
	}
}

// matchPath matches a REST path pattern. A pattern may end in "?key" to
// require a query key; such a route scores higher than one without, so
// "/{Bucket}?policy" beats "/{Bucket}".
func matchPath(pattern, rawPath string, query url.Values) (map[string]string, int, bool) {
	score := 0
	if i := strings.Index(pattern, "?"); i >= 0 {
		for _, key := range strings.Split(pattern[i+1:], "&") {
			if _, ok := query[key]; !ok {
				return nil, 0, false
			}
			score += 100
		}
		pattern = pattern[:i]
	}
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	rs := strings.Split(strings.Trim(rawPath, "/"), "/")
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			rest := strings.Join(rs[min(i, len(rs)):], "/")
			v, err := url.PathUnescape(rest)
			if err != nil || v == "" {
				return nil, 0, false
			}
			params[p[1:len(p)-2]] = v
			return params, score, true
		}
		if i >= len(rs) {
			return nil, 0, false
		}
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(rs[i])
			if err != nil || v == "" {
				return nil, 0, false
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != rs[i] {
			return nil, 0, false
		}
		score++
	}
	if len(rs) != len(ps) && !(len(ps) == 1 && ps[0] == "" && len(rs) == 1 && rs[0] == "") {
		return nil, 0, false
	}
	return params, score, true
}

// APIError is an error as AWS sends it: HTTP status, code and message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return &APIError{Status: 500, Code: "InternalFailure", Message: err.Error()}
}

// writeResponse encodes a successful response in the service's protocol.
func (svc *service) writeResponse(w http.ResponseWriter, c *call, resp any) {
	w.Header().Set("X-Amzn-Requestid", c.reqID)
	switch svc.protocol {
	case protoEC2:
		inner := xmlInner(resp)
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`,
			c.op.name, svc.xmlns, c.reqID, inner, c.op.name)
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		result := ""
		if resp != nil {
			result = fmt.Sprintf("<%sResult>%s</%sResult>", c.op.name, xmlInner(resp), c.op.name)
		}
		fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
			c.op.name, svc.xmlns, result, c.reqID, c.op.name)
	case protoRESTXML:
		w.Header().Set("X-Amz-Request-Id", c.reqID)
		switch v := resp.(type) {
		case nil:
			w.WriteHeader(http.StatusOK)
		case restStatus:
			w.WriteHeader(int(v))
		case rawBody:
			w.Header().Set("Content-Type", v.contentType)
			w.Write(v.body)
		default:
			w.Header().Set("Content-Type", "application/xml")
			out, err := xml.Marshal(resp)
			if err != nil {
				panic(err)
			}
			w.Write([]byte(xml.Header))
			w.Write(out)
		}
	case protoRESTJSON:
		w.Header().Set("Content-Type", "application/json")
		switch v := resp.(type) {
		case nil:
			w.Write([]byte("{}"))
		case restStatus:
			w.WriteHeader(int(v))
		default:
			writeJSON(w, resp)
		}
	case protoCBOR:
		writeCBOR(w, http.StatusOK, resp)
	case protoJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if resp == nil {
			w.Write([]byte("{}"))
			return
		}
		writeJSON(w, resp)
	}
}

// restStatus is a REST response with no body and the given status.
type restStatus int

// rawBody is a REST response body sent as it is.
type rawBody struct {
	contentType string
	body        []byte
}

// writeError encodes an error in the service's protocol.
func (svc *service) writeError(w http.ResponseWriter, c *call, e *APIError) {
	w.Header().Set("X-Amzn-Requestid", c.reqID)
	switch svc.protocol {
	case protoEC2:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(e.Status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			xmlEscape(e.Code), xmlEscape(e.Message), c.reqID)
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		kind := "Sender"
		if e.Status >= 500 {
			kind = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			svc.xmlns, kind, xmlEscape(e.Code), xmlEscape(e.Message), c.reqID)
	case protoRESTXML:
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("X-Amz-Request-Id", c.reqID)
		w.WriteHeader(e.Status)
		if c.svc.name == "s3" {
			// S3 sends the error unwrapped: <Error><Code>…</Code>…</Error>.
			fmt.Fprintf(w, `%s<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>fakeaws</HostId></Error>`,
				xml.Header, xmlEscape(e.Code), xmlEscape(e.Message), c.reqID)
			return
		}
		fmt.Fprintf(w, `%s<ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId><HostId>fakeaws</HostId></ErrorResponse>`,
			xml.Header, xmlEscape(e.Code), xmlEscape(e.Message), c.reqID)
	case protoRESTJSON:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", e.Code)
		w.WriteHeader(e.Status)
		writeJSON(w, map[string]string{"message": e.Message})
	case protoCBOR:
		writeCBORError(w, e)
	case protoJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(e.Status)
		writeJSON(w, map[string]string{"__type": e.Code, "message": e.Message})
	}
}

// writeBareError answers a request that could not be tied to a service.
func writeBareError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	writeJSON(w, map[string]string{"__type": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Write(b)
}

// xmlInner marshals v and strips its outer element, leaving the children.
func xmlInner(v any) string {
	if v == nil {
		return ""
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		panic(err)
	}
	s := buf.String()
	if strings.HasSuffix(s, "/>") && strings.HasPrefix(s, "<x") && !strings.Contains(s, "</x>") {
		return ""
	}
	s = strings.TrimPrefix(s, "<x>")
	return strings.TrimSuffix(s, "</x>")
}

func xmlEscape(s string) string {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	return buf.String()
}

// decodeJSON decodes a JSON request body into v; an empty body is {}.
func (c *call) decodeJSON(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return &APIError{Status: 400, Code: "SerializationException", Message: err.Error()}
	}
	return nil
}

// decodeXML decodes an XML request body into v.
func (c *call) decodeXML(v any) error {
	if err := xml.Unmarshal(c.body, v); err != nil {
		return &APIError{Status: 400, Code: "MalformedXML",
			Message: "The XML you provided was not well-formed or did not validate against our published schema"}
	}
	return nil
}

// formBool reads a query-protocol boolean parameter; ok is false when absent.
func (c *call) formBool(key string) (v, ok bool, err error) {
	s, present := c.form[key]
	if !present {
		return false, false, nil
	}
	b, perr := strconv.ParseBool(s[0])
	if perr != nil {
		return false, false, &APIError{Status: 400, Code: "InvalidParameterValue",
			Message: fmt.Sprintf("Invalid value '%s' for %s", s[0], key)}
	}
	return b, true, nil
}

// formList reads a query list "Prefix.1", "Prefix.2", … (EC2 flat lists) or
// "Prefix.member.1", … (awsQuery lists).
func (c *call) formList(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.form[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok {
			v, ok = c.form[fmt.Sprintf("%s.member.%d", prefix, i)]
		}
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// ec2Filters reads EC2 "Filter.N.Name" / "Filter.N.Value.M" parameters.
func (c *call) ec2Filters() map[string][]string {
	out := map[string][]string{}
	for i := 1; ; i++ {
		name := c.form.Get(fmt.Sprintf("Filter.%d.Name", i))
		if name == "" {
			return out
		}
		out[name] = c.formList(fmt.Sprintf("Filter.%d.Value", i))
	}
}
