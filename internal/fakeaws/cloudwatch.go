package fakeaws

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// cloudwatchRegion is one region's CloudWatch metric alarms by name.
type cloudwatchRegion struct {
	Alarms map[string]*metricAlarm
}

type alarmDimension struct {
	Name  string `cbor:"Name" json:"Name"`
	Value string `cbor:"Value" json:"Value"`
}

// metricAlarm is a metric alarm as PutMetricAlarm sets it (the fields
// harden uses).
type metricAlarm struct {
	AlarmName          string            `cbor:"AlarmName" json:"AlarmName"`
	AlarmArn           string            `cbor:"AlarmArn,omitempty" json:"AlarmArn"`
	AlarmDescription   string            `cbor:"AlarmDescription,omitempty" json:"AlarmDescription,omitempty"`
	ActionsEnabled     *bool             `cbor:"ActionsEnabled,omitempty" json:"ActionsEnabled,omitempty"`
	AlarmActions       []string          `cbor:"AlarmActions,omitempty" json:"AlarmActions,omitempty"`
	OKActions          []string          `cbor:"OKActions,omitempty" json:"OKActions,omitempty"`
	MetricName         string            `cbor:"MetricName,omitempty" json:"MetricName"`
	Namespace          string            `cbor:"Namespace,omitempty" json:"Namespace"`
	Statistic          string            `cbor:"Statistic,omitempty" json:"Statistic,omitempty"`
	Dimensions         []alarmDimension  `cbor:"Dimensions,omitempty" json:"Dimensions,omitempty"`
	Period             int               `cbor:"Period,omitempty" json:"Period"`
	EvaluationPeriods  int               `cbor:"EvaluationPeriods" json:"EvaluationPeriods"`
	DatapointsToAlarm  int               `cbor:"DatapointsToAlarm,omitempty" json:"DatapointsToAlarm,omitempty"`
	Threshold          float64           `cbor:"Threshold" json:"Threshold"`
	ComparisonOperator string            `cbor:"ComparisonOperator" json:"ComparisonOperator"`
	TreatMissingData   string            `cbor:"TreatMissingData,omitempty" json:"TreatMissingData,omitempty"`
	StateValue         string            `cbor:"StateValue,omitempty" json:"StateValue"`
	Tags               map[string]string `cbor:"-" json:"Tags"`
}

// cloudwatchService is CloudWatch metrics and alarms, which the SDK
// reaches over Smithy RPC v2 CBOR (service GraniteServiceVersion20100801).
func cloudwatchService() *service {
	return &service{
		name:          "monitoring",
		signingName:   "monitoring",
		protocol:      protoCBOR,
		target:        "GraniteServiceVersion20100801",
		throttleErr:   APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "PutMetricAlarm", write: true, handle: cwPutMetricAlarm},
			{name: "DescribeAlarms", handle: cwDescribeAlarms},
			{name: "DeleteAlarms", write: true, handle: cwDeleteAlarms},
			{name: "TagResource", write: true, handle: cwTagResource},
			{name: "ListTagsForResource", handle: cwListTagsForResource},
		},
	}
}

// routeCBOR finds the operation of an RPC v2 CBOR request:
// POST /service/<service>/operation/<operation>.
func (svc *service) routeCBOR(c *call, r *http.Request) (*op, *APIError) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/service/"+svc.target+"/operation/")
	if !ok || r.Method != http.MethodPost || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		return nil, &APIError{Status: 404, Code: "UnknownOperationException",
			Message: fmt.Sprintf("fakeaws: not an RPC v2 CBOR request for %s: %s %s", svc.target, r.Method, r.URL.Path)}
	}
	for _, o := range svc.ops {
		if o.name == rest {
			return o, nil
		}
	}
	return nil, &APIError{Status: 404, Code: "UnknownOperationException", Message: "fakeaws: unknown operation " + rest}
}

// decodeCBOR decodes an RPC v2 CBOR request body into v; an empty body
// is an empty input.
func (c *call) decodeCBOR(v any) error {
	if len(c.body) == 0 {
		return nil
	}
	if err := cbor.Unmarshal(c.body, v); err != nil {
		return &APIError{Status: 400, Code: "SerializationException", Message: err.Error()}
	}
	return nil
}

func writeCBOR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if v == nil {
		v = map[string]any{}
	}
	b, err := cbor.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// writeCBORError sends an error as RPC v2 CBOR does: {"__type", "message"}
// in the body and, for a service compatible with its old query protocol,
// the query error code in X-Amzn-Query-Error.
func writeCBORError(w http.ResponseWriter, e *APIError) {
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+kind)
	writeCBOR(w, e.Status, map[string]string{"__type": e.Code, "message": e.Message})
}

func cwInvalid(msg string) *APIError {
	return &APIError{Status: 400, Code: "InvalidParameterValue", Message: msg}
}

var cwComparisonOperators = map[string]bool{"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true,
	"LessThanThreshold": true, "LessThanOrEqualToThreshold": true}

func cwPutMetricAlarm(c *call) (any, error) {
	var in struct {
		metricAlarm
		Tags []alarmTag `cbor:"Tags"`
	}
	if err := c.decodeCBOR(&in); err != nil {
		return nil, err
	}
	a := in.metricAlarm
	if a.AlarmName == "" || a.MetricName == "" || a.Namespace == "" || a.Statistic == "" {
		return nil, &APIError{Status: 400, Code: "MissingParameter", Message: "AlarmName, MetricName, Namespace and Statistic are required"}
	}
	if !cwComparisonOperators[a.ComparisonOperator] {
		return nil, cwInvalid("Invalid ComparisonOperator: " + a.ComparisonOperator)
	}
	if a.EvaluationPeriods < 1 || a.Period < 10 {
		return nil, cwInvalid("EvaluationPeriods must be at least 1 and Period at least 10")
	}
	r := &c.regionState().CloudWatch
	a.AlarmArn = fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", c.region, c.acct.ID, a.AlarmName)
	a.StateValue = "INSUFFICIENT_DATA"
	a.Tags = map[string]string{}
	if old, ok := r.Alarms[a.AlarmName]; ok {
		// Tags given to PutMetricAlarm apply only when it creates the alarm.
		a.Tags, a.StateValue = old.Tags, old.StateValue
	} else {
		for _, t := range in.Tags {
			a.Tags[t.Key] = t.Value
		}
	}
	r.Alarms[a.AlarmName] = &a
	return nil, nil
}

type alarmTag struct {
	Key   string `cbor:"Key"`
	Value string `cbor:"Value"`
}

func cwDescribeAlarms(c *call) (any, error) {
	var in struct {
		AlarmNames      []string `cbor:"AlarmNames"`
		AlarmNamePrefix string   `cbor:"AlarmNamePrefix"`
	}
	if err := c.decodeCBOR(&in); err != nil {
		return nil, err
	}
	r := c.regionState().CloudWatch
	out := []*metricAlarm{}
	for _, name := range sortedKeys(r.Alarms) {
		if len(in.AlarmNames) > 0 && !contains(in.AlarmNames, name) {
			continue
		}
		if strings.HasPrefix(name, in.AlarmNamePrefix) {
			out = append(out, r.Alarms[name])
		}
	}
	return map[string]any{"MetricAlarms": out}, nil
}

func cwDeleteAlarms(c *call) (any, error) {
	var in struct {
		AlarmNames []string `cbor:"AlarmNames"`
	}
	if err := c.decodeCBOR(&in); err != nil {
		return nil, err
	}
	r := c.regionState().CloudWatch
	for _, name := range in.AlarmNames {
		if _, ok := r.Alarms[name]; !ok {
			return nil, &APIError{Status: 404, Code: "ResourceNotFound", Message: "Alarm not found: " + name}
		}
	}
	for _, name := range in.AlarmNames {
		delete(r.Alarms, name)
	}
	return nil, nil
}

func (c *call) alarmByARN(arn string) (*metricAlarm, error) {
	for _, a := range c.regionState().CloudWatch.Alarms {
		if a.AlarmArn == arn {
			return a, nil
		}
	}
	return nil, &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "Resource not found: " + arn}
}

func cwTagResource(c *call) (any, error) {
	var in struct {
		ResourceARN string     `cbor:"ResourceARN"`
		Tags        []alarmTag `cbor:"Tags"`
	}
	if err := c.decodeCBOR(&in); err != nil {
		return nil, err
	}
	a, err := c.alarmByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		a.Tags[t.Key] = t.Value
	}
	return nil, nil
}

func cwListTagsForResource(c *call) (any, error) {
	var in struct {
		ResourceARN string `cbor:"ResourceARN"`
	}
	if err := c.decodeCBOR(&in); err != nil {
		return nil, err
	}
	a, err := c.alarmByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags := []alarmTag{}
	for _, k := range sortedKeys(a.Tags) {
		tags = append(tags, alarmTag{k, a.Tags[k]})
	}
	return map[string]any{"Tags": tags}, nil
}
